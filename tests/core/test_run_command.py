"""`simdesk run` starts the web server, a worker and the clock, and stops all three together.

These tests start real processes (gunicorn included) on a free port with a
throw-away data directory, so they take a few seconds each.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
STOP_WITHIN_SECONDS = 15


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid``, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces; ppid follows it
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def healthz(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:  # noqa: S310
            return response.status
    except OSError:
        return None


@pytest.fixture(scope="module")
def embedded_env(tmp_path_factory):
    """The environment of `make run` on a fresh machine: SQLite in a new data directory."""
    tmp_path = tmp_path_factory.mktemp("simdesk-run")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "TASK_BACKEND", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        SIMDESK_DATA_DIR=str(tmp_path / "data"),
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        DEBUG="false",
        CLOCK_TICK_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "simdesk.cli", "migrate", "--no-input"],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=120,
    )
    return env


@pytest.fixture
def running(embedded_env, tmp_path):
    """`simdesk run` serving /healthz, with its three children."""
    port = free_port()
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "simdesk.cli", "run", "--bind", f"127.0.0.1:{port}",
         "--web-workers", "1"],
        cwd=ROOT, env=embedded_env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + 30
        while healthz(port) != 200:
            assert process.poll() is None, (tmp_path / "run.log").read_text()
            assert time.monotonic() < deadline, "no /healthz 200 within 30 s"
            time.sleep(0.2)
        children = children_of(process.pid)
        assert len(children) == 3, children
        yield process, children, port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def assert_all_stopped(process, children, port):
    process.wait(timeout=STOP_WITHIN_SECONDS)
    deadline = time.monotonic() + 2
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in children if alive(pid)] == []
    assert healthz(port) is None
    assert process.returncode == 0


def test_it_stops_all_three_on_ctrl_c(running):
    process, children, port = running

    # Ctrl-C in a terminal sends SIGINT to the whole foreground process group
    started = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)

    assert_all_stopped(process, children, port)
    assert time.monotonic() - started < STOP_WITHIN_SECONDS


def test_it_stops_all_three_when_only_it_is_told_to(running):
    process, children, port = running

    # a service manager or `kill` signals just the main process
    started = time.monotonic()
    process.send_signal(signal.SIGINT)

    assert_all_stopped(process, children, port)
    assert time.monotonic() - started < STOP_WITHIN_SECONDS
