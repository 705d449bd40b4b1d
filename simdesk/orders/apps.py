from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "simdesk.orders"
    label = "orders"
