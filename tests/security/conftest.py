"""The world the attacks run against: alice and bob, each with a card that has a plan, an
order paid on the sandbox, a ticket and an access token; staff with every role.

``world.ids[name]`` is alice's object for a URL parameter of the page ``name``: the
portal's URLs are read from the URLconf, and every one that takes an id must be named
here (see test_access.py), so a new page cannot slip past the matrix.
"""

from types import SimpleNamespace

import pytest
import time_machine
from django.urls import URLPattern, URLResolver, get_resolver

from tests.api.conftest import alice_card, bob, bob_card, plan  # noqa: F401  (fixtures)
from tests.backoffice.conftest import sign_in_staff  # noqa: F401  (shared helper)
from tests.payments.conftest import received  # noqa: F401  (fixture)

PASSWORD = "correct horse battery"


@pytest.fixture
def frozen(now):
    with time_machine.travel(now, tick=False):
        yield now


def url_patterns(resolver=None, prefix="", namespace=""):
    """(route, name with namespace, callback) of every URL pattern, depth first."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or namespace
            yield from url_patterns(pattern, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name, pattern.callback


@pytest.fixture
def world(alice, bob, alice_card, bob_card, plan, make_user, now,  # noqa: F811
          django_capture_on_commit_callbacks):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from simdesk.accounts.roles import StaffRole, staff_role_set
    from simdesk.accounts.tokens import token_create
    from simdesk.orders.services import order_create
    from simdesk.payments.models import Payment
    from simdesk.support.services.tickets import ticket_open
    from tests.orders.refund_fixtures import pay_on_sandbox

    def objects(who, card, tag):
        order = order_create(customer=who, card=card, plan=plan, currency="USD",
                             coupon_code="", idempotency_key=f"security-{tag}", now=now,
                             language="en")
        order = pay_on_sandbox(order, now=now, capture=django_capture_on_commit_callbacks)
        unpaid = order_create(customer=who, card=card, plan=plan, currency="USD",
                              coupon_code="", idempotency_key=f"security-unpaid-{tag}",
                              now=now, language="en")
        ticket = ticket_open(customer=who, subject=f"Help {tag}", body="It does not work.",
                             now=now)
        token, _plaintext = token_create(user=who, name=f"script {tag}", now=now)
        payment = Payment.objects.filter(customer=who).latest("created_at")
        period = card.periods.order_by("created_at").first()
        return {
            "backoffice:card": {"public_id": card.public_id},
            "backoffice:customer": {"public_id": who.public_id},
            "backoffice:ticket": {"public_id": ticket.public_id},
            "backoffice:order_refund": {"public_id": order.public_id},
            "portal:card_detail": {"public_id": card.public_id},
            "portal:card_renewal": {"public_id": card.public_id},
            "portal:card_pause": {"public_id": card.public_id},
            "portal:card_resume": {"public_id": card.public_id},
            "portal:card_plan_change": {"public_id": card.public_id},
            "portal:card_plan_change_confirm": {"public_id": card.public_id},
            "portal:card_refund": {"public_id": card.public_id},
            "portal:period_refund": {"public_id": card.public_id,
                                     "period_public_id": period.public_id},
            "portal:payment_authenticate": {"public_id": payment.public_id},
            "portal:checkout": {"public_id": unpaid.public_id},
            "portal:checkout_coupon": {"public_id": unpaid.public_id},
            "portal:checkout_pay": {"public_id": unpaid.public_id},
            "portal:order_detail": {"public_id": order.public_id},
            "portal:order_status": {"public_id": order.public_id},
            "portal:order_receipt": {"public_id": order.public_id},
            "portal:support_ticket": {"public_id": ticket.public_id},
            "portal:support_ticket_reply": {"public_id": ticket.public_id},
            "portal:support_ticket_close": {"public_id": ticket.public_id},
            "portal:access_token_revoke": {"public_id": token.public_id},
        }

    staff = make_user("root@staff.example", is_staff=True, is_superuser=True)
    staff_role_set(user=staff, roles={StaffRole.SUPPORT_AGENT, StaffRole.BILLING_ADMIN},
                   acting_user=None, now=now)
    TOTP.activate(staff, generate_totp_secret())
    return SimpleNamespace(alice=alice, bob=bob, staff=staff, plan=plan, card=alice_card,
                           ids=objects(alice, alice_card, "a"),
                           bob_ids=objects(bob, bob_card, "b"))
