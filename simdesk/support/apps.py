from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "simdesk.support"
    label = "support"
