"""Production: every secret and address from the environment, HTTPS only.

Required: SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS, SITE_URL, and the keys of at
least one payment gateway (STRIPE_*, PAYPAL_* or ALIPAY_*; `check --deploy` names
what is missing). Usually also REDIS_URL (cache + RQ workers) and EMAIL_URL (SMTP).
"""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Exempt the health probe from the HTTPS redirect so a load balancer can poll it.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# The sandbox gateway moves no money and would hand out plans for free: production
# offers only real gateways (each once its keys are set) unless PAYMENT_GATEWAYS names
# the sandbox explicitly. `check --deploy` warns when it is on or no real gateway is.
PAYMENT_GATEWAYS = env.list("PAYMENT_GATEWAYS", default=["stripe", "paypal", "alipay"])
