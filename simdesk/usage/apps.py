from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "simdesk.usage"
    label = "usage"
