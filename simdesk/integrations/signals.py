"""Any change to an endpoint (admin, shell, service) drops the cached subscriptions."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import WebhookEndpoint
from .subscriptions import subscriptions_forget


@receiver(post_save, sender=WebhookEndpoint)
@receiver(post_delete, sender=WebhookEndpoint)
def _endpoint_changed(sender, **kwargs) -> None:
    subscriptions_forget()
