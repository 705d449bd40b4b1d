"""Fixtures for the account journeys driven over HTTP."""

import re

import pytest
from django.core import mail
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """allauth keeps its rate-limit counters in the cache, which outlives a test's transaction.

    axes counts failures in its database tables, which the test transaction rolls back.
    """
    cache.clear()
    yield
    cache.clear()


def code_from_last_mail(to: str) -> str:
    """The one-time code allauth put on a line of its own in the last e-mail sent to ``to``."""
    message = [m for m in mail.outbox if to in m.to][-1]
    codes = re.findall(r"^\s*([A-Z0-9]{3,5}-[A-Z0-9]{3,5}|[0-9]{6})\s*$", message.body, re.M)
    assert codes, f"no code in the e-mail:\n{message.body}"
    return codes[-1]
