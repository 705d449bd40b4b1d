"""Download my data: the customer's own data, all of it, nothing of anyone else's, no secrets."""

import json

from django.core.serializers.json import DjangoJSONEncoder

from simdesk.notifications.models import Notification
from simdesk.privacy.export import customer_data_export


def _text(data) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)


def test_it_exports_the_profile_and_preferences(alices, now):
    alice = alices.user
    alice.language, alice.time_zone, alice.currency = "zh-hans", "Asia/Shanghai", "CNY"
    alice.save()

    data = customer_data_export(customer=alice, now=now)

    profile = data["profile"]
    assert profile["email"] == "alice@example.com"
    assert profile["id"] == str(alice.public_id)
    assert profile["preferences"] == {"language": "zh-hans", "time_zone": "Asia/Shanghai",
                                      "currency": "CNY"}
    assert profile["email_addresses"] == [
        {"email": "alice@example.com", "verified": True, "primary": True}]
    assert profile["two_factor_methods"] == ["totp"]
    assert data["generated_at"] == now.isoformat()


def test_it_exports_cards_with_periods_renewal_and_daily_usage(alices, now):
    data = customer_data_export(customer=alices.user, now=now)

    cards = {card["iccid"]: card for card in data["cards"]}
    assert set(cards) == {alices.card.iccid, alices.esim.iccid}
    card = cards[alices.card.iccid]
    assert card["label"] == "alice's phone"
    [period] = card["periods"]
    assert period["id"] == str(alices.period.public_id)
    assert period["total_bytes"] == 5 * 10**9
    assert period["remaining_bytes"] == 5 * 10**9 - 350_000_000
    assert card["renewal"]["enabled"] is True
    assert card["renewal"]["plan_code"] == "europe-5gb-30d"
    assert card["renewal"]["payment_method_id"] == str(alices.method.public_id)
    assert [day["used_bytes"] for day in card["usage_by_day"]] == [100_000_000, 250_000_000]
    assert cards[alices.esim.iccid]["periods"] == []


def test_it_exports_orders_and_payments_in_minor_units(alices, now):
    data = customer_data_export(customer=alices.user, now=now)

    [order] = data["orders"]
    assert order["id"] == str(alices.order.public_id)
    assert (order["total_minor"], order["currency"], order["status"]) == (1200, "USD",
                                                                          "fulfilled")
    [payment] = data["payments"]
    assert (payment["amount_minor"], payment["currency"], payment["status"]) == (
        1200, "USD", "succeeded")
    assert payment["for"] == f"order:{alices.order.public_id}"
    assert payment["paid_at"] is not None
    [method] = data["saved_payment_methods"]
    assert method == {"id": str(alices.method.public_id), "gateway": "sandbox",
                      "label": "Visa 4242", "saved_at": method["saved_at"], "removed_at": None}


def test_it_exports_sent_messages_and_api_tokens(alices, now):
    data = customer_data_export(customer=alices.user, now=now)

    kinds = {n["kind"] for n in data["notifications"]}
    assert kinds == set(Notification.objects.filter(user=alices.user)
                        .values_list("kind", flat=True))
    assert "order_receipt" in kinds
    [token] = data["api_tokens"]
    assert token["name"] == "alice script"
    assert token["token"].endswith("_…")
    assert token["last_used_at"] is None


def test_it_contains_nothing_of_another_customer(alices, bobs, now):
    text = _text(customer_data_export(customer=alices.user, now=now))

    for value in (bobs.user.email, bobs.card.iccid, bobs.esim.iccid, str(bobs.order.public_id),
                  str(bobs.period.public_id), str(bobs.method.public_id), "bob script",
                  str(bobs.user.public_id), "bob's phone"):
        assert value not in text


def test_it_contains_no_secrets(alices, now):
    alice = alices.user
    text = _text(customer_data_export(customer=alice, now=now))

    payment = alices.order.payment
    payment.refresh_from_db()
    for secret in (alice.password, alices.token_plaintext, alices.token_plaintext.split("_")[2],
                   alice.access_tokens.get().token_hash, alices.method.token,
                   payment.idempotency_key, payment.gateway_payment_id,
                   alices.card.claim_code, "TOTPSECRETALICE"):
        assert secret and secret not in text
    assert "password" not in text


def test_it_leaves_out_what_the_card_had_before_the_customer_added_it(alices, now):
    # alice added her card five days ago: usage before that was someone else's.
    from datetime import timedelta

    card = alices.card
    card.claimed_at = now - timedelta(days=1, hours=2)
    card.save()

    data = customer_data_export(customer=alices.user, now=now)

    [exported] = [c for c in data["cards"] if c["iccid"] == card.iccid]
    assert [day["used_bytes"] for day in exported["usage_by_day"]] == [250_000_000]


def test_it_says_when_support_tickets_are_not_available(alices, now, monkeypatch):
    from simdesk.privacy import export

    monkeypatch.setattr(export, "_tickets_selector", lambda: None)

    assert customer_data_export(customer=alices.user, now=now)["support_tickets"] is None


def test_it_exports_support_tickets_with_their_conversation(alices, bobs, now):
    import pytest

    tickets = pytest.importorskip("simdesk.support.services.tickets")
    tickets.ticket_open(customer=alices.user, subject="No signal in Lyon",
                        body="My card shows no bars.", card=alices.card, now=now)
    tickets.ticket_open(customer=bobs.user, subject="Bob's question", body="Bob here.",
                        now=now)

    data = customer_data_export(customer=alices.user, now=now)

    [ticket] = data["support_tickets"]
    assert ticket["subject"] == "No signal in Lyon"
    assert ticket["card_iccid"] == alices.card.iccid
    assert ticket["messages"] == [{"from": "you", "body": "My card shows no bars.",
                                   "at": now.isoformat()}]
    assert "Bob" not in _text(data)


def test_it_exports_refund_requests(alices, bobs, now):
    from simdesk.orders.services.refund_requests import refund_request_create

    refund_request_create(customer=alices.user, period=alices.period,
                          reason="Moved back home early", now=now)
    refund_request_create(customer=bobs.user, period=bobs.period, reason="Bob's reason",
                          now=now)

    [request] = customer_data_export(customer=alices.user, now=now)["refund_requests"]

    assert request["reason"] == "Moved back home early"
    assert request["order_id"] == str(alices.order.public_id)
    assert (request["status"], request["currency"], request["paid_minor"]) == (
        "pending", "USD", 1200)
