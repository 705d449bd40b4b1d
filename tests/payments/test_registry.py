"""Which gateways an installation offers, what staff and `check --deploy` are told about them,
and how the webhook endpoint answers a vendor that wants its own acknowledgement."""

import json
import time

import pytest
from django.core.checks import run_checks

from simdesk.core.errors import NotFound
from simdesk.payments import gateways
from simdesk.payments.gateways import (
    enabled_gateway_names,
    gateway_missing_settings,
    gateway_states,
    get_gateway,
)
from simdesk.payments.gateways.base import (
    GatewayError,
    GatewayEvent,
    Outcome,
    PaymentGateway,
    WebhookSignatureError,
)
from simdesk.payments.models import InboundWebhookEvent, PaymentStatus
from simdesk.payments.services import payment_start
from tests.payments.conftest import sandbox_event, signed_post
from tests.test_deploy import PRODUCTION_ENV, run_check

TEST_SECRET = "ack-test-secret"  # noqa: S105


class AckGateway(PaymentGateway):
    """A vendor that wants the plain text "success" back, configured by one setting."""

    name = "acktest"
    label = "Ack test"
    supports_saved_methods = False

    @classmethod
    def is_configured(cls) -> bool:
        from django.conf import settings

        return bool(getattr(settings, "ACKTEST_SECRET", ""))

    def mode(self) -> str:
        from django.conf import settings

        return "live" if settings.ACKTEST_SECRET.startswith("live_") else "test"

    def webhook_ack(self, *, created: bool):
        return "success", "text/plain"

    def parse_webhook(self, *, headers, body, now):
        if headers.get("Ack-Secret") != TEST_SECRET:
            raise WebhookSignatureError("wrong secret")
        if headers.get("Ack-Vendor-Down"):
            raise GatewayError(detail="the vendor did not answer a lookup")
        data = json.loads(body)
        return GatewayEvent(event_id=data["id"], type="paid",
                            gateway_payment_id=data["payment"], outcome=Outcome.SUCCEEDED,
                            amount_minor=data["amount"], currency=data["currency"],
                            payload=data)

    def start_payment(self, *, payment, return_url, save_method):
        raise NotImplementedError

    def charge_saved_method(self, *, payment, method_token):
        raise NotImplementedError

    def refund(self, *, payment, amount_minor, idempotency_key):
        raise NotImplementedError

    def query_status(self, *, payment):
        raise NotImplementedError


@pytest.fixture
def registry(monkeypatch, settings):
    """The registry knows ``acktest`` (this module's gateway) and ``ghost`` (no module)."""
    monkeypatch.setitem(gateways.GATEWAY_CLASSES, "acktest", f"{__name__}.AckGateway")
    monkeypatch.setitem(gateways.GATEWAY_CLASSES, "ghost",
                        "simdesk.payments.gateways.ghost.gateway.GhostGateway")
    monkeypatch.setitem(gateways.GATEWAY_SETTINGS, "acktest", (("ACKTEST_SECRET",),))
    settings.ACKTEST_SECRET = ""
    gateways.gateway_class.cache_clear()
    gateways._gateway_instance.cache_clear()
    yield settings
    gateways.gateway_class.cache_clear()
    gateways._gateway_instance.cache_clear()


def test_it_offers_a_listed_gateway_only_once_its_keys_are_set(registry):
    registry.PAYMENT_GATEWAYS = ["sandbox", "acktest"]
    assert enabled_gateway_names() == ["sandbox"]
    with pytest.raises(NotFound):
        get_gateway("acktest")
    registry.ACKTEST_SECRET = "test_123"
    assert enabled_gateway_names() == ["sandbox", "acktest"]
    assert get_gateway("acktest").name == "acktest"


def test_it_does_not_offer_a_configured_gateway_the_installation_does_not_list(registry):
    registry.ACKTEST_SECRET = "test_123"
    registry.PAYMENT_GATEWAYS = ["sandbox"]
    assert enabled_gateway_names() == ["sandbox"]


def test_a_listed_gateway_whose_module_is_missing_is_simply_off(registry):
    registry.PAYMENT_GATEWAYS = ["ghost", "sandbox", "nonsense"]
    assert enabled_gateway_names() == ["sandbox"]
    with pytest.raises(NotFound):
        get_gateway("ghost")
    ghost = next(s for s in gateway_states() if s.name == "ghost")
    assert (ghost.state, ghost.installed, ghost.listed) == ("off", False, True)


def test_the_default_lists_every_gateway_so_keys_are_enough():
    from config.settings import base

    assert set(gateways.GATEWAY_CLASSES) == {"sandbox", "stripe", "paypal", "alipay"}
    if "PAYMENT_GATEWAYS" not in __import__("os").environ:
        assert base.PAYMENT_GATEWAYS == ["sandbox", "stripe", "paypal", "alipay"]


def test_it_names_missing_settings_never_their_values(registry):
    registry.ALIPAY_APP_ID = "2021000000000000"
    registry.ALIPAY_APP_PRIVATE_KEY = ""
    registry.ALIPAY_APP_PRIVATE_KEY_FILE = "/etc/simdesk/alipay-app.pem"
    registry.ALIPAY_PUBLIC_KEY = ""
    registry.ALIPAY_PUBLIC_KEY_FILE = ""
    assert gateway_missing_settings("alipay") == ["ALIPAY_PUBLIC_KEY / ALIPAY_PUBLIC_KEY_FILE"]
    assert gateway_missing_settings("sandbox") == []


def test_it_describes_each_gateway_as_live_test_or_off(registry):
    registry.PAYMENT_GATEWAYS = ["sandbox", "acktest"]
    registry.SITE_URL = "https://pay.example.com"
    states = {s.name: s for s in gateway_states()}
    assert states["sandbox"].state == "test"
    assert states["sandbox"].webhook_url == "https://pay.example.com/webhooks/sandbox/"
    assert (states["acktest"].state, states["acktest"].missing_settings) == (
        "off", ["ACKTEST_SECRET"])
    registry.ACKTEST_SECRET = "live_abc"
    states = {s.name: s for s in gateway_states()}
    assert (states["acktest"].state, states["acktest"].missing_settings) == ("live", [])
    assert states["acktest"].saves_methods is False and states["sandbox"].saves_methods


# --- System checks -----------------------------------------------------------------------


def _ids(include_deployment_checks=True):
    return {m.id for m in run_checks(include_deployment_checks=include_deployment_checks)}


def test_deploy_checks_warn_while_the_sandbox_is_on(registry):
    registry.ACKTEST_SECRET = "live_abc"
    registry.PAYMENT_GATEWAYS = ["sandbox", "acktest"]
    assert "simdesk.W010" in _ids()
    assert "simdesk.W010" not in _ids(include_deployment_checks=False)
    registry.PAYMENT_GATEWAYS = ["acktest"]
    assert not {"simdesk.W010", "simdesk.W011"} & _ids()


def test_deploy_checks_warn_when_no_real_gateway_is_on(registry):
    registry.PAYMENT_GATEWAYS = ["acktest"]  # listed, but without its key
    assert "simdesk.W011" in _ids()


def test_checks_warn_about_an_unknown_gateway_name(registry):
    registry.PAYMENT_GATEWAYS = ["sandbox", "stirpe"]
    assert "simdesk.W012" in _ids(include_deployment_checks=False)


def test_production_leaves_the_sandbox_out_unless_it_is_listed():
    unlisted = run_check(PRODUCTION_ENV)
    listed = run_check({**PRODUCTION_ENV, "PAYMENT_GATEWAYS": "sandbox,stripe"})
    assert "simdesk.W010" not in unlisted.stdout + unlisted.stderr
    assert "simdesk.W010" in listed.stdout + listed.stderr


def test_production_warns_without_any_gateway_keys():
    env = {k: v for k, v in PRODUCTION_ENV.items()
           if not k.startswith(("STRIPE_", "PAYPAL_", "ALIPAY_"))}
    result = run_check(env)
    assert result.returncode != 0
    assert "simdesk.W011" in result.stdout + result.stderr


# --- The webhook's answer ----------------------------------------------------------------


@pytest.fixture
def ack_payment(registry, alice, now):
    from simdesk.payments.models import Payment

    registry.ACKTEST_SECRET = "test_123"
    registry.PAYMENT_GATEWAYS = ["sandbox", "acktest"]
    return Payment.objects.create(customer=alice, gateway="acktest", amount_minor=500,
                                  currency="USD", reference="order:ack",
                                  idempotency_key="ack-1", gateway_payment_id="ack_pay_1",
                                  status_changed_at=now)


def _post(client, *, secret=TEST_SECRET, event_id="ack_evt_1"):
    body = json.dumps({"id": event_id, "payment": "ack_pay_1", "amount": 500,
                       "currency": "USD", "at": int(time.time())}).encode()
    return client.post("/webhooks/acktest/", data=body, content_type="application/json",
                       headers={"Ack-Secret": secret})


@pytest.mark.django_db
def test_it_answers_an_accepted_webhook_in_the_vendors_words(ack_payment, client):
    first, again = _post(client), _post(client)
    assert (first.status_code, first["Content-Type"], first.content) == (
        200, "text/plain", b"success")
    assert (again.status_code, again.content) == (200, b"success")
    assert InboundWebhookEvent.objects.count() == 1
    ack_payment.refresh_from_db()
    assert ack_payment.status == PaymentStatus.SUCCEEDED


@pytest.mark.django_db
def test_a_rejected_webhook_still_gets_a_problem_not_the_acknowledgement(ack_payment, client):
    response = _post(client, secret="forged")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert InboundWebhookEvent.objects.count() == 0


@pytest.mark.django_db
def test_a_webhook_the_vendor_cannot_be_asked_about_is_a_503_to_send_again(ack_payment,
                                                                          client):
    body = json.dumps({"id": "ack_evt_2", "payment": "ack_pay_1", "amount": 500,
                       "currency": "USD"}).encode()
    response = client.post("/webhooks/acktest/", data=body, content_type="application/json",
                           headers={"Ack-Secret": TEST_SECRET, "Ack-Vendor-Down": "1"})

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert response.json()["code"] == "gateway_unreachable"
    assert InboundWebhookEvent.objects.count() == 0


@pytest.mark.django_db
def test_gateways_without_their_own_acknowledgement_get_the_json_receipt(client, alice, now):
    payment, _url = payment_start(customer=alice, gateway="sandbox", amount_minor=999,
                                  currency="USD", reference="order:1", idempotency_key="k1",
                                  return_url="/orders/1/", now=now)
    response = signed_post(client, json.dumps(sandbox_event(payment, event_id="e1")).encode())
    assert response.status_code == 200
    assert response.json()["received"] is True
