"""The in-process half of the multi-node test: run as ``python -m tests.multinode.scene``
from the project root, against the database the environment names.

    setup     a pausable 10-day plan, alice (verified) with one card, an operator key
              for usage; prints JSON with what the HTTP side needs
    report    what the database holds, for the test to judge (JSON after "REPORT ")
"""

import json
import os
import sys

PASSWORD = "correct horse battery"
PLAN_CODE = "multinode-1gb-10d"
GB = 10**9


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    import django

    django.setup()


def setup() -> dict:
    from allauth.account.models import EmailAddress

    from simdesk.accounts.models import User
    from simdesk.api.keys import operator_key_create
    from simdesk.cards.iccid import iccid_with_check_digit
    from simdesk.cards.models import Card
    from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
    from simdesk.catalog.services import plan_upsert
    from simdesk.core.clock import utcnow

    now = utcnow()
    plan = plan_upsert(code=PLAN_CODE, terms={
        "kind": PlanKind.BASE, "data_bytes": GB, "validity_days": 10,
        "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
        "region": None, "pausable": True, "max_pause_days": 30},
        translations={"en": ("Multi-node 1 GB", "")}, prices={"USD": 700}, countries=("FR",),
        now=now)
    alice = User.objects.create_user("alice@example.com", password=PASSWORD)
    EmailAddress.objects.create(user=alice, email=alice.email, verified=True, primary=True)
    staff = User.objects.create_user("ops@example.com", password=PASSWORD, is_staff=True)
    card = Card.objects.create(iccid=iccid_with_check_digit("894470099555000111"), owner=alice,
                               label="multinode")
    _key, token = operator_key_create(name="mediation", scopes=["usage:write"],
                                      created_by=staff, now=now)
    return {"plan": PLAN_CODE, "plan_id": str(plan.public_id), "email": alice.email,
            "password": PASSWORD, "card": str(card.public_id), "iccid": card.iccid,
            "operator_key": token}


def report() -> dict:
    from collections import Counter

    from django.db.models import Sum

    from simdesk.cards.ledger_check import ledger_violations
    from simdesk.cards.models import Card
    from simdesk.core.models import ClockSlot
    from simdesk.orders.models import Order, RefundRequest
    from simdesk.payments.gateways.sandbox.models import (
        SandboxCharge,
        SandboxChargeStatus,
        SandboxWebhookDelivery,
    )
    from simdesk.payments.models import (
        InboundWebhookEvent,
        Payment,
        PaymentStatus,
        SavedPaymentMethod,
    )
    from simdesk.renewals.models import RenewalAttempt
    from simdesk.usage.ledger_check import usage_violations
    from simdesk.usage.models import RatingCursor, Record

    card = Card.objects.get(label="multinode")
    through = RatingCursor.objects.get(pk=1).through
    usage = Record.objects.filter(source__name="mediation", card=card)
    paid = Order.objects.filter(paid_at__isnull=False)
    return {
        "violations": [str(v) for v in (*ledger_violations(), *usage_violations())],
        "card_state": card.state, "paused": card.paused_at is not None,
        "periods": sorted(card.periods.values_list("state", flat=True)),
        "queued_period": str(card.periods.filter(state="queued")
                             .values_list("public_id", flat=True).first() or ""),
        "orders": dict(Counter(Order.objects.values_list("status", flat=True))),
        "paid_orders": paid.count(),
        "paid_orders_with_period": paid.filter(period__isnull=False).count(),
        "payments_succeeded": Payment.objects.filter(status__in=(
            PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED,
            PaymentStatus.PARTIALLY_REFUNDED)).count(),
        "charges_succeeded": SandboxCharge.objects.filter(
            status=SandboxChargeStatus.SUCCEEDED).count(),
        "payments_per_reference": max(Counter(Payment.objects.filter(status__in=(
            PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED))
            .values_list("reference", flat=True)).values(), default=0),
        "webhook_events": dict(Counter(InboundWebhookEvent.objects.values_list(
            "status", flat=True))),
        "webhook_deliveries": dict(Counter(SandboxWebhookDelivery.objects.values_list(
            "status", flat=True))),
        "renewal_attempts": dict(Counter(RenewalAttempt.objects.values_list("status",
                                                                            flat=True))),
        "refund_requests": dict(Counter(RefundRequest.objects.values_list("status",
                                                                          flat=True))),
        # Usage: each record kept once (its row is its claim), rated when its id is up to
        # the rating cursor; and what the card was debited for it, in all.
        "usage_records": usage.count(),
        "usage_records_rated": usage.filter(pk__lte=through).count(),
        "usage_bytes_rated": usage.filter(pk__lte=through).aggregate(
            total=Sum("bytes", default=0))["total"],
        "usage_bytes_debited": sum(card.periods.values_list("used_bytes", flat=True))
        + card.overage_bytes,
        "saved_method": str(SavedPaymentMethod.objects.values_list("public_id", flat=True)
                             .first() or ""),
        "clock_slots": {name: at.isoformat() if at else None for name, at in
                        ClockSlot.objects.values_list("name", "last_run_at")},
    }


def main(argv: list[str]) -> None:
    _django()
    if argv == ["setup"]:
        print(json.dumps(setup()))
    elif argv == ["report"]:
        print("REPORT " + json.dumps(report(), default=str))
    else:
        sys.exit("usage: scene setup|report")


if __name__ == "__main__":
    main(sys.argv[1:])
