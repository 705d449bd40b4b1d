"""Shared fixtures and the rules for tests that need outside services.

``DATABASE_URL`` pointing at PostgreSQL runs the whole suite there (and the
``postgres``-marked tests with it); ``REDIS_URL`` enables the ``redis`` tests.
Without them those tests are reported as skipped, with the reason.
"""

import os
import shutil
from datetime import UTC, datetime

import pytest
from django.conf import settings


def pytest_collection_modifyitems(config, items):
    engine = settings.DATABASES["default"]["ENGINE"]
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://…")
    skip_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://…")
    for item in items:
        if "postgres" in item.keywords and "postgresql" not in engine:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not os.environ.get("REDIS_URL"):
            item.add_marker(skip_redis)


@pytest.fixture
def now():
    """A fixed 'now' for services that take the time as an argument."""
    return datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def make_user(db):
    from allauth.account.models import EmailAddress

    from simdesk.accounts.models import User

    def make(email="alice@example.com", password="correct horse battery", *, verified=True,
             **extra):
        user = User.objects.create_user(email=email, password=password, **extra)
        EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
        return user

    return make


@pytest.fixture
def alice(make_user):
    """alice has a verified account and no cards."""
    return make_user("alice@example.com")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit and lockout counters live in the cache: each test starts clean."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _default_language_and_time_zone():
    """A request made through the test client leaves its language active in this
    thread; every test starts (and ends) in the defaults, whatever ran before."""
    from django.utils import timezone, translation

    translation.activate(settings.LANGUAGE_CODE)
    timezone.deactivate()
    yield
    translation.activate(settings.LANGUAGE_CODE)
    timezone.deactivate()


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the whole session, shared by every browser test (tests/browser and
    the gateways' pay pages): Playwright's sync API allows one running instance per thread,
    so a second one started while this one lives fails."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the Django code these
    # tests call directly (fixtures creating rows) is still plain synchronous code.
    # Set only while browsers run, so no other test inherits it.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
