"""Staff people for back-office tests: each signed in with TOTP confirmed, as a real
sign-in leaves them, unless a test says otherwise."""

import time

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from simdesk.accounts.roles import StaffRole, staff_role_set
from tests.cards.conftest import make_card, make_plan  # noqa: F401  (fixtures)

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def frozen(now):
    """The pages read the clock: it stands at the services' ``now``."""
    with time_machine.travel(now, tick=False):
        yield


def sign_in_staff(client, user, *, totp_confirmed=True):
    client.force_login(user)
    if totp_confirmed:
        session = client.session
        session["account_authentication_methods"] = [
            {"method": "password", "at": time.time(), "email": user.email},
            {"method": "mfa", "at": time.time(), "type": "totp"}]
        session["account_authentication_methods_user"] = str(user.pk)
        session.save()
    return client


@pytest.fixture
def make_staff(make_user, now):
    def make(email, *roles, totp=True, superuser=False):
        user = make_user(email)
        if superuser:
            user.is_superuser = True
            user.is_staff = True
            user.save(update_fields=["is_superuser", "is_staff"])
        staff_role_set(user=user, roles=set(roles), acting_user=None, now=now)
        if totp:
            TOTP.activate(user, generate_totp_secret())
        return user

    return make


@pytest.fixture
def agent(make_staff):
    """sam is a support agent with TOTP."""
    return make_staff("sam@staff.example", StaffRole.SUPPORT_AGENT)


@pytest.fixture
def biller(make_staff):
    """bea is a billing admin with TOTP."""
    return make_staff("bea@staff.example", StaffRole.BILLING_ADMIN)


@pytest.fixture
def root(make_staff):
    """rae is a superuser with TOTP."""
    return make_staff("rae@staff.example", superuser=True)
