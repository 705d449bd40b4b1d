"""Reads about payments that encode a rule (ownership, what is due)."""

import uuid
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import NotFound

from .models import InboundWebhookEvent, Payment, PaymentStatus, SavedPaymentMethod, WebhookStatus


def payment_get_for_customer(*, customer, payment_id: str | uuid.UUID) -> Payment:
    """The customer's own payment by its public id; NotFound for anyone else's."""
    try:
        public_id = uuid.UUID(str(payment_id))
    except ValueError:
        public_id = None
    payment = (Payment.objects.filter(public_id=public_id, customer=customer).first()
               if public_id and getattr(customer, "pk", None) else None)
    if payment is None:
        raise NotFound(_("There is no such payment."))
    return payment


def payments_for_reference(*, reference: str) -> QuerySet[Payment]:
    return Payment.objects.filter(reference=reference).order_by("-created_at")


def saved_methods_for_customer(*, customer, gateway: str | None = None
                               ) -> QuerySet[SavedPaymentMethod]:
    methods = SavedPaymentMethod.objects.filter(customer=customer, removed_at__isnull=True)
    return methods.filter(gateway=gateway) if gateway else methods


def saved_method_get_for_customer(*, customer, method_id: str | uuid.UUID) -> SavedPaymentMethod:
    try:
        public_id = uuid.UUID(str(method_id))
    except ValueError:
        public_id = None
    method = (saved_methods_for_customer(customer=customer).filter(public_id=public_id).first()
              if public_id else None)
    if method is None:
        raise NotFound(_("There is no such payment method."))
    return method


def payments_to_reconcile(*, now: datetime, after: timedelta) -> QuerySet[Payment]:
    """Payments started at the gateway whose outcome has been unknown for longer than
    ``after``, not asked about within the last ``after``."""
    cutoff = now - after
    return Payment.objects.filter(
        status__in=[PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION],
        status_changed_at__lte=cutoff,
    ).exclude(gateway_payment_id="").filter(
        Q(last_checked_at__isnull=True) | Q(last_checked_at__lte=cutoff)
    )


#: An event is processed in the request that stored it; one still only received after
#: this long was interrupted.
UNPROCESSED_AFTER = timedelta(minutes=2)


def webhook_events_due(*, now: datetime) -> QuerySet[InboundWebhookEvent]:
    """Events whose processing failed and whose next attempt time has come, and events
    stored but never processed: the process died, or the database went away, after the
    event's commit and before its processing or the record of its failure. The gateway's
    repeated delivery is recognised as a duplicate and not processed, so without this
    such an event (and the payment it confirms) would wait forever."""
    return InboundWebhookEvent.objects.filter(
        Q(status=WebhookStatus.FAILED, next_attempt_at__lte=now)
        | Q(status=WebhookStatus.RECEIVED, received_at__lte=now - UNPROCESSED_AFTER))
