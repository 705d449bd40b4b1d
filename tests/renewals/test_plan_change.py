"""Plan change "at period end": auto-renewal buys the new plan next; nothing else changes."""

from datetime import timedelta

import pytest

from simdesk.cards.models import PeriodState
from simdesk.core.errors import NotFound, ServiceError
from simdesk.renewals.models import RenewalSettings
from simdesk.renewals.services import renewal_attempt
from simdesk.renewals.services.plan_change import renewal_plan_change

from .conftest import GB

pytestmark = pytest.mark.django_db


@pytest.fixture
def bigger(make_plan):  # noqa: F811
    return make_plan("europe-10gb-30d", data_bytes=10 * GB, prices={"USD": 2000, "EUR": 1800})


def test_it_makes_the_next_renewal_buy_the_new_plan(card, alice, plan, bigger, current_period,
                                                    renewing, now):
    # given auto-renewal is on for the 5 GB plan, 24 h before the end
    before = renewing()

    # when alice changes to the 10 GB plan at the end of the period
    rs = renewal_plan_change(card=card, customer=alice, plan=bigger, currency="USD",
                             now=now - timedelta(hours=1))

    # then only the plan changed
    assert (rs.plan, rs.enabled, rs.payment_method, rs.trigger_before_expiry_hours) == (
        bigger, True, before.payment_method, 24)
    # and the renewal, when due, buys the 10 GB plan, queued behind the current period
    attempt = renewal_attempt(card=card, now=now)
    assert attempt.order.plan == bigger and attempt.order.total_minor == 2000
    new_period = attempt.order.period
    assert new_period.state == PeriodState.QUEUED and new_period.total_bytes == 10 * GB
    current_period.refresh_from_db()
    assert current_period.state == PeriodState.ACTIVE  # the current plan is untouched


def test_it_keeps_the_choice_when_auto_renewal_is_off(card, alice, bigger, current_period, now):
    rs = renewal_plan_change(card=card, customer=alice, plan=bigger, currency="EUR", now=now)

    assert (rs.plan, rs.currency, rs.enabled) == (bigger, "EUR", False)
    assert RenewalSettings.objects.get(card=card).trigger_before_expiry_hours == 24
    assert renewal_attempt(card=card, now=now) is None  # nothing bought while it is off


def test_it_refuses_a_plan_auto_renewal_cannot_buy(card, alice, make_plan, current_period, now):
    unrenewable = make_plan("one-off", renewable=False)

    with pytest.raises(ServiceError) as refused:
        renewal_plan_change(card=card, customer=alice, plan=unrenewable, currency="USD", now=now)
    assert refused.value.code == "plan_not_renewable"


def test_it_does_not_find_another_customers_card(card, bob, bigger, current_period, now):
    with pytest.raises(NotFound):
        renewal_plan_change(card=card, customer=bob, plan=bigger, currency="USD", now=now)
    assert not RenewalSettings.objects.filter(card=card).exists()
