"""The back office's payment gateways page: live / test / off for each gateway, the
webhook address to register, and the settings still missing, named but never shown."""

import pytest
from django.urls import reverse

from .conftest import sign_in_staff

SECRETS = {
    "STRIPE_SECRET_KEY": "sk_test_51SecretValueNobodyMaySee",
    "STRIPE_WEBHOOK_SECRET": "whsec_SecretValueNobodyMaySee",
    "PAYPAL_CLIENT_SECRET": "EPaypalSecretValueNobodyMaySee",
    "ALIPAY_APP_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nMIIEvAlipaySecretValue\n"
                              "-----END PRIVATE KEY-----",
    "SANDBOX_WEBHOOK_SECRET": "sandbox-secret-value-nobody-may-see",
}


@pytest.fixture
def page(client, biller, settings):
    settings.SITE_URL = "https://shop.example.com"

    def get():
        sign_in_staff(client, biller)
        response = client.get(reverse("backoffice:gateways"))
        assert response.status_code == 200
        return response.content.decode()

    return get


def _row(page: str, name: str) -> str:
    start = page.index(f'id="gateway-{name}"')
    return page[start:page.index("</tr>", start)]


def test_it_shows_the_sandbox_in_test_mode_with_its_webhook_address(page, settings):
    settings.PAYMENT_GATEWAYS = ["sandbox", "stripe", "paypal", "alipay"]
    sandbox = _row(page(), "sandbox")
    assert ">test<" in sandbox
    assert "https://shop.example.com/webhooks/sandbox/" in sandbox


def test_it_shows_a_gateway_without_keys_as_off_and_names_what_is_missing(page, settings):
    settings.PAYMENT_GATEWAYS = ["sandbox", "stripe", "paypal", "alipay"]
    settings.PAYPAL_CLIENT_ID = "AbcClientId"
    settings.PAYPAL_CLIENT_SECRET = ""
    settings.PAYPAL_WEBHOOK_ID = ""
    paypal = _row(page(), "paypal")
    assert ">off<" in paypal and ">live<" not in paypal and ">test<" not in paypal
    assert "PAYPAL_CLIENT_SECRET" in paypal and "PAYPAL_WEBHOOK_ID" in paypal
    assert "PAYPAL_CLIENT_ID" not in paypal
    assert "https://shop.example.com/webhooks/paypal/" in paypal


def test_it_shows_a_gateway_the_installation_does_not_list_as_off(page, settings):
    settings.PAYMENT_GATEWAYS = ["stripe"]
    sandbox = _row(page(), "sandbox")
    assert ">off<" in sandbox and "Not listed in PAYMENT_GATEWAYS" in sandbox


def test_it_never_shows_a_secret_value(page, settings):
    for name, value in SECRETS.items():
        setattr(settings, name, value)
    html = page()
    for value in SECRETS.values():
        assert value not in html
        assert value[:12] not in html


def test_billing_staff_find_it_in_the_menu_and_others_do_not(client, biller, agent, alice):
    sign_in_staff(client, biller)
    assert reverse("backoffice:gateways") in client.get(reverse("backoffice:home")).content.decode()
    sign_in_staff(client, agent)
    assert reverse("backoffice:gateways") not in client.get(
        reverse("backoffice:home")).content.decode()
    assert client.get(reverse("backoffice:gateways")).status_code == 403
    client.force_login(alice)
    assert client.get(reverse("backoffice:gateways")).status_code == 403
