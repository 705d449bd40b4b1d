from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "simdesk.portal"
    label = "portal"
