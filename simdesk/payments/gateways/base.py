"""The one interface every payment vendor implements, its result types and its errors.

Each vendor lives in its own folder (``sandbox/``, later ``stripe/``…) behind
``PaymentGateway``. Services in ``simdesk.payments`` call only this interface,
so the same checkout, webhook and renewal code runs whichever vendor is used.

Error vocabulary:
- ``PaymentDeclined``: the customer's bank (or the customer) said no. It carries
  a translated reason the customer can act on ("Your card was declined…").
- ``GatewayError``: our side or the gateway failed (timeout, bad answer, unknown
  method). Nothing is known about the money; retry later or reconcile.
- ``WebhookRejected`` (``WebhookSignatureError``, ``WebhookMalformedError``): an
  inbound webhook that must not be trusted; answered with 400, nothing stored.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import ServiceError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from simdesk.payments.models import Payment


class Outcome(models.TextChoices):
    """What a gateway says happened to a payment (mapped onto ``PaymentStatus``)."""

    PENDING = "pending", _("Pending")
    REQUIRES_ACTION = "requires_action", _("Needs the customer's action")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


# --- Errors ------------------------------------------------------------------------------


class PaymentDeclined(ServiceError):
    """The customer's bank or the customer refused; ``message`` is for the customer."""

    code = "payment_declined"
    status = 402

    def __init__(self, message=None, *, failure_code: str = "card_declined",
                 gateway_payment_id: str = ""):
        super().__init__(message or _("Your card was declined. Try another card or "
                                      "contact your bank."))
        self.failure_code = failure_code
        self.gateway_payment_id = gateway_payment_id


class GatewayError(ServiceError):
    """The gateway (or our connection to it) failed; the outcome of the payment is unknown."""

    code = "gateway_error"
    status = 502

    def __init__(self, message=None, *, detail: str = ""):
        super().__init__(message or _("The payment service did not answer. Nothing was "
                                      "charged twice; please try again in a few minutes."))
        # For logs: carries ids and the vendor's words, never shown to customers.
        self.detail = detail


class WebhookRejected(Exception):
    """An inbound webhook that is not to be trusted or understood (answered with 400)."""

    code = "webhook_rejected"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class WebhookSignatureError(WebhookRejected):
    """Missing or wrong signature, or a timestamp outside the replay window."""

    code = "bad_signature"


class WebhookMalformedError(WebhookRejected):
    """Signed correctly but not a payload this gateway understands."""

    code = "malformed"


# --- Shared by the vendors ---------------------------------------------------------------


def checked_return_url(url: str) -> str:
    """``url`` if it is an address on this site (or empty); a ServiceError otherwise.

    Every vendor sends the customer back to the payment's return address: checked when
    the payment starts, no gateway page can become an open redirect.
    """
    if not url:
        return ""
    allowed = {*settings.ALLOWED_HOSTS, settings.SITE_URL.split("://", 1)[-1].split("/")[0]}
    if not url_has_allowed_host_and_scheme(url, allowed_hosts=allowed):
        raise ServiceError(_("The return address must be on this site."),
                           code="invalid_return_url")
    return url


# --- Results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StartResult:
    """Where to send the customer's browser, and the gateway's id of the payment."""

    redirect_url: str
    gateway_payment_id: str


@dataclass(frozen=True)
class SavedMethod:
    """A payment method the gateway kept for off-session charges (renewals)."""

    token: str
    label: str


@dataclass(frozen=True)
class GatewayEvent:
    """A verified inbound webhook, in simdesk's words."""

    event_id: str
    type: str
    gateway_payment_id: str
    outcome: Outcome | None  # None: an event that does not move a payment
    failure_code: str = ""
    failure_message: str = ""
    saved_method_token: str = ""
    saved_method_label: str = ""
    amount_minor: int | None = None
    currency: str = ""
    occurred_at: datetime | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChargeResult:
    """An off-session charge the gateway accepted (succeeded) or parked (requires_action).

    A decline is raised as ``PaymentDeclined``, never returned.
    """

    outcome: Outcome
    gateway_payment_id: str
    redirect_url: str = ""  # for requires_action: where the customer can authenticate


@dataclass(frozen=True)
class RefundResult:
    refund_id: str
    amount_minor: int


@dataclass(frozen=True)
class StatusResult:
    """The gateway's current view of a payment (for reconciliation)."""

    outcome: Outcome
    failure_code: str = ""
    failure_message: str = ""
    saved_method_token: str = ""
    saved_method_label: str = ""
    refunded_minor: int = 0


# --- The interface -----------------------------------------------------------------------


class PaymentGateway(abc.ABC):
    """One payment vendor. Instances are cheap and stateless; state lives in the database."""

    name: str = ""
    #: Shown to customers choosing how to pay.
    label = ""
    #: Whether renewals can charge a method this gateway saved (off-session charges).
    supports_saved_methods = True

    @classmethod
    def is_configured(cls) -> bool:
        """Whether this installation's settings hold what the gateway needs (its keys).

        A gateway that is not configured is never offered, whatever ``PAYMENT_GATEWAYS`` says.
        By default: every setting the registry lists for it (``GATEWAY_SETTINGS``) is set.
        """
        from . import gateway_missing_settings  # the registry imports this module

        return not gateway_missing_settings(cls.name)

    def supports_currency(self, currency: str) -> bool:
        """Whether this gateway can take a payment in ``currency`` (ISO 4217)."""
        return True

    def mode(self) -> str:
        """``"live"`` when real money moves, ``"test"`` for a vendor's test environment."""
        return "test"

    def webhook_ack(self, *, created: bool) -> tuple[str, str] | None:
        """The body and content type a vendor expects as the answer to an accepted webhook.

        ``None`` (the default) answers with simdesk's JSON receipt.
        """
        return None

    @abc.abstractmethod
    def start_payment(self, *, payment: Payment, return_url: str,
                      save_method: bool) -> StartResult:
        """Create the payment at the gateway; the customer continues at ``redirect_url``.

        Must be idempotent by ``payment.idempotency_key``.
        """

    @abc.abstractmethod
    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes,
                      now: datetime) -> GatewayEvent:
        """Verify and decode one inbound webhook; raise ``WebhookRejected`` if untrusted."""

    @abc.abstractmethod
    def charge_saved_method(self, *, payment: Payment, method_token: str) -> ChargeResult:
        """Charge a saved method off-session, synchronously.

        Raises ``PaymentDeclined`` on a decline and ``GatewayError`` on failure.
        Must be idempotent by ``payment.idempotency_key``.
        """

    @abc.abstractmethod
    def refund(self, *, payment: Payment, amount_minor: int,
               idempotency_key: str) -> RefundResult:
        """Refund part or all of a succeeded payment; idempotent by ``idempotency_key``."""

    @abc.abstractmethod
    def query_status(self, *, payment: Payment) -> StatusResult:
        """Ask the gateway what happened to ``payment`` (reconciliation)."""
