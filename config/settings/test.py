"""Settings for the test suite: fast hashing, in-memory mail, tasks run inline.

``DATABASE_URL`` and ``REDIS_URL`` switch the suite onto PostgreSQL and Redis.
"""

import os
import tempfile

os.environ.setdefault("SIMDESK_DATA_DIR", os.path.join(tempfile.gettempdir(), "simdesk-test-data"))

from .base import *  # noqa: E402,F403
from .base import REDIS_URL  # noqa: E402

SECRET_KEY = "test-only-not-secret"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
if not REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None  # served from the apps' folders; collectstatic is for production
# The sandbox's webhooks reach the app in-process (through the whole request path).
SANDBOX_WEBHOOK_TRANSPORT = "simdesk.payments.gateways.sandbox.transport.DjangoClientTransport"
