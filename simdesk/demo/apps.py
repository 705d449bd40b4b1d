from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "simdesk.demo"
    label = "demo"
