"""The plan-change and refund pages as a browser without JavaScript uses them: plain GET
forms to see what happens, POST (with CSRF) to confirm, errors on the page, never a 500."""

from datetime import timedelta

import pytest
from django.core import mail

from simdesk.cards.models import PeriodState
from simdesk.orders.models import Order, OrderStatus, RefundRequest
from simdesk.renewals.models import RenewalSettings
from tests.orders.conftest import GB
from tests.orders.refund_fixtures import assert_ledger_holds, pay_on_sandbox, use


@pytest.fixture
def frozen(time_machine, now):
    """The pages read the clock: it stands at ``now`` unless a test moves it."""
    time_machine.move_to(now, tick=False)
    return time_machine


@pytest.fixture
def signed_in(client, alice, frozen):
    client.force_login(alice)
    return client


@pytest.fixture
def bigger(make_plan):
    return make_plan("europe-10gb-30d", data_bytes=10 * GB, prices={"USD": 2000})


def test_it_links_the_card_page_to_plan_change_and_refunds(signed_in, card):
    page = signed_in.get(f"/cards/{card.public_id}/").content.decode()

    assert f"/cards/{card.public_id}/change-plan/" in page
    assert f"/cards/{card.public_id}/refund/" in page


# --- Plan change -----------------------------------------------------------------------------

def test_it_shows_the_refund_then_refunds_exactly_that_after_payment(
        signed_in, bought, card, plan, bigger, now, frozen, django_capture_on_commit_callbacks):
    # given alice is on day 10 of her 5 GB plan with 1 GB used
    old_order = bought(plan, at=now)
    use(card, GB, at=now + timedelta(days=2))
    frozen.move_to(now + timedelta(days=10), tick=False)

    # when she chooses the 10 GB plan now
    choose = signed_in.get(f"/cards/{card.public_id}/change-plan/").content.decode()
    assert 'name="plan"' in choose and "europe-10gb-30d" in choose
    review = signed_in.get(f"/cards/{card.public_id}/change-plan/confirm/",
                           {"plan": bigger.code, "when": "now", "currency": "USD"})
    page = review.content.decode()
    # then she sees the refund before confirming: 12.00 × min(20/30, 4/5) = 8.00
    assert review.status_code == 200
    assert "$8.00" in page and "csrfmiddlewaretoken" in page
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]

    # when she confirms, she goes to the checkout, which shows the same amount
    response = signed_in.post(f"/cards/{card.public_id}/change-plan/confirm/",
                              {"plan": bigger.code, "when": "now", "currency": "USD",
                               "idempotency_key": key})
    order = Order.objects.get(replaces_period=old_order.period)
    assert response.status_code == 302 and response.url == f"/checkout/{order.public_id}/"
    checkout = signed_in.get(response.url).content.decode()
    assert "$8.00" in checkout and "$20.00" in checkout

    # and once paid, exactly 8.00 is refunded, the new plan runs, the old one ended
    order = pay_on_sandbox(order, now=now + timedelta(days=10, minutes=1),
                           capture=django_capture_on_commit_callbacks)
    assert order.period.state == PeriodState.ACTIVE
    old_order.refresh_from_db()
    assert old_order.period.state == PeriodState.REFUNDED
    assert old_order.payment.refunded_minor == 800
    assert old_order.status == OrderStatus.PARTIALLY_REFUNDED
    assert_ledger_holds()


def test_it_changes_the_next_renewal_when_the_change_is_at_period_end(
        signed_in, bought, card, plan, bigger, now):
    bought(plan, at=now)

    page = signed_in.get(f"/cards/{card.public_id}/change-plan/confirm/",
                         {"plan": bigger.code, "when": "at_period_end", "currency": "USD"})
    assert "Auto-renewal is off" in page.content.decode()
    key = page.content.decode().split('name="idempotency_key" value="')[1].split('"')[0]
    response = signed_in.post(f"/cards/{card.public_id}/change-plan/confirm/",
                              {"plan": bigger.code, "when": "at_period_end", "currency": "USD",
                               "idempotency_key": key}, follow=True)

    assert response.redirect_chain[-1][0] == f"/cards/{card.public_id}/"
    assert "auto-renewal will buy" in response.content.decode()
    assert RenewalSettings.objects.get(card=card).plan == bigger
    assert not Order.objects.filter(replaces_period__isnull=False).exists()


@pytest.mark.parametrize("query", [
    {"plan": "no-such-plan", "when": "now", "currency": "USD"},
    {"plan": "europe-10gb-30d", "when": "tomorrow", "currency": "USD"},
    {"plan": "europe-10gb-30d", "when": "now", "currency": "XXX"},
    {"plan": "europe-10gb-30d", "when": "now", "currency": "JPY"},
    {"plan": "europe-5gb-30d", "when": "now", "currency": "USD"},
    {"plan": "one-off", "when": "at_period_end", "currency": "USD"},
    {},
])
def test_it_explains_bad_choices_on_the_page(signed_in, bought, card, plan, bigger, make_plan,
                                             now, query):
    make_plan("one-off", renewable=False)
    bought(plan, at=now)

    response = signed_in.get(f"/cards/{card.public_id}/change-plan/confirm/", query)

    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_it_explains_that_a_card_without_a_plan_in_use_cannot_change_now(signed_in, card,
                                                                       bigger):
    response = signed_in.get(f"/cards/{card.public_id}/change-plan/confirm/",
                             {"plan": bigger.code, "when": "now", "currency": "USD"})

    assert response.status_code == 400 and "no plan in use" in response.content.decode()


def test_it_refuses_a_confirmation_without_its_form_key(signed_in, bought, card, plan, bigger,
                                                       now):
    bought(plan, at=now)

    response = signed_in.post(f"/cards/{card.public_id}/change-plan/confirm/",
                              {"plan": bigger.code, "when": "now", "currency": "USD"})

    assert response.status_code == 400 and "out of date" in response.content.decode()
    assert not Order.objects.filter(replaces_period__isnull=False).exists()


# --- Refunds ---------------------------------------------------------------------------------

def test_it_refunds_an_unused_plan_from_the_portal_once(signed_in, bought, card, plan, now,
                                                      django_capture_on_commit_callbacks):
    period = bought(plan, at=now).period
    listing = signed_in.get(f"/cards/{card.public_id}/refund/").content.decode()
    assert "refunded in full" in listing and "$12.00" in listing
    url = f"/cards/{card.public_id}/periods/{period.public_id}/refund/"
    assert url in listing
    page = signed_in.get(url).content.decode()
    assert "$12.00" in page and "csrfmiddlewaretoken" in page
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        first = signed_in.post(url, {"reason": "Trip cancelled"}, follow=True)
        second = signed_in.post(url, {"reason": "Trip cancelled"}, follow=True)

    assert "We refunded $12.00" in first.content.decode()
    assert second.status_code == 200
    assert RefundRequest.objects.get().amount_minor == 1200
    period.refresh_from_db()
    assert period.state == PeriodState.REFUNDED
    assert [m.subject for m in mail.outbox] == ["[simdesk] We refunded $12.00"]


def test_it_sends_a_used_plan_to_staff_from_the_portal(signed_in, bought, card, plan, now):
    period = bought(plan, at=now).period
    use(card, GB, at=now + timedelta(hours=1))

    response = signed_in.post(f"/cards/{card.public_id}/periods/{period.public_id}/refund/",
                              {"reason": ""}, follow=True)

    assert "sent to our staff" in response.content.decode()
    assert RefundRequest.objects.get().status == "pending"


def test_it_explains_an_overlong_reason_on_the_page(signed_in, bought, card, plan, now):
    period = bought(plan, at=now).period

    response = signed_in.post(f"/cards/{card.public_id}/periods/{period.public_id}/refund/",
                              {"reason": "x" * 1001})

    assert response.status_code == 400 and "under 1000 characters" in response.content.decode()
    assert not RefundRequest.objects.exists()


def test_it_explains_why_an_ended_plan_cannot_be_refunded(signed_in, bought, card, plan, now):
    from simdesk.cards.services import periods_advance

    period = bought(plan, at=now).period
    periods_advance(card=card, now=now + timedelta(days=31))

    response = signed_in.post(f"/cards/{card.public_id}/periods/{period.public_id}/refund/",
                              {"reason": ""})

    assert response.status_code == 400 and "already ended" in response.content.decode()


def test_it_shows_nobody_else_another_customers_plan(client, bob, bought, card, plan, now,
                                                     frozen, make_card):
    period = bought(plan, at=now).period
    bobs_card = make_card(owner=bob)
    client.force_login(bob)

    for url in (f"/cards/{card.public_id}/change-plan/",
                f"/cards/{card.public_id}/change-plan/confirm/?plan={plan.code}&when=now",
                f"/cards/{card.public_id}/refund/",
                f"/cards/{card.public_id}/periods/{period.public_id}/refund/",
                f"/cards/{bobs_card.public_id}/periods/{period.public_id}/refund/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/cards/{bobs_card.public_id}/periods/{period.public_id}/refund/",
                       {"reason": ""}).status_code == 404
    assert not RefundRequest.objects.exists()


def test_it_sends_a_visitor_to_sign_in(client, card):
    response = client.get(f"/cards/{card.public_id}/refund/")

    assert response.status_code == 302 and "login" in response.url
