"""Stripe as the contract suite drives it: the local Stripe peer (localstripe) over real HTTP.

The customer's part runs through simdesk's own Stripe pay page: Stripe.js's step
(the card typed in becomes a PaymentMethod) is done through the peer's API, then
its id is POSTed to simdesk's confirm view, signed in as the payment's customer.
Webhooks are the ones the peer itself signs and sends; they are caught by a small
127.0.0.1 inbox server and handed to the suite, which POSTs them to simdesk.
"""

import json

import pytest

from tests.payments.stripe import local

from .base import GatewayDriver, Webhook


class Driver(GatewayDriver):
    name = "stripe"
    saved_methods = True

    def configure(self, settings) -> None:
        local.configure(settings)
        local.peer.register_webhook(local.inbox().url)
        self._handed: set[str] = set()

    def customer_pays(self, client, payment, start: str, *, outcome: str) -> None:
        card = {"succeeded": local.CARD_SUCCEEDS, "declined": local.CARD_DECLINED}[outcome]
        client.force_login(payment.customer)
        page = client.get(start)
        assert page.status_code == 200, page.content.decode()[:500]
        response = client.post(f"{start}/confirm",
                               {"payment_method": local.peer.payment_method(card)})
        assert response.status_code == 200, response.content.decode()[:500]
        expected = {"succeeded": "succeeded", "declined": "failed"}[outcome]
        assert response.json()["status"] == expected, response.json()

    def collect_webhooks(self) -> list[Webhook]:
        new = [event_id for event_id in local.peer.event_ids() if event_id not in self._handed]
        webhooks = local.inbox().take(new) if new else []
        self._handed.update(new)
        return webhooks

    def tamper(self, body: bytes, headers: dict[str, str]) -> Webhook:
        event = json.loads(body)
        event["data"]["object"]["amount"] += 1
        return json.dumps(event, indent=2, sort_keys=True).encode(), headers

    def saved_method(self, customer, *, outcome: str) -> str:
        card = {"succeeded": local.CARD_SUCCEEDS, "declined": local.CARD_DECLINED}[outcome]
        return local.peer.saved_method(card)

    def charged_minor(self, payment) -> int:
        intent = local.peer.api("GET", f"/v1/payment_intents/{payment.gateway_payment_id}")
        charge = intent.get("latest_charge") or {}
        if intent.get("status") != "succeeded" or not charge:
            pytest.fail(f"the peer has no succeeded charge for {payment.gateway_payment_id}: "
                        f"{intent.get('status')}")
        return charge["amount"]
