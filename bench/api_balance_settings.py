"""Settings of bench/api_balance.py's server: production's, served over plain HTTP on
127.0.0.1, with the bench's URLconf (the app plus a bare one-row view that production
never serves). Only the rate limit differs in behaviour, raised so 32 connections
hammering one token measure the endpoint, not the 429 (the bench prints the limit)."""

from config.settings.production import *  # noqa: F403
from config.settings.production import env

ROOT_URLCONF = "bench.api_balance_urls"
# HTTP on the loopback: nothing to redirect, no HSTS to send.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
API_RATE_LIMIT = env.str("BENCH_API_RATE_LIMIT", default="100000000/m")
# This run's counters under this run's prefix, apart from anything else in that Redis.
CACHES["default"]["KEY_PREFIX"] = env.str("BENCH_CACHE_KEY_PREFIX", default="bench")  # noqa: F405
