"""When Alipay is offered, in which mode, and where simdesk sends its requests."""

import base64

import pytest
from cryptography.hazmat.primitives import serialization

from simdesk.payments.gateways import enabled_gateway_names, gateway_states
from simdesk.payments.gateways.alipay.client import (
    LIVE_GATEWAY,
    SANDBOX_GATEWAY,
    gateway_address,
)
from simdesk.payments.gateways.alipay.gateway import AlipayGateway

from .peer import app_key, private_pem

pytestmark = pytest.mark.django_db


def bare_base64(pem: str) -> str:
    """A key the way Alipay's key tool hands it out: base64 without PEM lines."""
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def test_it_is_offered_with_an_app_id_and_both_keys(alipay):
    assert AlipayGateway.is_configured()
    assert "alipay" in enabled_gateway_names()


@pytest.mark.parametrize("setting", ["ALIPAY_APP_ID", "ALIPAY_APP_PRIVATE_KEY",
                                     "ALIPAY_PUBLIC_KEY"])
def test_it_is_not_offered_while_a_setting_is_empty(alipay, settings, setting):
    setattr(settings, setting, "")
    assert not AlipayGateway.is_configured()
    assert "alipay" not in enabled_gateway_names()


@pytest.mark.parametrize(("setting", "value"), [
    ("ALIPAY_APP_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"),
    ("ALIPAY_APP_PRIVATE_KEY", "not base64 at all!"),
    ("ALIPAY_PUBLIC_KEY", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"),
])
def test_keys_that_do_not_load_leave_it_off(alipay, settings, setting, value):
    setattr(settings, setting, value)
    assert not AlipayGateway.is_configured()


def test_a_public_key_where_the_private_key_belongs_leaves_it_off(alipay, settings):
    settings.ALIPAY_APP_PRIVATE_KEY = settings.ALIPAY_PUBLIC_KEY
    assert not AlipayGateway.is_configured()


def test_keys_can_come_from_files_and_as_bare_base64(alipay, settings, tmp_path):
    private_file = tmp_path / "app_private_key.pem"
    private_file.write_text(private_pem(app_key()))
    public_file = tmp_path / "alipay_public_key.txt"
    public_file.write_text(bare_base64(settings.ALIPAY_PUBLIC_KEY))
    settings.ALIPAY_APP_PRIVATE_KEY = ""
    settings.ALIPAY_APP_PRIVATE_KEY_FILE = str(private_file)
    settings.ALIPAY_PUBLIC_KEY = ""
    settings.ALIPAY_PUBLIC_KEY_FILE = str(public_file)
    assert AlipayGateway.is_configured()
    # a file that is not there leaves it off
    settings.ALIPAY_PUBLIC_KEY_FILE = str(tmp_path / "missing.pem")
    assert not AlipayGateway.is_configured()


def test_a_pkcs1_private_key_in_bare_base64_works_end_to_end(alipay, settings, start,
                                                              alice_browser):
    from .peer import customer_at_alipay

    der = app_key().private_bytes(serialization.Encoding.DER,
                                  serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption())
    settings.ALIPAY_APP_PRIVATE_KEY = base64.b64encode(der).decode()
    payment, url = start()
    seen = customer_at_alipay(alice_browser, url, outcome="succeeded")
    assert seen.final.status_code == 302


def test_mode_follows_alipay_sandbox(alipay, settings):
    settings.ALIPAY_SANDBOX = True
    assert AlipayGateway().mode() == "test"
    assert {s.name: s.state for s in gateway_states()}["alipay"] == "test"
    settings.ALIPAY_SANDBOX = False
    assert AlipayGateway().mode() == "live"
    assert {s.name: s.state for s in gateway_states()}["alipay"] == "live"


def test_requests_go_to_alipay_unless_a_peer_is_named(settings):
    settings.ALIPAY_API_BASE = ""
    settings.ALIPAY_SANDBOX = False
    assert gateway_address() == LIVE_GATEWAY == "https://openapi.alipay.com/gateway.do"
    settings.ALIPAY_SANDBOX = True
    assert gateway_address() == SANDBOX_GATEWAY
    settings.ALIPAY_API_BASE = "http://127.0.0.1:8421/"
    assert gateway_address() == "http://127.0.0.1:8421/gateway.do"
    settings.ALIPAY_API_BASE = "http://127.0.0.1:8421/custom/gateway.do"
    assert gateway_address() == "http://127.0.0.1:8421/custom/gateway.do"


def test_it_answers_alipay_with_the_plain_text_success():
    assert AlipayGateway().webhook_ack(created=True) == ("success", "text/plain")
    assert AlipayGateway().webhook_ack(created=False) == ("success", "text/plain")


def test_it_is_called_alipay_and_keeps_no_methods():
    gateway = AlipayGateway()
    assert (gateway.name, str(gateway.label)) == ("alipay", "Alipay")
    assert gateway.supports_saved_methods is False
    assert {s.name: s.saves_methods for s in gateway_states()}.get("alipay") is False
