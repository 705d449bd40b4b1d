from django.apps import AppConfig


class RenewalsConfig(AppConfig):
    name = "simdesk.renewals"
    label = "renewals"
