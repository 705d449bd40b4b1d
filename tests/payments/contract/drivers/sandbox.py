"""The built-in sandbox as the contract suite drives it.

The sandbox is its own peer: its pay page runs inside simdesk and it keeps its
state in simdesk's database. Its webhooks are captured by ``CapturingTransport``
(the sandbox "sends" them, the driver hands them over to the suite), so the
suite decides when, and how many times, they arrive.
"""

import json
import secrets

import pytest

from simdesk.core.clock import utcnow
from simdesk.payments.gateways.sandbox.models import SandboxCharge, SandboxPaymentMethod
from simdesk.payments.gateways.sandbox.transport import WebhookTransport

from .base import GatewayDriver, Webhook

SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
# Saved, then every off-session charge with it is declined.
DECLINED_WHEN_SAVED = "4000000000000341"

_sent: list[Webhook] = []


class CapturingTransport(WebhookTransport):
    """Takes the sandbox's outgoing webhooks (answering 200) and keeps them for the driver."""

    def post(self, *, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        _sent.append((body, dict(headers)))
        return 200


class Driver(GatewayDriver):
    name = "sandbox"
    saved_methods = True

    def configure(self, settings) -> None:
        settings.PAYMENT_GATEWAYS = ["sandbox"]
        settings.SANDBOX_WEBHOOK_TRANSPORT = f"{__name__}.CapturingTransport"
        settings.SANDBOX_DUPLICATE_DELIVERY = 0.0
        _sent.clear()

    def customer_pays(self, client, payment, start: str, *, outcome: str) -> None:
        card = {"succeeded": SUCCEEDS, "declined": DECLINED}[outcome]
        response = client.post(start, {"action": "pay", "card_number": card})
        assert response.status_code == 302, response.content.decode()[:500]

    def collect_webhooks(self) -> list[Webhook]:
        webhooks = list(_sent)
        _sent.clear()
        return webhooks

    def tamper(self, body: bytes, headers: dict[str, str]) -> Webhook:
        event = json.loads(body)
        event["data"]["amount_minor"] += 1
        return json.dumps(event, separators=(",", ":"), sort_keys=True).encode(), headers

    def saved_method(self, customer, *, outcome: str) -> str:
        card = {"succeeded": SUCCEEDS, "declined": DECLINED_WHEN_SAVED}[outcome]
        # What the sandbox keeps after the customer ticked "save" and paid with ``card``.
        method = SandboxPaymentMethod.objects.create(
            token=f"sbxpm_{secrets.token_hex(12)}", customer_ref=str(customer.pk),
            test_card=card, label=f"Visa •••• {card[-4:]}", created_at=utcnow())
        return method.token

    def charged_minor(self, payment) -> int:
        charge = SandboxCharge.objects.filter(idempotency_key=payment.idempotency_key).first()
        if charge is None:
            pytest.fail(f"the sandbox has no charge for payment {payment.public_id}")
        return charge.amount_minor
