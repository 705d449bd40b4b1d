"""What every payment gateway must do, whichever vendor it talks to.

Each test runs once per gateway (the ``driver`` fixture, see conftest.py). The
tests speak to simdesk only through the payments services, the
``PaymentGateway`` interface and the webhook endpoint; everything on the
vendor's side (its pay page, its webhooks, its ledger) goes through the driver.

Transactions really commit here (``transaction=True``): signals and webhook
deliveries happen after commit, exactly as in production.
"""

import pytest
from django.conf import settings as django_settings
from django.utils import translation
from django.utils.translation import trans_real

from simdesk.core.errors import Conflict, NotFound
from simdesk.payments.gateways import enabled_gateways, get_gateway
from simdesk.payments.gateways.base import GatewayError, Outcome, PaymentDeclined
from simdesk.payments.models import (
    InboundWebhookEvent,
    Payment,
    PaymentStatus,
    Refund,
    SavedPaymentMethod,
)
from simdesk.payments.services import (
    payment_charge_saved_method,
    payment_reconcile,
    payment_refund,
    payment_start,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def begin(driver, alice, now):
    """Start a one-off payment for alice at the gateway under test; (payment, pay page)."""

    def start(key="order-1", *, amount_minor=999, currency="USD", save_method=False):
        return payment_start(customer=alice, gateway=driver.name, amount_minor=amount_minor,
                             currency=currency, reference=f"order:{key}", idempotency_key=key,
                             return_url=f"{django_settings.SITE_URL}/orders/{key}/",
                             save_method=save_method, now=now)

    return start


@pytest.fixture
def paid(begin, driver, client):
    """A payment of 9.99 USD alice paid at the gateway, its webhooks delivered."""
    payment, url = begin()
    driver.customer_pays(client, payment, url, outcome="succeeded")
    for response in driver.deliver_webhooks(client):
        assert response.status_code == 200, response.content[:500]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    return payment


def _saved(driver, customer, *, outcome: str) -> SavedPaymentMethod:
    if not driver.saved_methods:
        pytest.skip(f"{driver.name} cannot charge saved methods off-session")
    token = driver.saved_method(customer, outcome=outcome)
    return SavedPaymentMethod.objects.create(customer=customer, gateway=driver.name,
                                             token=token, label="saved for renewals")


def assert_translatable(text_of) -> None:
    """``text_of()`` is words (not a code) that reach the customer through the catalogue.

    The catalogues are filled by translators later, so instead of expecting a
    translation this puts one into the Chinese catalogue for the English text
    and checks that it shows up.
    """
    with translation.override("en"):
        english = str(text_of())
    assert " " in english.strip(), f"not words for a customer: {english!r}"
    with translation.override("zh-hans"):
        catalog = trans_real.translation("zh-hans")._catalog._catalogs[0]
        missing = object()
        before = catalog.get(english, missing)
        catalog[english] = "〔已翻译〕"
        try:
            translated = str(text_of())
        finally:
            if before is missing:
                del catalog[english]
            else:
                catalog[english] = before
    assert translated == "〔已翻译〕", f"not marked for translation: {english!r}"


# --- Starting ----------------------------------------------------------------------------


def test_it_starts_one_gateway_payment_per_idempotency_key(begin, driver):
    # given a payment started once
    payment, url = begin("order-7")
    assert payment.gateway_payment_id and url
    # when it is started again with the same key, through the service and at the gateway
    again, again_url = begin("order-7")
    result = get_gateway(driver.name).start_payment(
        payment=payment, return_url=payment.return_url, save_method=False)
    # then it is the same payment at the gateway every time
    assert again.pk == payment.pk and again_url == url
    assert result.gateway_payment_id == payment.gateway_payment_id
    assert Payment.objects.count() == 1


def test_it_offers_only_a_listed_gateway(driver, settings, begin, client):
    assert driver.name in [gw.name for gw in enabled_gateways()]
    # when the installation does not list it
    settings.PAYMENT_GATEWAYS = [name for name in settings.PAYMENT_GATEWAYS
                                 if name != driver.name]
    # then it is neither offered, nor usable, nor does it take webhooks
    assert driver.name not in [gw.name for gw in enabled_gateways()]
    with pytest.raises(NotFound):
        begin()
    assert Payment.objects.count() == 0
    assert client.post(f"/webhooks/{driver.name}/", data=b"{}",
                       content_type="application/json").status_code == 404


def test_it_is_not_offered_while_a_required_setting_is_empty(driver, settings):
    from simdesk.payments.gateways import gateway_requirements

    requirements = gateway_requirements(driver.name)
    if not requirements:
        pytest.skip(f"{driver.name} needs no settings")
    for alternatives in requirements:
        # given one required setting (in each of its forms) left empty
        saved = {name: getattr(settings, name) for name in alternatives}
        for name in alternatives:
            setattr(settings, name, "")
        # then the gateway is not offered
        assert driver.name not in [gw.name for gw in enabled_gateways()], alternatives
        for name, value in saved.items():
            setattr(settings, name, value)
    assert driver.name in [gw.name for gw in enabled_gateways()]


# --- Paying ------------------------------------------------------------------------------


def test_a_paid_payment_succeeds_and_is_announced_once(begin, driver, client, received):
    # given a started payment
    payment, url = begin()
    # when the customer pays at the gateway and the gateway sends its webhooks
    driver.customer_pays(client, payment, url, outcome="succeeded")
    responses = driver.deliver_webhooks(client)
    # then simdesk accepted them, the payment succeeded and the rest of simdesk heard once
    assert responses and all(r.status_code == 200 for r in responses)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_succeeded", payment.pk)]


def test_a_declined_payment_fails_with_a_reason_the_customer_can_read(begin, driver, client,
                                                                      received):
    payment, url = begin()
    driver.customer_pays(client, payment, url, outcome="declined")
    for response in driver.deliver_webhooks(client):
        assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert received == [("payment_failed", payment.pk)]
    # the reason is words for the customer (not a vendor's code), in their language
    assert_translatable(lambda: payment.failure_reason)


def test_it_processes_a_webhook_delivered_twice_once(begin, driver, client, received):
    payment, url = begin()
    driver.customer_pays(client, payment, url, outcome="succeeded")
    webhooks = driver.collect_webhooks()
    assert webhooks, f"{driver.name} sent no webhook about a paid payment"
    # when every webhook arrives twice
    first = [driver.post_webhook(client, webhook) for webhook in webhooks]
    second = [driver.post_webhook(client, webhook) for webhook in webhooks]
    # then each copy is acknowledged, each event stored once, the payment announced once
    assert [r.status_code for r in first + second] == [200] * (2 * len(webhooks))
    assert InboundWebhookEvent.objects.count() == len(webhooks)
    assert set(InboundWebhookEvent.objects.values_list("attempts", flat=True)) == {1}
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_succeeded", payment.pk)]


def test_it_rejects_a_tampered_webhook_and_stores_nothing(begin, driver, client):
    payment, url = begin()
    driver.customer_pays(client, payment, url, outcome="succeeded")
    webhooks = driver.collect_webhooks()
    assert webhooks
    payment.refresh_from_db()
    status_before = payment.status
    # when a webhook arrives with its amount changed but its signature kept
    body, headers = webhooks[0]
    tampered_body, tampered_headers = driver.tamper(body, dict(headers))
    assert tampered_body != body
    response = driver.post_webhook(client, (tampered_body, tampered_headers))
    # then it is refused and nothing is stored or changed
    assert response.status_code == 400
    assert InboundWebhookEvent.objects.count() == 0
    payment.refresh_from_db()
    assert payment.status == status_before
    # while the genuine one is accepted
    assert driver.post_webhook(client, webhooks[0]).status_code == 200
    assert InboundWebhookEvent.objects.count() == 1


def test_reconciliation_finds_a_payment_whose_webhooks_were_lost(begin, driver, client, now,
                                                                 received):
    # given a payment the customer paid, whose webhooks never arrived
    payment, url = begin()
    driver.customer_pays(client, payment, url, outcome="succeeded")
    driver.collect_webhooks()
    payment.refresh_from_db()
    # when simdesk asks the gateway
    status = get_gateway(driver.name).query_status(payment=payment)
    payment_reconcile(payment=payment, now=now)
    # then the gateway says it succeeded, and so does simdesk, announced once
    assert status.outcome == Outcome.SUCCEEDED
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_succeeded", payment.pk)]


@pytest.mark.parametrize(("amount_minor", "currency"), [(1999, "USD"), (1200, "JPY")])
def test_the_amount_arrives_exact_at_the_gateway(begin, driver, client, amount_minor,
                                                 currency):
    if currency not in driver.currencies():
        pytest.skip(f"{driver.name} does not take {currency}")
    payment, url = begin(f"order-{currency}", amount_minor=amount_minor, currency=currency)
    driver.customer_pays(client, payment, url, outcome="succeeded")
    for response in driver.deliver_webhooks(client):
        assert response.status_code == 200
    assert driver.charged_minor(payment) == amount_minor
    payment.refresh_from_db()
    # the webhooks' amount matched the payment's, or simdesk would not have accepted it
    assert payment.status == PaymentStatus.SUCCEEDED


# --- Refunds -----------------------------------------------------------------------------


def test_it_refunds_in_full(paid, now, received):
    refund = payment_refund(payment=paid, amount_minor=999, idempotency_key="refund-1",
                            now=now)
    paid.refresh_from_db()
    assert refund.gateway_refund_id
    assert (paid.status, paid.refunded_minor) == (PaymentStatus.REFUNDED, 999)
    assert received.count(("payment_refunded", paid.pk)) == 1


def test_it_refunds_in_parts_once_per_key_and_never_more_than_is_left(paid, driver, now):
    # given 3.00 of 9.99 refunded, and the same refund asked again
    first = payment_refund(payment=paid, amount_minor=300, idempotency_key="refund-1", now=now)
    again = payment_refund(payment=paid, amount_minor=300, idempotency_key="refund-1", now=now)
    assert again.pk == first.pk and again.gateway_refund_id == first.gateway_refund_id
    # the gateway itself, asked again with the same key (a crash before simdesk stored it),
    # answers with the same refund instead of refunding twice
    repeated = get_gateway(driver.name).refund(payment=paid, amount_minor=300,
                                               idempotency_key="refund-1")
    assert repeated.refund_id == first.gateway_refund_id
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_minor) == (PaymentStatus.PARTIALLY_REFUNDED, 300)
    # when more than is left is asked of the gateway itself
    with pytest.raises(GatewayError):
        get_gateway(driver.name).refund(payment=paid, amount_minor=700,
                                        idempotency_key="refund-too-much")
    # or of simdesk
    with pytest.raises(Conflict):
        payment_refund(payment=paid, amount_minor=700, idempotency_key="refund-2", now=now)
    # then nothing more was refunded
    assert Refund.objects.count() == 1
    # and what is left can still be refunded
    payment_refund(payment=paid, amount_minor=699, idempotency_key="refund-3", now=now)
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_minor) == (PaymentStatus.REFUNDED, 999)


# --- Saved methods (renewals) ------------------------------------------------------------


def test_it_says_truly_whether_renewals_can_use_it(driver, alice, now):
    gateway = get_gateway(driver.name)
    assert gateway.supports_saved_methods == driver.saved_methods
    if not driver.saved_methods:
        # a charge without the customer is refused as a failure: never a success or a decline
        payment = Payment.objects.create(customer=alice, gateway=driver.name, amount_minor=1500,
                                         currency="USD", reference="renewal:1",
                                         idempotency_key="renewal-1", off_session=True,
                                         status_changed_at=now)
        with pytest.raises(GatewayError):
            gateway.charge_saved_method(payment=payment, method_token="tok_anything")


def test_a_method_saved_while_paying_pays_the_renewal(begin, driver, client, alice, now,
                                                      received):
    if not driver.saved_methods:
        pytest.skip(f"{driver.name} cannot charge saved methods off-session")
    # given alice paid and asked to keep the method for renewals
    payment, url = begin(save_method=True)
    driver.customer_pays(client, payment, url, outcome="succeeded")
    for response in driver.deliver_webhooks(client):
        assert response.status_code == 200
    payment.refresh_from_db()
    method = payment.saved_method
    assert method is not None and method.gateway == driver.name and method.label
    assert method.customer_id == alice.pk
    # when the renewal charges it without her
    renewal = payment_charge_saved_method(customer=alice, method=method, amount_minor=1500,
                                          currency="USD", reference="renewal:1",
                                          idempotency_key="renewal-1", now=now)
    for response in driver.deliver_webhooks(client):
        assert response.status_code == 200
    # then it is paid, for exactly that amount
    assert renewal.status == PaymentStatus.SUCCEEDED
    assert driver.charged_minor(renewal) == 1500
    assert received == [("payment_succeeded", payment.pk), ("payment_succeeded", renewal.pk)]


def test_it_charges_a_saved_method_once_per_key(driver, alice, client, now, received):
    method = _saved(driver, alice, outcome="succeeded")

    def charge():
        return payment_charge_saved_method(customer=alice, method=method, amount_minor=1500,
                                           currency="USD", reference="renewal:1",
                                           idempotency_key="renewal-1", now=now)

    payment = charge()
    again = charge()
    for response in driver.deliver_webhooks(client):
        assert response.status_code == 200
    assert payment.status == PaymentStatus.SUCCEEDED
    assert again.pk == payment.pk and again.gateway_payment_id == payment.gateway_payment_id
    assert driver.charged_minor(payment) == 1500
    assert received == [("payment_succeeded", payment.pk)]
    # the gateway itself answers a repeated charge with the same payment
    result = get_gateway(driver.name).charge_saved_method(payment=payment,
                                                          method_token=method.token)
    assert result.gateway_payment_id == payment.gateway_payment_id


def test_a_declined_off_session_charge_is_a_decline(driver, alice, client, now, received):
    method = _saved(driver, alice, outcome="declined")
    # through simdesk: the renewal's payment fails with a reason for the customer
    payment = payment_charge_saved_method(customer=alice, method=method, amount_minor=1500,
                                          currency="USD", reference="renewal:1",
                                          idempotency_key="renewal-1", now=now)
    for response in driver.deliver_webhooks(client):
        assert response.status_code == 200
    assert payment.status == PaymentStatus.FAILED
    assert_translatable(lambda: payment.failure_reason)
    assert received == [("payment_failed", payment.pk)]
    # at the gateway: a decline is PaymentDeclined, not a gateway failure
    other = Payment.objects.create(customer=alice, gateway=driver.name, amount_minor=1500,
                                   currency="USD", reference="renewal:2",
                                   idempotency_key="renewal-2", off_session=True,
                                   saved_method=method, status_changed_at=now)
    with pytest.raises(PaymentDeclined) as declined:
        get_gateway(driver.name).charge_saved_method(payment=other, method_token=method.token)
    assert str(declined.value.message)
