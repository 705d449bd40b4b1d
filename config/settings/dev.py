"""The embedded default: one machine, no services (``make run``)."""

from simdesk.core.secret import secret_key_from_data_dir

from .base import *  # noqa: F403
from .base import DATA_DIR, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="") or secret_key_from_data_dir(DATA_DIR)

# Serve static files from the apps' folders without collectstatic.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None  # served from the apps' folders; collectstatic is for production
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
