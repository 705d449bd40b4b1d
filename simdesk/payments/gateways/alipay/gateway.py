"""Alipay: page pay on desktops, WAP pay on phones, one-off payments only.

How a payment goes:
1. ``start_payment`` creates nothing at Alipay (its cashier creates the trade when
   the customer arrives). It fixes the trade's ``out_trade_no`` (derived from the
   payment's idempotency key, so starting twice is the same trade) and sends the
   browser to simdesk's own ``/payments/alipay/pay/<payment id>``.
2. That view (views.py) looks at the browser — ``?device=phone|desktop`` if the
   checkout knows, else the User-Agent — and redirects to a freshly signed
   ``alipay.trade.page.pay`` or ``alipay.trade.wap.pay`` address. Signing at the
   last moment keeps Alipay's request timestamp fresh however long ago the
   checkout started.
3. Alipay POSTs its asynchronous notify to ``/webhooks/alipay/`` (``parse_webhook``;
   answered with the plain text ``success``) and sends the customer back to
   ``/payments/alipay/return/`` with signed parameters. The return alone never
   marks anything paid: it triggers an ``alipay.trade.query`` (reconciliation).

Currencies: CNY trades are plain domestic trades. Any other currency Alipay prices
cross-border trades in is sent as ``trans_currency`` with ``total_amount`` in that
currency (the merchant needs Alipay's cross-border contract for it); Alipay's
notify then carries the same ``trans_currency``. Other currencies are refused
before the customer leaves simdesk.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import ServiceError
from simdesk.core.money import decimal_string_to_minor, minor_to_decimal_string
from simdesk.payments.models import Refund

from ..base import (
    ChargeResult,
    GatewayError,
    GatewayEvent,
    Outcome,
    PaymentGateway,
    RefundResult,
    StartResult,
    StatusResult,
    WebhookMalformedError,
    WebhookSignatureError,
    checked_return_url,
)
from .client import BEIJING, TIMESTAMP_FORMAT, AlipayCallFailed, AlipayClient, credentials

if TYPE_CHECKING:
    from simdesk.payments.models import Payment

DOMESTIC_CURRENCY = "CNY"
#: Currencies Alipay accepts as ``trans_currency`` (the price's currency) of a
#: cross-border trade.
CROSS_BORDER_CURRENCIES = frozenset({
    "USD", "EUR", "GBP", "HKD", "JPY", "SGD", "AUD", "CAD", "NZD", "CHF", "KRW", "THB",
    "SEK", "DKK", "NOK", "MYR",
})

TRADE_OUTCOMES = {
    "WAIT_BUYER_PAY": Outcome.PENDING,
    "TRADE_SUCCESS": Outcome.SUCCEEDED,
    "TRADE_FINISHED": Outcome.SUCCEEDED,  # paid, and past the refund period
    "TRADE_CLOSED": Outcome.FAILED,  # closed unpaid (timeout or the customer gave up)
}
#: A closed trade is reported with simdesk's "cancelled" reason, which customers read.
CLOSED_FAILURE_CODE = "cancelled"

#: What Alipay's subject may not contain.
SUBJECT_FORBIDDEN = re.compile(r"[/=&\\\x00-\x1f]")
OUT_TRADE_NO = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def alipay_id(prefix: str, key: str) -> str:
    """A stable Alipay id for one of our idempotency keys: ``[A-Za-z0-9_]``, 42 characters.

    Alipay ids allow letters, digits and underscores up to 64 characters; our keys
    may hold ``:`` and be longer, so the id is a digest of the key.
    """
    return f"{prefix}{hashlib.sha256(key.encode('utf-8')).hexdigest()[:40]}"


def out_trade_no_for(payment: Payment) -> str:
    return alipay_id("sd", payment.idempotency_key)


def _beijing_time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=BEIJING).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _trade_currency(answer: Mapping[str, str]) -> str:
    return answer.get("trans_currency") or DOMESTIC_CURRENCY


class AlipayGateway(PaymentGateway):
    name = "alipay"
    label = _("Alipay")
    # One-off payments only: no agreement (auto-debit) flow is implemented.
    supports_saved_methods = False

    @classmethod
    def is_configured(cls) -> bool:
        """The app id is set and both keys are present and load as RSA keys."""
        return credentials() is not None

    @staticmethod
    def supports_currency(currency: str) -> bool:
        return currency == DOMESTIC_CURRENCY or currency in CROSS_BORDER_CURRENCIES

    def mode(self) -> str:
        return "test" if getattr(settings, "ALIPAY_SANDBOX", False) else "live"

    def webhook_ack(self, *, created: bool) -> tuple[str, str] | None:
        # Alipay resends a notify until it reads exactly this (duplicates too).
        return "success", "text/plain"

    # --- Paying ------------------------------------------------------------------------

    def start_payment(self, *, payment: Payment, return_url: str,
                      save_method: bool) -> StartResult:
        """Fix the trade's id and send the customer to simdesk's pay redirect.

        ``save_method`` is ignored: Alipay payments are one-off (the checkout reads
        ``supports_saved_methods`` and does not offer it). Safe to call twice.
        """
        if not self.supports_currency(payment.currency):
            raise ServiceError(
                _("Alipay cannot take payments in %(currency)s. Choose another payment "
                  "method.") % {"currency": payment.currency},
                code="currency_not_supported")
        checked_return_url(return_url)
        return StartResult(
            redirect_url=reverse("alipay:pay", kwargs={"payment_id": payment.public_id}),
            gateway_payment_id=out_trade_no_for(payment),
        )

    def pay_url(self, *, payment: Payment, phone: bool) -> str:
        """A freshly signed address of Alipay's cashier for ``payment``."""
        if not self.supports_currency(payment.currency):
            raise GatewayError(detail=f"alipay cannot take {payment.currency}")
        biz = {}
        if payment.currency != DOMESTIC_CURRENCY:
            biz["trans_currency"] = payment.currency
        if phone and payment.return_url:
            # Where WAP pay's "back" leads when the customer leaves without paying.
            biz["quit_url"] = (settings.SITE_URL + payment.return_url
                               if payment.return_url.startswith("/") else payment.return_url)
        subject = SUBJECT_FORBIDDEN.sub(" ", f"{settings.SITE_NAME} {payment.reference}")
        return AlipayClient.from_settings().pay_url(
            phone=phone, subject=subject[:256], out_trade_no=out_trade_no_for(payment),
            total_amount=minor_to_decimal_string(payment.amount_minor, payment.currency),
            return_url=settings.SITE_URL + reverse("alipay:return"),
            notify_url=settings.SITE_URL + reverse("payments-webhook",
                                                   kwargs={"gateway": self.name}),
            **biz)

    # --- What Alipay tells us ----------------------------------------------------------

    def verified_params(self, params: Mapping[str, str]) -> dict[str, str]:
        """``params`` (a notify or a return) if Alipay signed them for our app.

        Raises WebhookSignatureError for a missing or wrong signature, or an app id
        that is not ours.
        """
        client = AlipayClient.from_settings()
        params = dict(params)
        if not client.verify(params):
            raise WebhookSignatureError("the RSA2 signature does not verify with Alipay's "
                                        "public key")
        if params.get("app_id") != client.app_id:
            raise WebhookSignatureError(f"signed for app {params.get('app_id')!r}, not ours")
        return params

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes,
                      now: datetime) -> GatewayEvent:
        """Verify and read one asynchronous notify (a form-encoded POST).

        One notify_id is one event (Alipay resends the same notify until answered
        ``success``). A notify about a refund (it carries ``gmt_refund``) moves no
        payment: the refund is already recorded by ``payment_refund``.
        """
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                              strict_parsing=True)
        except (UnicodeDecodeError, ValueError) as error:
            raise WebhookMalformedError(f"not a form-encoded notify: {error}") from None
        params = dict(pairs)
        if len(params) != len(pairs):
            raise WebhookMalformedError("a parameter appears twice")
        if "sign" not in params:
            raise WebhookSignatureError("the notify carries no sign")
        params = self.verified_params(params)
        notify_id = params.get("notify_id", "")
        out_trade_no = params.get("out_trade_no", "")
        status = params.get("trade_status", "")
        if not notify_id or not OUT_TRADE_NO.match(out_trade_no) or status not in TRADE_OUTCOMES:
            raise WebhookMalformedError(
                f"notify lacks notify_id, out_trade_no or a known trade_status ({status!r})")
        currency = _trade_currency(params)
        try:
            amount_minor = decimal_string_to_minor(params.get("total_amount", ""), currency)
            if amount_minor <= 0:
                raise ValueError(f"{amount_minor} is not a positive amount")
        except (ValueError, KeyError, TypeError) as error:
            # An unknown currency makes babel raise too: either way not an amount we read.
            raise WebhookMalformedError(f"bad total_amount: {error}") from None
        # Alipay reports refunds with the same notify; they carry gmt_refund and the
        # total refunded so far (refund_fee).
        refund = bool(params.get("gmt_refund")) or params.get("refund_fee", "") not in (
            "", "0", "0.0", "0.00")
        outcome = None if refund else TRADE_OUTCOMES[status]
        return GatewayEvent(
            event_id=notify_id,
            type=f"{params.get('notify_type') or 'trade_status_sync'}:{status}"
                 + (":refund" if refund else ""),
            gateway_payment_id=out_trade_no,
            outcome=outcome,
            failure_code=CLOSED_FAILURE_CODE if outcome == Outcome.FAILED else "",
            amount_minor=amount_minor,
            currency=currency,
            occurred_at=_beijing_time(params.get("gmt_payment") or params.get("notify_time")),
            payload={key: value for key, value in params.items() if key != "sign"},
        )

    # --- Server-to-server --------------------------------------------------------------

    def charge_saved_method(self, *, payment: Payment, method_token: str) -> ChargeResult:
        raise GatewayError(detail="alipay has no saved methods: only one-off payments, "
                                  "paid by the customer at Alipay's cashier")

    def refund(self, *, payment: Payment, amount_minor: int,
               idempotency_key: str) -> RefundResult:
        """alipay.trade.refund; ``out_request_no`` (from the key) makes it idempotent at Alipay.

        Asked again with the key of a refund simdesk already recorded, Alipay answers
        with that refund (no money moves), so its amount still counts as "left" here.
        Alipay checks what is left of the trade itself too.
        """
        recorded = Refund.objects.filter(payment_id=payment.pk,
                                         idempotency_key=idempotency_key).first()
        left = payment.amount_minor - payment.refunded_minor + (
            recorded.amount_minor if recorded is not None else 0)
        if not isinstance(amount_minor, int) or amount_minor <= 0 or amount_minor > left:
            raise GatewayError(detail=f"refund of {amount_minor} {payment.currency} on "
                                      f"{payment.public_id}: only {left} is left")
        out_request_no = alipay_id("rf", idempotency_key)
        biz = {}
        if payment.currency != DOMESTIC_CURRENCY:
            biz["refund_currency"] = payment.currency
        answer = AlipayClient.from_settings().trade_refund(
            out_trade_no=out_trade_no_for(payment), out_request_no=out_request_no,
            refund_amount=minor_to_decimal_string(amount_minor, payment.currency), **biz)
        if answer.get("out_trade_no") != out_trade_no_for(payment):
            raise GatewayError(detail=f"refund answer names trade {answer.get('out_trade_no')!r}")
        return RefundResult(refund_id=out_request_no, amount_minor=amount_minor)

    def query_status(self, *, payment: Payment) -> StatusResult:
        """alipay.trade.query. A trade Alipay does not know yet (the customer never
        reached the cashier) is pending. ``refunded_minor`` stays 0: the trade query
        does not report refunds (simdesk records its own)."""
        out_trade_no = out_trade_no_for(payment)
        try:
            answer = AlipayClient.from_settings().trade_query(out_trade_no=out_trade_no)
        except AlipayCallFailed as failed:
            if failed.sub_code == "ACQ.TRADE_NOT_EXIST":
                return StatusResult(outcome=Outcome.PENDING)
            raise
        status = answer.get("trade_status")
        if answer.get("out_trade_no") != out_trade_no or status not in TRADE_OUTCOMES:
            raise GatewayError(detail=f"trade query for {out_trade_no}: unexpected answer "
                                      f"{answer.get('out_trade_no')!r} {status!r}")
        try:
            amount = decimal_string_to_minor(answer.get("total_amount", ""),
                                             _trade_currency(answer))
        except (ValueError, KeyError, TypeError):
            amount = None
        if amount != payment.amount_minor or _trade_currency(answer) != payment.currency:
            # Never let a trade for another amount settle this payment: staff look.
            raise GatewayError(detail=f"trade {out_trade_no} is for {answer.get('total_amount')}"
                                      f" {_trade_currency(answer)}, payment {payment.public_id}"
                                      f" for {payment.amount_minor} {payment.currency}")
        outcome = TRADE_OUTCOMES[status]
        return StatusResult(outcome=outcome,
                            failure_code=CLOSED_FAILURE_CODE if outcome == Outcome.FAILED else "")
