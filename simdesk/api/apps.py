from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "simdesk.api"
    label = "api"
