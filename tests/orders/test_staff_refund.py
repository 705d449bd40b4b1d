"""Staff refund an order (``order_refund_staff``): all that is left ends the period as refunded,
part of it gives money back only; the form's key refunds once; refusals write nothing."""

from datetime import timedelta

import pytest
from django.core import mail

from simdesk.cards.models import LedgerEntry, LedgerKind, PeriodState
from simdesk.core.errors import Conflict, ServiceError
from simdesk.orders.models import OrderStatus
from simdesk.orders.services import (
    order_create,
    order_pay,
    order_refund_staff,
    order_refundable_minor,
    refund_request_create,
)
from simdesk.payments.gateways.sandbox.models import SandboxRefund
from simdesk.payments.models import PaymentStatus, Refund
from simdesk.payments.services import payment_apply_outcome
from tests.orders.conftest import GB
from tests.orders.refund_fixtures import RETURN_URL, VISA, assert_ledger_holds, use
from tests.orders.test_concurrency import race


@pytest.fixture
def staff(make_user):
    return make_user("billing@example.com", is_staff=True)


@pytest.fixture
def refund(staff, django_capture_on_commit_callbacks):
    def make(order, amount_minor, *, key="k1", at, reason="Outage"):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            made = order_refund_staff(order=order, amount_minor=amount_minor, reason=reason,
                                      acting_user=staff, key=key, now=at)
        order.refresh_from_db()
        return made

    return make


def test_it_refunds_all_that_is_left_and_ends_the_period(bought, plan, refund, now):
    order = bought(plan, at=now)

    made = refund(order, 1200, at=now + timedelta(days=1))

    assert (made.amount_minor, made.idempotency_key) == (1200, "staff-refund:k1")
    assert order.status == OrderStatus.REFUNDED
    order.period.refresh_from_db()
    assert order.period.state == PeriodState.REFUNDED
    assert LedgerEntry.objects.get(kind=LedgerKind.REFUND).reference == "staff-refund:k1"
    assert SandboxRefund.objects.get().amount_minor == 1200
    assert [m.subject for m in mail.outbox] == ["[simdesk] We refunded $12.00"]
    assert order_refundable_minor(order) == 0
    assert_ledger_holds()


def test_it_gives_part_back_and_leaves_the_period_running(bought, card, plan, refund, now):
    order = bought(plan, at=now)
    use(card, GB, at=now + timedelta(hours=1))

    refund(order, 300, at=now + timedelta(days=1))

    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    order.period.refresh_from_db()
    assert order.period.state == PeriodState.ACTIVE
    assert order_refundable_minor(order) == 900
    assert "plan has now ended" not in mail.outbox[0].body
    assert "goes on as before" in mail.outbox[0].body
    assert_ledger_holds()


def test_it_refunds_once_for_one_key(bought, plan, refund, now):
    order = bought(plan, at=now)

    first = refund(order, 500, at=now + timedelta(days=1))
    second = refund(order, 500, at=now + timedelta(days=1))

    assert first.pk == second.pk
    assert Refund.objects.count() == 1 and SandboxRefund.objects.count() == 1
    with pytest.raises(Conflict):
        refund(order, 600, at=now + timedelta(days=1))  # same key, other amount


@pytest.mark.parametrize("amount", [0, -1, 1201, True])
def test_it_refuses_an_amount_outside_one_unit_to_what_is_left(bought, plan, refund, now,
                                                               amount):
    order = bought(plan, at=now)

    with pytest.raises(ServiceError):
        refund(order, amount, at=now + timedelta(days=1))

    assert not Refund.objects.exists()
    assert order.status == OrderStatus.FULFILLED


def test_it_refuses_without_a_reason(bought, plan, refund, now):
    order = bought(plan, at=now)

    with pytest.raises(ServiceError):
        refund(order, 100, reason="  ", at=now + timedelta(days=1))


def test_it_refuses_an_unpaid_order(alice, card, plan, refund, now):
    order = order_create(customer=alice, card=card, plan=plan, currency="USD",
                         idempotency_key="unpaid", now=now)

    with pytest.raises(Conflict):
        refund(order, 100, at=now)


def test_it_refunds_money_only_for_a_paid_order_with_no_period(
        alice, card, plan, refund, now, django_capture_on_commit_callbacks):
    # given alice paid on the sandbox but fulfilment has not run yet (no after-commit work)
    from simdesk.payments.gateways.sandbox.cards import test_card_find
    from simdesk.payments.gateways.sandbox.models import SandboxCharge
    from simdesk.payments.gateways.sandbox.services import sandbox_charge_pay

    order = order_create(customer=alice, card=card, plan=plan, currency="USD",
                         idempotency_key="paid-only", now=now)
    url = order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)
    with django_capture_on_commit_callbacks(execute=False):
        sandbox_charge_pay(charge=SandboxCharge.objects.get(
            public_id=url.rstrip("/").split("/")[-1]), card=test_card_find(VISA), now=now)
        order.refresh_from_db()
        payment_apply_outcome(payment=order.payment, outcome="succeeded", source="test",
                              now=now)
    order.mark_paid(at=now)
    order.payment.refresh_from_db()
    assert order.payment.status == PaymentStatus.SUCCEEDED

    refund(order, 1200, at=now)

    assert order.status == OrderStatus.REFUNDED and order.period is None


def test_it_sends_a_period_with_a_pending_request_to_the_queue(
        alice, bought, card, plan, refund, now):
    order = bought(plan, at=now)
    use(card, GB, at=now + timedelta(hours=1))
    refund_request_create(customer=alice, period=order.period, now=now + timedelta(days=20))

    with pytest.raises(Conflict):
        refund(order, 1200, at=now + timedelta(days=21))

    assert not Refund.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_refunds_once_when_the_same_form_arrives_five_times_at_once(bought, plan, staff,
                                                                      now):
    order = bought(plan, at=now)

    results, errors = race([lambda: order_refund_staff(
        order=order, amount_minor=1200, reason="Outage", acting_user=staff, key="same",
        now=now + timedelta(days=1)).pk] * 5)

    assert errors == []
    assert len(set(results)) == 1
    assert Refund.objects.count() == 1 and SandboxRefund.objects.count() == 1
    assert_ledger_holds()
