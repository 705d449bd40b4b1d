from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "simdesk.notifications"
    label = "notifications"
