"""PayPal as the contract suite drives it: the local PayPal peer (tests/payments/paypal/peer.py).

The peer is a real HTTP server on 127.0.0.1, started once per test process. The
customer approves at the peer's approve page and comes back to simdesk's return
page (which captures); the peer signs its webhooks with its RSA key and verifies
them when simdesk asks it to (verify-webhook-signature).
"""

import json
from decimal import Decimal

from simdesk.core.money import decimal_string_to_minor
from tests.payments.paypal.conftest import configure, local, visit_paypal
from tests.payments.paypal.peer import get_peer

from .base import GatewayDriver, Webhook


class Driver(GatewayDriver):
    name = "paypal"
    saved_methods = True

    def __init__(self):
        self.peer = get_peer()

    def configure(self, settings) -> None:
        configure(settings, self.peer)
        settings.PAYMENT_GATEWAYS = ["paypal"]
        self.peer.reset()

    def customer_pays(self, client, payment, start: str, *, outcome: str) -> None:
        payer = {"succeeded": "buyer", "declined": "declining"}[outcome]
        back = visit_paypal(start, payer=payer)
        # Back at simdesk, signed in as the payment's customer: the return page captures.
        client.force_login(payment.customer)
        response = client.get(local(back))
        assert response.status_code == 302, response.content.decode()[:500]

    def collect_webhooks(self) -> list[Webhook]:
        return self.peer.take_webhooks()

    def tamper(self, body: bytes, headers: dict[str, str]) -> Webhook:
        event = json.loads(body)
        resource = event["resource"]
        amount = resource.get("amount") or resource["purchase_units"][0]["amount"]
        amount["value"] = str(Decimal(amount["value"]) + 1)
        return json.dumps(event, separators=(",", ":")).encode(), headers

    def saved_method(self, customer, *, outcome: str) -> str:
        behaviour = {"succeeded": "buyer", "declined": "declining"}[outcome]
        # What PayPal's vault holds after the customer saved PayPal while paying.
        return self.peer.vault_create(customer=f"simdesk-{customer.pk}",
                                      email=customer.email, behaviour=behaviour)

    def charged_minor(self, payment) -> int:
        order = self.peer.orders[payment.gateway_payment_id]
        [capture] = order["purchase_units"][0]["payments"]["captures"]
        assert capture["status"] in ("COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED")
        amount = capture["amount"]
        return decimal_string_to_minor(amount["value"], amount["currency_code"])
