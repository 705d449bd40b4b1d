"""What the shared contract suite needs from each gateway's test driver.

The contract tests (``tests/payments/contract/test_contract.py``) speak only to
``PaymentGateway`` through the payments services, to simdesk's webhook endpoint
through the Django test client, and to a ``Driver`` for everything that happens
on the vendor's side: the customer at the vendor's page, the vendor sending its
webhooks, its record of what was charged. One driver per gateway lives in
``drivers/<name>.py`` and is called ``Driver``.

A webhook is ``(body, headers)``: the exact bytes the vendor sends and the HTTP
headers that matter for it (``Content-Type`` and the signature headers).
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simdesk.payments.models import Payment

Webhook = tuple[bytes, dict[str, str]]


class GatewayDriver(abc.ABC):
    """The vendor's side of a gateway, as the contract suite drives it."""

    #: The gateway's name in the registry (``PAYMENT_GATEWAYS``) and in ``/webhooks/<name>/``.
    name: str = ""
    #: Whether the gateway can charge a saved method off-session (renewals).
    saved_methods: bool = False

    @abc.abstractmethod
    def configure(self, settings) -> None:
        """Point the pytest-django ``settings`` at this gateway's peer.

        Set its keys and ``*_API_BASE`` and make ``PAYMENT_GATEWAYS`` contain
        ``name``; start the peer if needed (a session-scoped peer kept at module
        level is fine) and forget webhooks left from an earlier test. Called once
        per test, before anything else.
        """

    @abc.abstractmethod
    def customer_pays(self, client, payment: Payment, start: str, *, outcome: str) -> None:
        """Do what the customer does at the gateway's page for ``payment``.

        ``start`` is the address ``payment_start`` sent the browser to;
        ``outcome`` is ``"succeeded"`` or ``"declined"``. Includes any step back
        at simdesk (e.g. PayPal's capture when the customer returns) through the
        Django test ``client``. Webhooks are not delivered here: the suite asks
        for them with ``collect_webhooks`` / ``deliver_webhooks``.
        """

    @abc.abstractmethod
    def collect_webhooks(self) -> list[Webhook]:
        """The webhooks the vendor sends about what happened since the last call.

        Each signed exactly as the vendor signs (by the peer itself where it
        can). Calling again returns only newer ones; nothing is POSTed here.
        """

    def deliver_webhooks(self, client) -> list:
        """POST each webhook of ``collect_webhooks`` to ``/webhooks/<name>/``; the responses."""
        return [self.post_webhook(client, webhook) for webhook in self.collect_webhooks()]

    def post_webhook(self, client, webhook: Webhook):
        """POST one webhook to simdesk's endpoint for this gateway, as the vendor would."""
        body, headers = webhook
        headers = dict(headers)
        content_type = headers.pop("Content-Type", None) or headers.pop(
            "content-type", "application/json")
        return client.post(f"/webhooks/{self.name}/", data=body, content_type=content_type,
                           headers=headers)

    @abc.abstractmethod
    def tamper(self, body: bytes, headers: dict[str, str]) -> Webhook:
        """The same webhook with its amount changed and its signature kept (must be rejected)."""

    @abc.abstractmethod
    def saved_method(self, customer, *, outcome: str) -> str:
        """A token of a method saved at the vendor for ``customer`` (a ``User``).

        Charged off-session with ``charge_saved_method`` it ends ``outcome``:
        ``"succeeded"`` or ``"declined"``. The suite stores it as the customer's
        ``SavedPaymentMethod`` for this gateway. Raise ``pytest.skip`` when the
        gateway has no saved methods (``saved_methods = False``).
        """

    @abc.abstractmethod
    def charged_minor(self, payment: Payment) -> int:
        """What the peer recorded as charged for ``payment``, in minor units of its currency.

        Read from the peer's own record (e.g. "9.99" → 999, "1200" JPY → 1200),
        to check the gateway's amount conversion.
        """

    def currencies(self) -> list[str]:
        """The currencies the amount test charges in: a zero-decimal one and a two-decimal one.

        Narrow it only for a gateway that cannot accept one of them, and say why.
        """
        return ["USD", "JPY"]
