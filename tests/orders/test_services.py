"""Orders from checkout to period: creation rules, idempotency, paying, fulfilment,
declines and expiry."""

from datetime import timedelta

import pytest
from django.core import mail

from simdesk.cards.models import Period, PeriodState
from simdesk.catalog.models import Coupon, CouponRedemption, PlanKind, Stacking
from simdesk.core.errors import Conflict, NotFound, ServiceError
from simdesk.orders.models import Order, OrderEvent, OrderStatus
from simdesk.orders.services import (
    order_apply_coupon,
    order_create,
    order_fulfil,
    order_mark_paid,
    order_pay,
    orders_expire,
)
from simdesk.payments.models import Payment

RETURN_URL = "http://testserver/orders/x/"


@pytest.fixture
def buy(alice, card, plan, now):
    """buy(**overrides) → an order as alice's checkout would open it."""

    def make(**overrides):
        args = {"customer": alice, "card": card, "plan": plan, "currency": "USD",
                "coupon_code": "", "idempotency_key": "key-1", "now": now}
        args.update(overrides)
        return order_create(**args)

    return make


# --- Creating -------------------------------------------------------------------------

def test_it_opens_an_order_priced_from_the_plan_in_the_chosen_currency(buy, now):
    order = buy(currency="EUR")

    assert order.status == OrderStatus.PENDING_PAYMENT
    assert (order.subtotal_minor, order.discount_minor, order.total_minor) == (1100, 0, 1100)
    assert order.currency == "EUR"
    assert order.expires_at == now + timedelta(minutes=30)
    assert list(order.events.values_list("to_status", flat=True)) == ["pending_payment"]


def test_it_returns_the_original_order_for_the_same_key_and_request(buy):
    first = buy()
    second = buy()

    assert second.pk == first.pk
    assert Order.objects.count() == 1


def test_it_refuses_the_same_key_for_a_different_request(buy):
    buy(currency="USD")

    with pytest.raises(Conflict) as caught:
        buy(currency="EUR")

    assert caught.value.status == 409
    assert Order.objects.count() == 1


def test_it_lets_another_customer_use_the_same_key(buy, bob, make_card):
    buy()
    other = buy(customer=bob, card=make_card(owner=bob))

    assert Order.objects.count() == 2
    assert other.customer == bob


def test_it_refuses_a_plan_without_a_price_in_the_currency(buy):
    with pytest.raises(ServiceError, match="not sold in JPY"):
        buy(currency="JPY")
    assert not Order.objects.exists()


def test_it_refuses_an_archived_plan(buy, plan, now):
    plan.archive(at=now)

    with pytest.raises(ServiceError, match="no longer on sale"):
        buy()


def test_it_refuses_a_card_of_another_customer(buy, bob, make_card):
    with pytest.raises(NotFound):
        buy(card=make_card(owner=bob))
    assert not Order.objects.exists()


def test_it_refuses_a_top_up_for_a_new_esim(buy, make_plan, esim_stock):
    topup = make_plan("topup-1gb", kind=PlanKind.TOPUP, stacking=Stacking.EXTEND)

    with pytest.raises(ServiceError, match="top-up"):
        buy(card=None, plan=topup)


def test_it_refuses_a_new_esim_when_none_is_in_stock(buy):
    with pytest.raises(ServiceError, match="no new eSIMs"):
        buy(card=None)


def test_it_refuses_a_form_without_an_idempotency_key(buy):
    with pytest.raises(ServiceError):
        buy(idempotency_key="")


# --- Status moves ----------------------------------------------------------------------

def test_it_refuses_an_illegal_status_move_and_leaves_no_history(buy, now):
    order = buy()
    events = OrderEvent.objects.count()

    with pytest.raises(Conflict):
        order.mark_fulfilled(at=now, period=None)

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert OrderEvent.objects.count() == events


# --- Coupons ---------------------------------------------------------------------------

@pytest.fixture
def save_25(db):
    return Coupon.objects.create(code="SAVE25", kind="percent", percent_off=25)


def test_it_reprices_the_order_with_a_coupon_and_holds_one_use(buy, save_25, now):
    order = order_apply_coupon(order=buy(), coupon_code="save25", now=now)

    assert (order.subtotal_minor, order.discount_minor, order.total_minor) == (1200, 300, 900)
    assert order.coupon_code == "SAVE25"
    assert CouponRedemption.objects.get(reference=order.reference).status == "reserved"


def test_it_leaves_the_order_as_it_was_when_a_coupon_is_refused(buy, now):
    order = buy()

    with pytest.raises(ServiceError):
        order_apply_coupon(order=order, coupon_code="NOPE", now=now)

    order.refresh_from_db()
    assert (order.total_minor, order.coupon_code) == (1200, "")


def test_it_removes_a_coupon_and_gives_its_use_back(buy, save_25, now):
    order = order_apply_coupon(order=buy(), coupon_code="SAVE25", now=now)

    order = order_apply_coupon(order=order, coupon_code="", now=now)

    assert (order.total_minor, order.coupon_code) == (1200, "")
    assert CouponRedemption.objects.get(reference=order.reference).status == "released"


# --- Paying ----------------------------------------------------------------------------

def test_it_starts_one_payment_however_often_the_pay_form_is_sent(buy, now):
    order = buy()

    first = order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)
    second = order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)

    assert first == second
    payment = Payment.objects.get()
    assert payment.reference == order.reference
    assert payment.amount_minor == 1200
    assert payment.idempotency_key == f"{order.reference}:1"


def test_it_refuses_a_gateway_that_is_not_enabled(buy, now):
    with pytest.raises(ServiceError):
        order_pay(order=buy(), gateway="bitcoin", return_url=RETURN_URL, now=now)
    assert not Payment.objects.exists()


def test_it_refuses_to_pay_after_the_deadline(buy, now):
    order = buy()

    with pytest.raises(ServiceError, match="expired"):
        order_pay(order=order, gateway="sandbox", return_url=RETURN_URL,
                  now=now + timedelta(minutes=31))


def test_it_activates_the_period_and_sends_the_receipt_when_the_payment_succeeds(
        buy, card, now, gateway_says):
    order = buy()
    order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)

    order = gateway_says(order, "succeeded", now=now)

    assert order.status == OrderStatus.FULFILLED
    assert order.period.card == card
    assert order.period.state == PeriodState.ACTIVE
    assert order.period.source == order.reference
    assert order.paid_at is not None and order.fulfilled_at is not None
    assert [e.to_status for e in order.events.all()] == [
        "pending_payment", "paid", "fulfilled"]
    assert any(str(order.public_id) in m.body for m in mail.outbox)
    from simdesk.cards.models import NetworkAction

    assert NetworkAction.objects.filter(card=card, action="activate").count() == 1


def test_it_fulfils_once_however_many_confirmations_arrive(buy, now, gateway_says):
    order = buy()
    order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)
    gateway_says(order, "succeeded", now=now)

    for _ in range(3):
        order_mark_paid(order=order, now=now)
        order_fulfil(order=order, now=now)

    assert Period.objects.count() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert OrderEvent.objects.filter(order=order, to_status="fulfilled").count() == 1


def test_it_confirms_the_coupon_when_the_order_is_paid(buy, save_25, now, gateway_says):
    order = order_apply_coupon(order=buy(), coupon_code="SAVE25", now=now)
    order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)

    gateway_says(order, "succeeded", now=now)

    assert Payment.objects.get().amount_minor == 900
    assert CouponRedemption.objects.get(reference=order.reference).status == "confirmed"


def test_it_gives_a_new_esim_from_stock_to_its_buyer(buy, alice, esim_stock, now, gateway_says):
    order = buy(card=None)
    order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)

    order = gateway_says(order, "succeeded", now=now)

    assert order.status == OrderStatus.FULFILLED
    assert order.card == esim_stock[0]
    assert order.card.owner == alice
    assert order.period.card == order.card
    esim_stock[1].refresh_from_db()
    assert esim_stock[1].owner is None


def test_it_keeps_a_paid_order_waiting_when_the_esim_stock_ran_out(
        buy, esim_stock, bob, now, gateway_says):
    order = buy(card=None)
    order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)
    for stock_card in esim_stock:  # sold to someone else meanwhile
        stock_card.owner = bob
        stock_card.save()

    order = gateway_says(order, "succeeded", now=now)

    assert order.status == OrderStatus.PAID
    assert order.fulfilment_error
    assert not Period.objects.exists()


def test_it_pays_an_order_a_coupon_covers_in_full_without_a_gateway(
        buy, now, django_capture_on_commit_callbacks):
    Coupon.objects.create(code="FREE", kind="percent", percent_off=100)
    order = order_apply_coupon(order=buy(), coupon_code="FREE", now=now)

    with django_capture_on_commit_callbacks(execute=True):
        url = order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)

    order.refresh_from_db()
    assert url == RETURN_URL
    assert order.status == OrderStatus.FULFILLED
    assert not Payment.objects.exists()


# --- Declines --------------------------------------------------------------------------

def test_it_records_a_decline_tells_the_customer_and_releases_the_coupon(
        buy, save_25, now, gateway_says):
    order = order_apply_coupon(order=buy(), coupon_code="SAVE25", now=now)
    order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)

    order = gateway_says(order, "failed", failure_code="insufficient_funds", now=now)

    assert order.status == OrderStatus.PAYMENT_FAILED
    assert "insufficient funds" in order.failure_message
    assert order.period is None and not Period.objects.exists()
    assert CouponRedemption.objects.get(reference=order.reference).status == "released"
    assert any("insufficient funds" in m.body for m in mail.outbox)


def test_it_tries_again_after_a_decline_with_a_new_payment_attempt(buy, now, gateway_says):
    order = buy()
    order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)
    gateway_says(order, "failed", now=now)

    order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)
    order = gateway_says(order, "succeeded", now=now)

    assert Payment.objects.count() == 2
    assert order.payment.idempotency_key == f"{order.reference}:2"
    assert order.status == OrderStatus.FULFILLED


def test_it_ignores_a_late_decline_of_an_earlier_attempt(buy, now, gateway_says):
    order = buy()
    order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)
    first = Payment.objects.get()
    gateway_says(order, "failed", now=now)
    order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)
    from simdesk.orders.services import order_payment_failed

    order_payment_failed(order=order, reason="late", payment=first, now=now)

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT


# --- Expiry ----------------------------------------------------------------------------

def test_it_expires_an_unpaid_order_after_the_timeout_and_releases_its_coupon(
        buy, save_25, now):
    order = order_apply_coupon(order=buy(), coupon_code="SAVE25", now=now)

    assert orders_expire(now=now + timedelta(minutes=29)) == 0
    assert orders_expire(now=now + timedelta(minutes=30)) == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert CouponRedemption.objects.get(reference=order.reference).status == "released"


def test_it_leaves_paid_orders_alone_when_expiring(buy, now, gateway_says):
    order = buy()
    order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)
    gateway_says(order, "succeeded", now=now)

    assert orders_expire(now=now + timedelta(hours=2)) == 0


def test_it_still_fulfils_a_payment_confirmed_after_the_order_expired(buy, now, gateway_says):
    order = buy()
    order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)
    orders_expire(now=now + timedelta(minutes=45))

    order = gateway_says(order, "succeeded", now=now + timedelta(minutes=46))

    assert order.status == OrderStatus.FULFILLED
    assert Period.objects.count() == 1


def test_it_keeps_the_price_while_the_customer_is_paying(buy, save_25, now):
    order = buy()
    order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)

    with pytest.raises(ServiceError, match="payment has started"):
        order_apply_coupon(order=order, coupon_code="SAVE25", now=now)

    order.refresh_from_db()
    assert order.total_minor == 1200


# --- Refunds ---------------------------------------------------------------------------

def test_it_records_partial_and_full_refunds_of_the_payment(
        buy, now, django_capture_on_commit_callbacks):
    from simdesk.payments.gateways.sandbox.cards import test_card_find
    from simdesk.payments.gateways.sandbox.models import SandboxCharge
    from simdesk.payments.gateways.sandbox.services import sandbox_charge_pay
    from simdesk.payments.services import payment_refund

    order = buy()
    url = order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)
    charge = SandboxCharge.objects.get(public_id=url.rstrip("/").split("/")[-1])
    with django_capture_on_commit_callbacks(execute=True):  # pay page → signed webhook
        sandbox_charge_pay(charge=charge, card=test_card_find("4242424242424242"), now=now)
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED

    with django_capture_on_commit_callbacks(execute=True):
        payment_refund(payment=order.payment, amount_minor=200, idempotency_key="r1", now=now)
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED

    with django_capture_on_commit_callbacks(execute=True):
        payment_refund(payment=order.payment, amount_minor=1000, idempotency_key="r2", now=now)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert [e.to_status for e in order.events.all()][-2:] == ["partially_refunded", "refunded"]
