from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "simdesk.payments"
    label = "payments"

    def ready(self):
        from .gateways import checks  # noqa: F401  (registers the gateways' system checks)
