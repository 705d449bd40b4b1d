from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_cache_table(sender, using="default", **kwargs):
    # The embedded setup keeps its cache (rate limits, lockouts) in the database;
    # creating the table with the schema means `simdesk migrate` is all it needs.
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "simdesk.core"
    label = "core"

    def ready(self):
        post_migrate.connect(_create_cache_table, sender=self)
