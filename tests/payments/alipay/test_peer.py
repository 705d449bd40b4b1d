"""The Alipay peer itself refuses what Alipay refuses, so the tests above can fail."""

import json
from urllib.parse import parse_qsl, urlencode

import pytest
import time_machine
from django.utils import timezone

from simdesk.payments.gateways.alipay.client import AlipayClient

from .peer import browse

pytestmark = pytest.mark.django_db


def signed_query(out_trade_no: str) -> dict[str, str]:
    """An alipay.trade.query request exactly as simdesk signs it (through the SDK)."""
    sdk = AlipayClient.from_settings()._sdk
    data = sdk.build_body("alipay.trade.query", {"out_trade_no": out_trade_no})
    return dict(parse_qsl(sdk.sign_data(data)))


def ask(peer, params: dict[str, str]) -> dict:
    return json.loads(browse(f"{peer.gateway_url}?{urlencode(params)}").body)


def test_a_correctly_signed_request_gets_a_signed_answer(alipay):
    answer = ask(alipay, signed_query("sd_nothing_here"))
    assert answer["alipay_trade_query_response"]["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    assert answer["sign"]


@pytest.mark.parametrize("change", [{"biz_content": '{"out_trade_no":"sd_other"}'},
                                    {"app_id": "2021000149600009"},
                                    {"sign_type": "RSA"},
                                    {"timestamp": "2026/11/25 12:00"}])
def test_a_changed_request_is_refused_unsigned(alipay, change):
    params = {**signed_query("sd_nothing_here"), **change}
    answer = ask(alipay, params)
    response = answer["alipay_trade_query_response"]
    assert response["code"] == "40002" and response["sub_code"].startswith("isv.invalid-")
    assert "sign" not in answer


def test_a_request_signed_long_ago_is_refused(alipay):
    with time_machine.travel(timezone.now() - timezone.timedelta(minutes=31)):
        params = signed_query("sd_nothing_here")
    answer = ask(alipay, params)
    assert answer["alipay_trade_query_response"]["sub_code"] == "isv.invalid-timestamp"


def test_an_unknown_method_is_refused(alipay):
    sdk = AlipayClient.from_settings()._sdk
    params = dict(parse_qsl(sdk.sign_data(sdk.build_body("alipay.trade.nothing", {}))))
    assert ask(alipay, params)["alipay_trade_nothing_response"]["sub_code"] == \
        "isv.invalid-method"
