from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "simdesk.orders"
    label = "orders"

    def ready(self):
        from simdesk.payments.signals import payment_failed, payment_refunded, payment_succeeded

        from . import receivers

        payment_succeeded.connect(receivers.on_payment_succeeded,
                                  dispatch_uid="orders.on_payment_succeeded")
        payment_failed.connect(receivers.on_payment_failed,
                               dispatch_uid="orders.on_payment_failed")
        payment_refunded.connect(receivers.on_payment_refunded,
                                 dispatch_uid="orders.on_payment_refunded")
