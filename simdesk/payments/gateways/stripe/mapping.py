"""Stripe's objects in simdesk's words: amounts, statuses, decline codes, saved cards.

Plain functions over the dicts Stripe sends (a PaymentIntent, its
``last_payment_error``, a PaymentMethod), used by the gateway for API answers
and webhooks alike, so both read Stripe the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from simdesk.core.money import currency_exponent

from ..base import GatewayError, Outcome, StatusResult

#: Currencies whose Stripe amounts do not have two decimals (Stripe's list).
STRIPE_ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG",
                                 "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"})
STRIPE_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

BRANDS = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express",
          "discover": "Discover", "jcb": "JCB", "diners": "Diners Club",
          "unionpay": "UnionPay", "cartes_bancaires": "Cartes Bancaires", "eftpos_au": "eftpos"}

PAYMENT_METHOD_RE = re.compile(r"^pm_[A-Za-z0-9_]{1,200}$")
TOKEN_RE = re.compile(r"^(cus_[A-Za-z0-9_]{1,200})/(pm_[A-Za-z0-9_]{1,200})$")

# Stripe's decline codes, in words the customer can act on (others: "declined").
_INSUFFICIENT = {"insufficient_funds"}
_EXPIRED = {"expired_card"}
_DETAILS_WRONG = {"incorrect_cvc", "invalid_cvc", "incorrect_number", "invalid_number",
                  "invalid_expiry_month", "invalid_expiry_year", "incorrect_zip"}
_AUTHENTICATION_FAILED = {"payment_intent_authentication_failure", "authentication_failed"}


def stripe_amount(amount_minor: int, currency: str) -> int:
    """Stripe's ``amount`` for simdesk's minor units: the same integer, when both agree on
    the currency's digits (refused otherwise, rather than charging 100 times too much)."""
    stripe_digits = (0 if currency in STRIPE_ZERO_DECIMAL
                     else 3 if currency in STRIPE_THREE_DECIMAL else 2)
    if currency_exponent(currency) != stripe_digits:
        raise GatewayError(detail=f"stripe and simdesk disagree on the decimals of {currency}")
    return amount_minor


def failure_for(code: str, decline_code: str = "") -> tuple[str, Any]:
    """simdesk's failure code and the customer's message for Stripe's error codes."""
    codes = {code, decline_code}
    if codes & _INSUFFICIENT:
        return "insufficient_funds", _("Your card has insufficient funds. Try another card.")
    if codes & _AUTHENTICATION_FAILED:
        return "authentication_failed", _("The card could not be authenticated. Try again "
                                          "or use another card.")
    if "authentication_required" in codes:
        return "authentication_required", _("Your bank asks you to confirm this payment.")
    if codes & _EXPIRED:
        return "card_declined", _("Your card has expired. Try another card.")
    if codes & _DETAILS_WRONG:
        return "card_declined", _("The card details are not right. Check them or try "
                                  "another card.")
    return "card_declined", _("Your card was declined. Try another card or contact your bank.")


def stripe_id(value: Any) -> str:
    """An id whether Stripe sent the object expanded or not."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def method_label(method: Mapping[str, Any]) -> str:
    card = method.get("card") or {}
    brand = BRANDS.get(str(card.get("brand") or ""), str(card.get("brand") or "").title())
    last4 = str(card.get("last4") or "")
    return f"{brand or 'Card'} •••• {last4}".strip()


def saved_method_of(intent: Mapping[str, Any], *, label: str = "") -> tuple[str, str]:
    """The token of the method a succeeded intent saved (``setup_future_usage``), or ""."""
    customer = stripe_id(intent.get("customer"))
    method = stripe_id(intent.get("payment_method"))
    if not (intent.get("setup_future_usage") and customer and method):
        return "", ""
    pm = intent.get("payment_method")
    if not label and isinstance(pm, Mapping):
        label = method_label(pm)
    return f"{customer}/{method}", label


def status_of(intent: Mapping[str, Any]) -> StatusResult:
    """simdesk's view of a PaymentIntent (expanded ``payment_method``/``latest_charge`` help)."""
    status = intent.get("status")
    error = intent.get("last_payment_error") or {}
    charge = intent.get("latest_charge")
    refunded = charge.get("amount_refunded", 0) if isinstance(charge, Mapping) else 0
    if status == "succeeded":
        token, label = saved_method_of(intent)
        return StatusResult(outcome=Outcome.SUCCEEDED, saved_method_token=token,
                            saved_method_label=label, refunded_minor=int(refunded or 0))
    if status == "canceled":
        return StatusResult(outcome=Outcome.CANCELLED, failure_code="cancelled")
    if status == "requires_action":
        return StatusResult(outcome=Outcome.REQUIRES_ACTION)
    if status == "requires_payment_method" and error:
        code, _message = failure_for(str(error.get("code") or ""),
                                     str(error.get("decline_code") or ""))
        if code == "authentication_required":
            # An off-session charge the bank wants the customer to confirm: the same
            # intent can still be paid on our authentication page.
            return StatusResult(outcome=Outcome.REQUIRES_ACTION, failure_code=code)
        return StatusResult(outcome=Outcome.FAILED, failure_code=code,
                            failure_message=staff_words(error))
    # requires_payment_method (nothing tried yet), requires_confirmation, processing,
    # requires_capture: not decided.
    return StatusResult(outcome=Outcome.PENDING)


def staff_words(error: Mapping[str, Any]) -> str:
    codes = "/".join(str(c) for c in (error.get("code"), error.get("decline_code")) if c)
    return f"{codes}: {error.get('message') or ''}".strip(": ")[:300]
