"""Fixtures for plan changes and refunds: periods bought through the real checkout and paid
on the sandbox's pay page, data used through the usage service, the ledger checked."""

import itertools

import time_machine

from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.services import card_debit_usage
from simdesk.orders.services import order_pay

RETURN_URL = "http://testserver/orders/x/"
VISA = "4242424242424242"
_usage = itertools.count(1)


def pay_on_sandbox(order, *, now, capture):
    """The customer pays ``order`` on the sandbox's page; the signed webhook fulfils it."""
    from simdesk.payments.gateways.sandbox.cards import test_card_find
    from simdesk.payments.gateways.sandbox.models import SandboxCharge
    from simdesk.payments.gateways.sandbox.services import sandbox_charge_pay

    # The webhook's receivers read the clock: the whole payment happens at ``now``.
    with time_machine.travel(now, tick=False):
        url = order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)
        charge = SandboxCharge.objects.get(public_id=url.rstrip("/").split("/")[-1])
        with capture(execute=True):
            sandbox_charge_pay(charge=charge, card=test_card_find(VISA), now=now)
    order.refresh_from_db()
    return order


def use(card, nbytes, *, at):
    """``nbytes`` of usage on ``card`` at ``at``."""
    return card_debit_usage(card=card, bytes=nbytes, reference=f"usage:test:{next(_usage)}",
                            at=at, now=at)


def assert_ledger_holds():
    """The invariant ``simdesk check-ledger`` checks, and the command itself agrees."""
    import io

    from django.core.management import call_command

    assert [str(v) for v in ledger_violations()] == []
    out = io.StringIO()
    call_command("check-ledger", stdout=out)  # exits 1 on a violation
    assert "the ledger is consistent" in out.getvalue()
