"""``simdesk worker``: run background tasks for the configured backend (database or RQ).

The database backend's worker loop gives up at the first database error it does not
expect (the database restarting, a dropped connection): the process would exit and
nothing would run tasks until someone started it again. This command outlives such an
outage: it closes the broken connection, waits (1 s, doubling up to 30 s) and goes on.
A task that was running when the database went away stays claimed; the sweep that made
it finds its work again (what a task does is safe to do twice).
"""

import logging
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DatabaseError, InterfaceError, OperationalError, connections

logger = logging.getLogger(__name__)

OUTAGE_ERRORS = (OperationalError, InterfaceError)
FIRST_WAIT, LONGEST_WAIT = 1.0, 30.0


def _database_usable() -> bool:
    try:
        connections["default"].ensure_connection()
        return connections["default"].is_usable()
    except DatabaseError:
        return False


class Command(BaseCommand):
    help = "Run a background worker for the configured task backend (database or RQ)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true",
                            help="Run every task that is ready, then exit.")

    def handle(self, *args, batch=False, **options):
        if settings.TASK_BACKEND == "rq":
            call_command("rqworker", "default", job_class="django_tasks_rq.Job", burst=batch)
            return
        extra = ["--batch", "--no-startup-delay"] if batch else []
        wait = FIRST_WAIT
        while True:
            try:
                call_command("db_worker", "--queue-name", "*", "--no-reload", *extra)
                return
            except OUTAGE_ERRORS as error:
                # Django marks the connection unusable only inside a request cycle;
                # close it here so the next try opens a new one.
                for connection in connections.all(initialized_only=True):
                    connection.close()
                self.stderr.write(f"worker: database error ({error}); "
                                  f"trying again in {wait:.0f}s")
                logger.warning("worker: database error, retrying in %.0fs", wait,
                               exc_info=True)
                time.sleep(wait)
                wait = FIRST_WAIT if _database_usable() else min(wait * 2, LONGEST_WAIT)
