from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "simdesk.integrations"
    label = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from . import signals  # noqa: F401  (drops the cached subscriptions on endpoint changes)
