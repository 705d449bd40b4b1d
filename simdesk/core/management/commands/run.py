"""``simdesk run``: web server, worker and clock in one process group.

Ctrl-C (or SIGTERM) stops all three; if one of them dies, the others are
stopped too, so the group never half-runs.
"""

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server, a background worker and the clock together."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--web-workers", type=int, default=2)

    def handle(self, *args, bind, web_workers, **options):
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        cli = [sys.executable, "-m", "simdesk.cli"]
        commands = {
            "web": [sys.executable, "-m", "gunicorn", "config.wsgi:application",
                    "--bind", bind, "--workers", str(web_workers), "--threads", "4",
                    "--worker-class", "gthread", "--access-logfile", "-",
                    "--graceful-timeout", "5"],
            "worker": [*cli, "worker"],
            "clock": [*cli, "clock"],
        }
        # Handlers first, so a signal that arrives while starting is not lost.
        self.stopping = False
        self.signalled = False
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        # Fixed argument lists built above, never from user input.
        self.children = {
            name: subprocess.Popen(cmd, env=env)  # noqa: S603
            for name, cmd in commands.items()
        }
        self.stdout.write(self.style.SUCCESS(f"simdesk is running on http://{bind}/ "
                                             "(Ctrl-C stops it)"))
        exit_code = 0
        while not self.stopping:
            for name, child in self.children.items():
                if child.poll() is not None and not self.signalled:
                    self.stderr.write(f"{name} exited with {child.returncode}; stopping")
                    exit_code = child.returncode or 1
                    self.stopping = True
                    break
            time.sleep(0.2)
        self._stop_all()
        sys.exit(0 if self.signalled else exit_code)

    def _on_signal(self, signum, frame):
        self.signalled = True
        self.stopping = True

    def _stop_all(self, grace=2.0, timeout=10.0):
        # Ctrl-C in a terminal reaches the whole process group, so the children
        # are usually stopping already: give them a moment before sending
        # SIGTERM, because a second signal makes the worker abandon its task.
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(
            child.poll() is None for child in self.children.values()
        ):
            time.sleep(0.1)
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children.values():
            try:
                child.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.stdout.write("simdesk stopped")
