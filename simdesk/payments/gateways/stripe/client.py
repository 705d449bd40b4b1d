"""The only module that imports the ``stripe`` library: calls to Stripe's API, in plain dicts.

Every call goes through ``stripe_call``, which turns the library's errors into
simdesk's vocabulary: a card error is ``StripeCardError`` (the gateway decides
whether it is a decline or a request for authentication); anything else (no
connection, a timeout, an answer Stripe should not have given) is
``GatewayError`` whose ``detail`` carries Stripe's words for the logs only.

Every POST that creates or moves money carries an ``Idempotency-Key`` the
caller derives from simdesk's own keys, so the library's automatic retries
(``MAX_NETWORK_RETRIES``) and our own are replayed by Stripe, never repeated.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache
from typing import Any

import stripe
from django.conf import settings

from ..base import GatewayError, WebhookSignatureError

logger = logging.getLogger(__name__)

#: Seconds to connect, and to wait for an answer (a confirmation asks the card network).
TIMEOUT = (5.0, 30.0)
#: Retries of a request that got no answer, a 409 or a 5xx (safe: every POST is idempotent).
MAX_NETWORK_RETRIES = 2
#: Stripe's own replay window for signed webhooks.
WEBHOOK_TOLERANCE_SECONDS = 300


class StripeCardError(Exception):
    """Stripe answered 402: the card was declined or the bank wants the customer.

    ``payment_intent`` is the intent Stripe attached to the error (a dict, may be empty).
    """

    def __init__(self, *, code: str, decline_code: str, message: str,
                 payment_intent: dict[str, Any]):
        super().__init__(f"{code}/{decline_code}: {message}")
        self.code = code
        self.decline_code = decline_code
        self.message = message
        self.payment_intent = payment_intent


@lru_cache(maxsize=4)
def _client(secret_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=TIMEOUT),
    )


def stripe_client() -> stripe.StripeClient:
    """A client for this installation's account (``STRIPE_API_BASE``: a local peer in tests)."""
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


def _plain(value: Any) -> Any:
    return value.to_dict() if isinstance(value, stripe.StripeObject) else value


def stripe_call(what: str, call, *args, **kwargs) -> dict[str, Any]:
    """Run one library call and return Stripe's answer as a plain dict."""
    try:
        return _plain(call(*args, **kwargs))
    except stripe.CardError as error:
        body = (error.json_body or {}).get("error") or {}
        raise StripeCardError(
            code=str(body.get("code") or error.code or "card_declined"),
            decline_code=str(body.get("decline_code") or ""),
            message=str(body.get("message") or ""),
            payment_intent=body.get("payment_intent") or {},
        ) from None
    except stripe.StripeError as error:
        detail = (f"stripe {what}: {type(error).__name__} {error.http_status or ''} "
                  f"{error.code or ''} {error.user_message or error}")
        logger.warning("payments: %s", detail)
        raise GatewayError(detail=detail) from None


def _options(idempotency_key: str | None) -> dict[str, Any]:
    return {"idempotency_key": idempotency_key} if idempotency_key else {}


# --- The calls the gateway makes ---------------------------------------------------------


def customer_create(*, params: dict, idempotency_key: str) -> dict:
    return stripe_call("customer create", stripe_client().v1.customers.create,
                       params=params, options=_options(idempotency_key))


def payment_intent_create(*, params: dict, idempotency_key: str) -> dict:
    return stripe_call("payment intent create", stripe_client().v1.payment_intents.create,
                       params=params, options=_options(idempotency_key))


def payment_intent_retrieve(intent_id: str, *, expand: list[str] | None = None) -> dict:
    return stripe_call("payment intent retrieve",
                       stripe_client().v1.payment_intents.retrieve, intent_id,
                       params={"expand": expand} if expand else None)


def payment_intent_update(intent_id: str, *, params: dict, idempotency_key: str) -> dict:
    return stripe_call("payment intent update", stripe_client().v1.payment_intents.update,
                       intent_id, params=params, options=_options(idempotency_key))


def payment_intent_confirm(intent_id: str, *, params: dict, idempotency_key: str) -> dict:
    return stripe_call("payment intent confirm", stripe_client().v1.payment_intents.confirm,
                       intent_id, params=params, options=_options(idempotency_key))


def payment_method_retrieve(method_id: str) -> dict:
    return stripe_call("payment method retrieve",
                       stripe_client().v1.payment_methods.retrieve, method_id)


def refund_create(*, params: dict, idempotency_key: str) -> dict:
    return stripe_call("refund create", stripe_client().v1.refunds.create,
                       params=params, options=_options(idempotency_key))


def refunds_for_payment_intent(intent_id: str) -> list[dict]:
    answer = stripe_call("refund list", stripe_client().v1.refunds.list,
                         params={"payment_intent": intent_id, "limit": 100})
    return list(answer.get("data") or [])


# --- Webhook signatures ------------------------------------------------------------------


def webhook_verify(*, body: bytes, header: str | None, secret: str, now: datetime) -> None:
    """Check ``Stripe-Signature`` (HMAC-SHA256 of ``"<t>.<body>"``) and its age against ``now``.

    Stripe's own check compares the timestamp with the machine's clock; simdesk's
    services take ``now``, so the age is checked here, both ways: a signature more
    than five minutes old or from more than five minutes in the future is refused.
    """
    try:
        stripe.WebhookSignature.verify_header(body, header, secret, tolerance=None)
    except stripe.SignatureVerificationError as error:
        raise WebhookSignatureError(f"stripe signature: {error.user_message or error}") from None
    except UnicodeDecodeError:
        raise WebhookSignatureError("stripe signature: the body is not UTF-8") from None
    timestamps = [part.split("=", 1)[1] for part in (header or "").split(",")
                  if part.startswith("t=")]
    try:
        timestamp = int(timestamps[0])
    except (IndexError, ValueError):
        raise WebhookSignatureError("stripe signature: no timestamp") from None
    if abs(now.timestamp() - timestamp) > WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookSignatureError(f"stripe signature: timestamp {timestamp} is outside "
                                    f"the {WEBHOOK_TOLERANCE_SECONDS}s window")
