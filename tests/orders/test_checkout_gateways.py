"""The checkout's payment choices when some enabled gateways cannot keep a payment method
(Alipay; PayPal without a vault), and the renewal page when a saved method's gateway is
gone — as a browser without JavaScript sees them. Driven by the tests' one-off gateway."""

import pytest
from django.utils import timezone

from simdesk.core.errors import ServiceError
from simdesk.orders.services import order_create, order_pay
from simdesk.payments.models import Payment, SavedPaymentMethod
from simdesk.renewals.models import RenewalSettings

from .gateways import oneoff  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def order(alice, card, plan):
    return order_create(customer=alice, card=card, plan=plan, currency="USD",
                        idempotency_key="page-key", now=timezone.now())


def test_it_offers_every_enabled_gateway_by_its_label_and_says_which_can_be_remembered(
        signed_in, order, oneoff):  # noqa: F811
    page = signed_in.get(f"/checkout/{order.public_id}/").content.decode()

    assert 'value="sandbox"' in page and "Test card (sandbox)" in page
    assert 'value="oneoff"' in page and "One-off Pay" in page
    assert "Remember this payment method for auto-renewal" in page
    assert "Only Test card (sandbox) can be remembered." in page


def test_it_offers_no_remember_box_when_no_enabled_gateway_can_keep_methods(
        signed_in, order, oneoff, settings):  # noqa: F811
    settings.PAYMENT_GATEWAYS = ["oneoff"]

    page = signed_in.get(f"/checkout/{order.public_id}/").content.decode()

    assert 'value="oneoff"' in page
    assert 'name="save_method"' not in page
    response = signed_in.post(f"/checkout/{order.public_id}/pay/",
                              {"gateway": "oneoff", "save_method": "on"})
    assert response.status_code == 302
    assert Payment.objects.get().save_method is False


def test_it_refuses_to_remember_a_method_the_gateway_cannot_keep(signed_in, order, oneoff):  # noqa: F811
    response = signed_in.post(f"/checkout/{order.public_id}/pay/",
                              {"gateway": "oneoff", "save_method": "on"})

    assert response.status_code == 400
    assert "One-off Pay cannot be remembered for auto-renewal" in response.content.decode()
    assert not Payment.objects.exists() and oneoff.calls == []


def test_it_pays_with_a_gateway_that_cannot_keep_methods_when_the_box_is_left_empty(
        signed_in, order, oneoff):  # noqa: F811
    response = signed_in.post(f"/checkout/{order.public_id}/pay/", {"gateway": "oneoff"})

    payment = Payment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/oneoff/pay/{payment.public_id}"
    assert (payment.gateway, payment.save_method) == ("oneoff", False)


def test_it_still_remembers_a_method_with_a_gateway_that_can(signed_in, order, oneoff):  # noqa: F811
    response = signed_in.post(f"/checkout/{order.public_id}/pay/",
                              {"gateway": "sandbox", "save_method": "on"})

    assert response.status_code == 302
    assert Payment.objects.get().save_method is True


def test_it_offers_only_the_gateways_that_take_the_orders_currency(signed_in, order, oneoff):  # noqa: F811
    oneoff.currencies = ("CNY",)

    page = signed_in.get(f"/checkout/{order.public_id}/").content.decode()

    assert 'value="sandbox"' in page
    assert 'value="oneoff"' not in page
    response = signed_in.post(f"/checkout/{order.public_id}/pay/", {"gateway": "oneoff"})
    assert response.status_code == 400
    assert not Payment.objects.exists() and oneoff.calls == []


def test_order_pay_refuses_a_gateway_that_cannot_take_the_orders_currency(order, oneoff):  # noqa: F811
    oneoff.currencies = ("CNY",)

    with pytest.raises(ServiceError) as refused:
        order_pay(order=order, gateway="oneoff", return_url="/orders/", now=timezone.now())

    assert refused.value.code == "currency_not_supported"
    assert "One-off Pay cannot take payments in USD" in str(refused.value.message)
    assert not Payment.objects.exists() and oneoff.calls == []


# --- The auto-renewal page -------------------------------------------------------------------

@pytest.fixture
def methods(alice):
    """alice kept a sandbox Visa and, somehow, a one-off method (it cannot be charged)."""
    return {
        "sandbox": SavedPaymentMethod.objects.create(customer=alice, gateway="sandbox",
                                                     token="sbxpm_a", label="Visa 4242"),
        "oneoff": SavedPaymentMethod.objects.create(customer=alice, gateway="oneoff",
                                                    token="oo_a", label="One-off wallet"),
    }


def test_the_renewal_page_offers_only_methods_whose_gateway_can_renew(
        signed_in, card, methods, oneoff):  # noqa: F811
    page = signed_in.get(f"/cards/{card.public_id}/renewal/").content.decode()

    assert f'value="{methods["sandbox"].public_id}"' in page
    assert f'value="{methods["oneoff"].public_id}"' not in page
    assert "can no longer be used" not in page


def test_the_renewal_page_says_when_the_chosen_methods_gateway_is_no_longer_offered(
        signed_in, card, methods, settings, oneoff):  # noqa: F811
    # Given renewal set up with the sandbox Visa, then the sandbox switched off
    RenewalSettings.objects.create(card=card, enabled=True, payment_method=methods["sandbox"])
    settings.PAYMENT_GATEWAYS = ["oneoff"]

    page = signed_in.get(f"/cards/{card.public_id}/renewal/").content.decode()

    assert ("The payment method chosen for this card (Visa 4242) can no longer be used: its "
            "payment service is not offered any more.") in page
    assert f'value="{methods["sandbox"].public_id}"' not in page
    assert "You have no saved payment method that auto-renewal can charge" in page


def test_the_renewal_page_refuses_a_method_whose_gateway_cannot_renew(
        signed_in, card, plan, methods, current_period_for, oneoff):  # noqa: F811
    current_period_for(card)
    response = signed_in.post(f"/cards/{card.public_id}/renewal/", {
        "enabled": "on", "plan": str(plan.public_id), "trigger_before_expiry_hours": "24",
        "trigger_low_data_percent": "", "payment_method": str(methods["oneoff"].public_id)})

    assert response.status_code == 400
    assert not RenewalSettings.objects.filter(card=card, enabled=True).exists()


@pytest.fixture
def current_period_for(plan):
    from simdesk.cards.services import period_create

    def make(card):
        return period_create(card=card, plan=plan, source="test:first", now=timezone.now())

    return make
