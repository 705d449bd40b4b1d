from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run a background worker for the configured task backend (database or RQ)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true",
                            help="Run every task that is ready, then exit.")

    def handle(self, *args, batch=False, **options):
        if settings.TASK_BACKEND == "rq":
            call_command("rqworker", "default", job_class="django_tasks_rq.Job", burst=batch)
        else:
            extra = ["--batch", "--no-startup-delay"] if batch else []
            call_command("db_worker", "--queue-name", "*", "--no-reload", *extra)
