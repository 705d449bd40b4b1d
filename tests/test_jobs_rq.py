"""At scale the same task code runs on Redis: RQ backend, a real `simdesk worker` process."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.redis


def simdesk(*args, env):
    result = subprocess.run([sys.executable, "-m", "simdesk.cli", *args], env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_it_runs_an_enqueued_task_in_a_separate_rq_worker_process(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.dev",
           "SIMDESK_DATA_DIR": str(tmp_path), "TASK_BACKEND": "rq", "DEBUG": "false"}
    env.pop("DATABASE_URL", None)  # a private SQLite file, shared by the two processes
    simdesk("migrate", "--no-input", "-v0", env=env)
    enqueued = simdesk("shell", "-c", (
        "from datetime import timedelta\n"
        "from django.contrib.sessions.models import Session\n"
        "from simdesk.core.clock import utcnow\n"
        "from simdesk.core.tasks import clear_expired_sessions\n"
        "Session.objects.create(session_key='old', session_data='', "
        "expire_date=utcnow() - timedelta(days=1))\n"
        "print('backend', type(clear_expired_sessions.get_backend()).__name__)\n"
        "clear_expired_sessions.enqueue()\n"
    ), env=env)
    assert "backend RQBackend" in enqueued

    simdesk("worker", "--batch", env=env)

    out = simdesk("shell", "-c", (
        "from django.contrib.sessions.models import Session\n"
        "print('left', Session.objects.filter(session_key='old').count())"
    ), env=env)
    assert "left 0" in out
