"""Settings shared by every shape of simdesk; values come from the environment.

The embedded default (``make run``) needs no service at all: SQLite in the data
directory, the database task backend, e-mails written to files. Production sets
``DATABASE_URL``, ``REDIS_URL``, ``EMAIL_URL`` and friends (see README).
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PACKAGE_DIR = BASE_DIR / "simdesk"

env = environ.Env()

DATA_DIR = Path(env.str("SIMDESK_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "simdesk.core.views.csrf_failure"
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="simdesk")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "axes",
    "ninja",  # its bundled Swagger UI, served from our static files
    "simdesk.core",
    "simdesk.accounts",
    "simdesk.notifications",
    "simdesk.integrations",
    "simdesk.catalog",
    "simdesk.cards",
    "simdesk.payments",
    "simdesk.orders",
    "simdesk.renewals",
    "simdesk.usage",
    "simdesk.radius",
    "simdesk.support",
    "simdesk.portal",
    "simdesk.backoffice",
    "simdesk.api",
    "simdesk.demo",
]

MIDDLEWARE = [
    # First: everything after it sees the client's address, not the proxy's.
    "simdesk.core.proxy.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "simdesk.core.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "simdesk.accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Last, so a lockout answers before any view runs.
    "axes.middleware.AxesMiddleware",
]

# Reverse proxies in front of the app (nginx: 1). Their X-Forwarded-For gives the client's
# address to rate limits and lockouts; 0 ignores the header (a client could forge it).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# The API's throttles read REMOTE_ADDR as set above, never the raw header.
NINJA_NUM_PROXIES = 0

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "simdesk.core.context_processors.site",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'simdesk.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and the clock share one SQLite file: WAL lets
    # readers run beside the writer, IMMEDIATE takes the write lock at BEGIN so
    # two writers queue instead of failing half-way with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
        }
    )
# Connections are kept between requests (SQLite's too: opening one and running its
# pragmas cost about a millisecond of CPU on every request).
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The few reads every API call makes (simdesk.core.rows) run as statements prepared on
# PostgreSQL; switch off behind a pooler in transaction mode that cannot keep them
# (PgBouncer before 1.21, or without max_prepared_statements).
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and jobs -------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    # The database cache is shared by every process of the embedded setup, so
    # rate limits and lockouts hold across the web server's workers.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                          "LOCATION": "simdesk_cache"}}

TASK_BACKEND = env.str("TASK_BACKEND", default="rq" if REDIS_URL else "database")
if TASK_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq"]
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 300}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# --- Accounts -------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # axes first: it refuses a locked-out client before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:home"

ACCOUNT_ADAPTER = "simdesk.accounts.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_RATE_LIMITS = {
    # Per IP and per target address; allauth keeps the counters in the cache.
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "login"
AXES_USERNAME_CALLABLE = "simdesk.accounts.lockout.username_from_request"
AXES_LOCKOUT_CALLABLE = "simdesk.accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False

# --- Languages and time ---------------------------------------------------------

LANGUAGE_CODE = "en"
# The footer's switch shows each in its own name; browsers asking for zh-TW or zh-HK get
# zh-hant, zh-CN or zh-SG zh-hans (Django's fallbacks), es-MX es and so on.
LANGUAGES = [
    ("en", _("English")),
    ("zh-hans", _("Simplified Chinese")),
    ("zh-hant", _("Traditional Chinese")),
    ("ja", _("Japanese")),
    ("es", _("Spanish")),
]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

CURRENCIES = ["USD", "EUR", "CNY", "GBP", "HKD", "JPY", "SGD"]
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="USD")

# --- Static files and e-mail ----------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = env.str("STATIC_ROOT", default=str(DATA_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_DIR = DATA_DIR / "mail"
if env.str("EMAIL_URL", default=""):
    # e.g. smtp+tls://user:password@smtp.example.com:587
    vars().update(env.email_url("EMAIL_URL"))
else:
    # Written under the data directory and echoed to the console.
    EMAIL_BACKEND = "simdesk.notifications.mail.FileAndConsoleEmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{SITE_NAME} <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security defaults that hold in every shape ---------------------------------

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # stripe logs every request at INFO (URLs and ids): warnings and errors only.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "stripe": {"level": "WARNING"}},
}

# Periodic sweeps: seconds between clock ticks (each sweep has its own interval
# in config/schedule.py; the tick is how often the clock looks at them).
CLOCK_TICK_SECONDS = env.float("CLOCK_TICK_SECONDS", default=5.0)

# --- Payments -------------------------------------------------------------------

# Gateways that may be offered, by name (simdesk/payments/gateways/), in the order customers
# see them; each is offered once its keys are set below. The built-in sandbox needs no
# account anywhere (production leaves it out unless PAYMENT_GATEWAYS names it).
PAYMENT_GATEWAYS = env.list("PAYMENT_GATEWAYS",
                            default=["sandbox", "stripe", "paypal", "alipay"])
# Ask the gateway about payments whose outcome is still unknown after this long.
PAYMENTS_RECONCILE_AFTER_MINUTES = env.int("PAYMENTS_RECONCILE_AFTER_MINUTES", default=10)
# Signs the sandbox's webhooks; empty means one derived from SECRET_KEY.
SANDBOX_WEBHOOK_SECRET = env.str("SANDBOX_WEBHOOK_SECRET", default="")
SANDBOX_WEBHOOK_TOLERANCE_SECONDS = env.int("SANDBOX_WEBHOOK_TOLERANCE_SECONDS", default=300)
# Probability (0.0–1.0) that the sandbox delivers an event twice, to exercise idempotency.
SANDBOX_DUPLICATE_DELIVERY = env.float("SANDBOX_DUPLICATE_DELIVERY", default=0.0)
# Besides the background job, try each sandbox webhook once right after it is created.
SANDBOX_WEBHOOK_DELIVER_AT_ONCE = env.bool("SANDBOX_WEBHOOK_DELIVER_AT_ONCE", default=True)
SANDBOX_WEBHOOK_TRANSPORT = env.str(
    "SANDBOX_WEBHOOK_TRANSPORT",
    default="simdesk.payments.gateways.sandbox.transport.UrllibTransport",
)

# Real gateways: each is offered only when its keys are set here (and its name is in
# PAYMENT_GATEWAYS). Whether a gateway is live or in its vendor's test mode follows from
# its keys (Stripe sk_live_/sk_test_) or its environment setting; staff see it in the back
# office. *_API_BASE points a gateway at another address (a local test peer); leave empty.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
PAYPAL_CLIENT_ID = env.str("PAYPAL_CLIENT_ID", default="")
PAYPAL_CLIENT_SECRET = env.str("PAYPAL_CLIENT_SECRET", default="")
PAYPAL_WEBHOOK_ID = env.str("PAYPAL_WEBHOOK_ID", default="")
PAYPAL_ENVIRONMENT = env.str("PAYPAL_ENVIRONMENT", default="sandbox")  # "sandbox" or "live"
PAYPAL_API_BASE = env.str("PAYPAL_API_BASE", default="")
ALIPAY_APP_ID = env.str("ALIPAY_APP_ID", default="")
# PEM texts, or read from the files named by ALIPAY_APP_PRIVATE_KEY_FILE / ALIPAY_PUBLIC_KEY_FILE.
ALIPAY_APP_PRIVATE_KEY = env.str("ALIPAY_APP_PRIVATE_KEY", default="", multiline=True)
ALIPAY_APP_PRIVATE_KEY_FILE = env.str("ALIPAY_APP_PRIVATE_KEY_FILE", default="")
ALIPAY_PUBLIC_KEY = env.str("ALIPAY_PUBLIC_KEY", default="", multiline=True)
ALIPAY_PUBLIC_KEY_FILE = env.str("ALIPAY_PUBLIC_KEY_FILE", default="")
ALIPAY_SANDBOX = env.bool("ALIPAY_SANDBOX", default=False)  # Alipay's sandbox environment
ALIPAY_API_BASE = env.str("ALIPAY_API_BASE", default="")

# --- Orders ---------------------------------------------------------------------

# Minutes a customer has to pay for an order before it expires (its coupon is released).
ORDER_PAYMENT_TIMEOUT_MINUTES = env.int("ORDER_PAYMENT_TIMEOUT_MINUTES", default=30)
# Days after the purchase within which an unused period is refunded in full on request,
# without staff review (later, or once data was used: staff decide, pro rata suggested).
REFUND_WINDOW_DAYS = env.int("REFUND_WINDOW_DAYS", default=14)

# Auto-renewal: retries after a declined charge (hours after each decline), at most this
# many successful renewals per card in any 24 hours, the reminder this many hours
# before a scheduled charge, and how long a customer has to confirm a charge their bank
# holds back (never past the period's end, but at least an hour).
RENEWAL_DUNNING_SCHEDULE = env.list("RENEWAL_DUNNING_SCHEDULE", cast=int, default=[1, 6, 24])
RENEWAL_MAX_PER_24H = env.int("RENEWAL_MAX_PER_24H", default=2)
RENEWAL_REMINDER_HOURS = env.int("RENEWAL_REMINDER_HOURS", default=24)
RENEWAL_AUTHENTICATION_HOURS = env.int("RENEWAL_AUTHENTICATION_HOURS", default=12)

# --- Support --------------------------------------------------------------------

# A ticket waiting on the customer's reply this many days is resolved by the clock.
SUPPORT_TICKET_AUTO_CLOSE_DAYS = env.int("SUPPORT_TICKET_AUTO_CLOSE_DAYS", default=7)

# --- API ------------------------------------------------------------------------
# Calls per personal access token, operator key or signed-in session per window
# ("<count>/<s|m|h|d>"); over it: 429 + Retry-After. "off" counts nothing (benchmarks only).
API_RATE_LIMIT = env("API_RATE_LIMIT", default="600/m")
# Calls without credentials (the public plan pages) per client address per window.
API_ANONYMOUS_RATE_LIMIT = env("API_ANONYMOUS_RATE_LIMIT", default="120/m")

# --- Mobile network and RADIUS ------------------------------------------------------
# Which network adapter carries out requests to the network: "simulated" (the embedded
# default, does what it is asked and records it) or "radius" (Disconnect-Request to the
# NAS carrying the card's session, RFC 5176), or a dotted class path.
NETWORK_ADAPTER = env("NETWORK_ADAPTER", default="simulated")
# `simdesk radius`: where it listens (accounting, authorization; 0 = no authorization).
RADIUS_HOST = env("RADIUS_HOST", default="0.0.0.0")  # noqa: S104
RADIUS_ACCT_PORT = env.int("RADIUS_ACCT_PORT", default=1813)
RADIUS_AUTH_PORT = env.int("RADIUS_AUTH_PORT", default=1812)
# Access-Requests without a Message-Authenticator are dropped (BlastRADIUS, CVE-2024-3596).
RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR = env.bool("RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR",
                                                default=True)
# Disconnect-Request: seconds to wait for the answer, and sends per attempt.
RADIUS_DISCONNECT_TIMEOUT = env.float("RADIUS_DISCONNECT_TIMEOUT", default=3.0)
RADIUS_DISCONNECT_TRIES = env.int("RADIUS_DISCONNECT_TRIES", default=3)
