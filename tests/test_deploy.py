"""Production settings are safe by default: `simdesk check --deploy` is clean."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "x7Gq2-Vd9LrT0sWk4pZ1bN8mC3yE6hJ5aU-fR2oI9lK7tQ4vX1zS8nB3wD6gY0cM",
    "DATABASE_URL": f"sqlite:///{Path(tempfile.gettempdir()) / 'simdesk-deploy-check.sqlite3'}",
    "ALLOWED_HOSTS": "simdesk.example.com",
    "SITE_URL": "https://simdesk.example.com",
    # A real gateway's keys: without one, customers could not pay (simdesk.W011).
    "STRIPE_SECRET_KEY": "sk_live_51DeployCheckNotARealKey",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_51DeployCheckNotARealKey",
    "STRIPE_WEBHOOK_SECRET": "whsec_DeployCheckNotARealSecret",
    "PAYPAL_CLIENT_ID": "deploy-check-client-id",
    "PAYPAL_CLIENT_SECRET": "deploy-check-client-secret",
    "PAYPAL_WEBHOOK_ID": "deploy-check-webhook-id",
    "PAYPAL_ENVIRONMENT": "live",
}


INHERITED_SETTINGS = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "EMAIL_URL",
                      "DJANGO_ALLOW_ASYNC_UNSAFE"}


def run_check(env):
    return subprocess.run(
        [sys.executable, "-m", "simdesk.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env={**{k: v for k, v in os.environ.items() if k not in INHERITED_SETTINGS}, **env},
        capture_output=True, text=True, timeout=120,
    )


def test_it_passes_the_deploy_checklist_with_sane_environment_values():
    result = run_check(PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_without_a_secret_key():
    result = run_check({k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
