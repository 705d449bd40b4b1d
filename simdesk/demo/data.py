"""Demo data for the embedded setup: real rows made through the real services.

Every loader is idempotent: running ``simdesk demo`` again changes nothing.
"""

from dataclasses import dataclass
from datetime import datetime

from allauth.account.models import EmailAddress

from simdesk.accounts.models import User
from simdesk.cards.demo import demo_cards_load
from simdesk.catalog.demo import demo_catalog_load

DEMO_CUSTOMER_EMAIL = "demo@simdesk.example"
DEMO_CUSTOMER_PASSWORD = "demo-customer-2026"  # noqa: S105 — published in the README
DEMO_STAFF_EMAIL = "staff@simdesk.example"
DEMO_STAFF_PASSWORD = "demo-staff-2026"  # noqa: S105 — published in the README


@dataclass
class DemoUsers:
    customer: User
    staff: User


def _user(*, email: str, password: str, staff: bool, language: str = "") -> User:
    user, created = User.objects.get_or_create(
        email=email,
        defaults={"is_staff": staff, "is_superuser": staff, "language": language},
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def demo_users_load(*, now: datetime) -> DemoUsers:
    return DemoUsers(
        customer=_user(email=DEMO_CUSTOMER_EMAIL, password=DEMO_CUSTOMER_PASSWORD, staff=False),
        staff=_user(email=DEMO_STAFF_EMAIL, password=DEMO_STAFF_PASSWORD, staff=True),
    )


def demo_load(*, now: datetime) -> DemoUsers:
    """Load everything the demo needs; later domains add their loaders here."""
    users = demo_users_load(now=now)
    demo_catalog_load(now=now)
    demo_cards_load(now=now, customer=users.customer)
    return users
