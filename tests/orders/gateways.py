"""A small gateway of the tests' own: a real ``PaymentGateway`` that cannot save payment
methods (like Alipay), records every call, and lets a test act while it is being asked
(``during_start``), e.g. look at the database from another connection."""

from collections.abc import Callable

import pytest

from simdesk.payments import gateways as registry
from simdesk.payments.gateways.base import (
    GatewayError,
    Outcome,
    PaymentGateway,
    RefundResult,
    StartResult,
    StatusResult,
    WebhookMalformedError,
)


class OneOffGateway(PaymentGateway):
    """Pays once on its own page; nothing is kept for renewals."""

    name = "oneoff"
    label = "One-off Pay"
    supports_saved_methods = False

    #: (idempotency key, save_method) of every start_payment call, in order
    calls: list[tuple[str, bool]] = []
    #: called with the payment while start_payment runs (the gateway "thinking")
    during_start: Callable | None = None
    #: the only currencies it takes (None: any)
    currencies: tuple[str, ...] | None = None

    def supports_currency(self, currency: str) -> bool:
        return self.currencies is None or currency in self.currencies

    def start_payment(self, *, payment, return_url: str, save_method: bool) -> StartResult:
        type(self).calls.append((payment.idempotency_key, save_method))
        if type(self).during_start is not None:
            type(self).during_start(payment)
        return StartResult(redirect_url=f"/oneoff/pay/{payment.public_id}",
                           gateway_payment_id=f"oneoff_{payment.public_id.hex}")

    def parse_webhook(self, *, headers, body, now):
        raise WebhookMalformedError("the one-off test gateway sends no webhooks")

    def charge_saved_method(self, *, payment, method_token: str):
        raise GatewayError(detail="the one-off gateway keeps no payment methods")

    def refund(self, *, payment, amount_minor: int, idempotency_key: str) -> RefundResult:
        return RefundResult(refund_id=f"oneoff_re_{idempotency_key}", amount_minor=amount_minor)

    def query_status(self, *, payment) -> StatusResult:
        return StatusResult(outcome=Outcome.PENDING)


def register(settings, cls: type[PaymentGateway], *, enabled: tuple[str, ...] = ()) -> None:
    """Make ``cls`` a known gateway and enable it next to ``enabled``."""
    registry.GATEWAY_CLASSES[cls.name] = f"{cls.__module__}.{cls.__qualname__}"
    settings.PAYMENT_GATEWAYS = [*enabled, cls.name]
    registry._gateway_instance.cache_clear()


@pytest.fixture
def oneoff(settings):
    """The sandbox and the one-off gateway are both enabled; the one-off's calls are fresh."""
    OneOffGateway.calls = []
    OneOffGateway.during_start = None
    OneOffGateway.currencies = None
    register(settings, OneOffGateway, enabled=("sandbox",))
    yield OneOffGateway
    OneOffGateway.during_start = None
    OneOffGateway.currencies = None
    registry.GATEWAY_CLASSES.pop(OneOffGateway.name, None)
    registry._gateway_instance.cache_clear()
