from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "simdesk.payments"
    label = "payments"
