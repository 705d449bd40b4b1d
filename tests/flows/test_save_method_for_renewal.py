"""A customer who ticks "remember this payment method" at checkout can then turn
auto-renewal on for the card, with that method, from the portal."""

import pytest

from simdesk.payments.models import SavedPaymentMethod
from simdesk.renewals.models import RenewalSettings

from .test_buy_journey import GOOD_CARD, checkout, log_in


def pay_and_maybe_save(client, order, *, save: bool):
    data = {"gateway": "sandbox", **({"save_method": "on"} if save else {})}
    to_gateway = client.post(f"/checkout/{order.public_id}/pay/", data)
    assert to_gateway.status_code == 302
    return client.post(to_gateway["Location"], {"action": "pay", "card_number": GOOD_CARD},
                       follow=True)


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_card_when_asked_and_renewal_can_then_be_switched_on(
        client, alice, card, plan):
    log_in(client, alice)
    assert "Remember this payment method" in client.get(
        f"/checkout/{checkout(client, plan).public_id}/").content.decode()
    order = checkout(client, plan)

    pay_and_maybe_save(client, order, save=True)

    method = SavedPaymentMethod.objects.get(customer=alice)
    page = client.get(f"/cards/{card.public_id}/renewal/").content.decode()
    assert f'value="{method.public_id}"' in page
    response = client.post(f"/cards/{card.public_id}/renewal/", {
        "enabled": "on", "plan": str(plan.public_id), "trigger_before_expiry_hours": "24",
        "trigger_low_data_percent": "", "payment_method": str(method.public_id)})
    assert response.status_code == 302
    settings = RenewalSettings.objects.get(card=card)
    assert settings.enabled and settings.payment_method == method


@pytest.mark.django_db(transaction=True)
def test_it_keeps_nothing_unless_asked(client, alice, card, plan):
    log_in(client, alice)
    pay_and_maybe_save(client, checkout(client, plan), save=False)
    assert not SavedPaymentMethod.objects.filter(customer=alice).exists()
