"""`simdesk demo` gives the embedded setup real content, and is safe to run again."""

import pytest
from django.core.management import call_command

from simdesk.accounts.models import User
from simdesk.demo.data import DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_PASSWORD, DEMO_STAFF_EMAIL

pytestmark = pytest.mark.django_db


def test_it_creates_a_customer_and_a_staff_user_that_can_sign_in(client):
    call_command("demo")
    assert User.objects.get(email=DEMO_STAFF_EMAIL).is_staff
    response = client.post("/accounts/login/",
                           {"login": DEMO_CUSTOMER_EMAIL, "password": DEMO_CUSTOMER_PASSWORD})
    assert response.status_code == 302


def test_running_it_twice_changes_nothing_and_the_ledger_checks_out(capsys):
    call_command("demo")
    counts = {model: model.objects.count() for model in _models()}
    call_command("demo")
    assert {model: model.objects.count() for model in _models()} == counts
    # check-ledger exits non-zero (SystemExit) on any violation.
    call_command("check-ledger")


def _models():
    from simdesk.cards.models import Card, LedgerEntry, Period
    from simdesk.catalog.models import Coupon, Plan

    return [User, Card, Period, LedgerEntry, Plan, Coupon]
