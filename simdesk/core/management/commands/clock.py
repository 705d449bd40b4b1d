import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from config.schedule import SCHEDULE
from simdesk.core.clock import utcnow
from simdesk.core.sweeps import sweeps_run_due


class Command(BaseCommand):
    help = "Run the clock: enqueue the periodic sweeps of config/schedule.py when due."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run one tick and exit.")

    def handle(self, *args, once=False, **options):
        self.running = True
        if not once:
            # Finish the current tick, then stop (Ctrl-C, or `simdesk run` stopping).
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        self.stdout.write(f"clock: {len(SCHEDULE)} sweeps, tick {settings.CLOCK_TICK_SECONDS}s")
        while self.running:
            close_old_connections()
            try:
                sweeps_run_due(schedule=SCHEDULE, now=utcnow())
            except Exception:  # noqa: BLE001 — a failed tick must not stop the clock
                self.stderr.write("clock: tick failed; trying again next tick")
                import traceback

                traceback.print_exc()
            if once:
                break
            # Sleep in short steps so a stop request is honoured promptly.
            deadline = time.monotonic() + settings.CLOCK_TICK_SECONDS
            while self.running and time.monotonic() < deadline:
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def _stop(self, signum, frame):
        self.running = False
