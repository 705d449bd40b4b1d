from datetime import timedelta

from django.contrib.sessions.models import Session
from django_tasks import task

from .clock import utcnow


@task()
def clear_expired_sessions() -> int:
    deleted, _ = Session.objects.filter(expire_date__lt=utcnow()).delete()
    return deleted


@task()
def prune_finished_task_results() -> int:
    """Keep a week of finished job results when the database task backend is used."""
    from django.conf import settings

    if "django_tasks_db" not in settings.INSTALLED_APPS:
        return 0
    from django_tasks_db.models import DBTaskResult

    cutoff = utcnow() - timedelta(days=7)
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    return deleted
