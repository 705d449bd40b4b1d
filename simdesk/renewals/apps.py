from django.apps import AppConfig


class RenewalsConfig(AppConfig):
    name = "simdesk.renewals"
    label = "renewals"

    def ready(self):
        from simdesk.payments.signals import payment_failed, payment_succeeded

        from . import receivers

        payment_succeeded.connect(receivers.on_payment_succeeded,
                                  dispatch_uid="renewals.on_payment_succeeded")
        payment_failed.connect(receivers.on_payment_failed,
                               dispatch_uid="renewals.on_payment_failed")
