from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "simdesk.backoffice"
    label = "backoffice"
