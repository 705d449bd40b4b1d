"""Delete my account: erase the person, keep the books.

What "deleted" means here:

* **The person is erased.** The user row stays (orders, payments, refunds, coupon
  uses and the ledger point at it and must keep balancing), but every personal
  field is cleared: the e-mail becomes a unique address on the reserved
  ``.invalid`` domain (RFC 2606, never routable), preferences return to the
  defaults, the password becomes unusable, the account inactive (which also ends
  every session: a session is only valid while the user is active and its
  password hash unchanged). allauth's e-mail addresses and second factors,
  notification preferences, unsent messages and the stored context of sent ones,
  the reasons written in refund requests, and the sign-in failure log under the
  address are deleted; API tokens are
  revoked and their names cleared; saved payment methods are removed.
* **The books are kept, anonymised.** Orders, payments, refunds, coupon uses,
  ledger rows and card history stay as they are: they hold amounts, plans and
  dates, and now point at an anonymous user.
* **Cards are released**, so nobody who gets a card next can see or use what was
  the old owner's: auto-renewal is switched off, the periods still open are
  cancelled through the ledger (data left on them is forfeited, as the delete page
  says), and the card loses its owner, its name and its claim code. Then:

  - an **eSIM** (a card with an activation code) is **terminated** and the network
    asked to suspend it: its profile was downloaded onto the customer's own device
    and cannot be handed to anyone else, so it must never be sold or claimed again;
  - a **physical card** goes back to **inventory**, inactive and unclaimable: the
    claim code printed with it is still in the old owner's hands, so it no longer
    works; staff give the card a fresh claim code if it is ever returned and resold.
"""

import logging
from datetime import datetime
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from simdesk.accounts.models import PersonalAccessToken, User
from simdesk.cards.models import (
    PERIOD_OPEN_STATES,
    Card,
    CardState,
    NetworkActionKind,
    PeriodState,
)
from simdesk.cards.network.services import network_request
from simdesk.cards.services.ledger import card_lock
from simdesk.cards.services.periods import period_close, periods_advance
from simdesk.core.errors import Conflict, ServiceError
from simdesk.notifications.models import (
    Notification,
    NotificationPreferences,
    NotificationStatus,
)
from simdesk.notifications.services import user_language
from simdesk.orders.models import Order, OrderStatus, RefundRequest, RefundRequestStatus
from simdesk.payments.models import Payment, PaymentStatus, SavedPaymentMethod
from simdesk.payments.services import saved_method_remove
from simdesk.renewals.models import AttemptStatus, RenewalAttempt, RenewalSettings
from simdesk.renewals.services.settings import renewal_disable

logger = logging.getLogger(__name__)

PLACEHOLDER_DOMAIN = "deleted.invalid"
REASON = "account deleted"


def placeholder_email(user: User) -> str:
    """The unique, non-routable address a deleted account keeps (``.invalid`` never resolves)."""
    return f"deleted-{user.public_id.hex}@{PLACEHOLDER_DOMAIN}"


def customer_deletion_blockers(*, customer: User, now: datetime) -> list[str]:
    """Why ``customer`` cannot delete their account right now (empty: they can).

    Money must not be in flight when the person behind it disappears: an order that
    can still be paid (or is paid and not yet delivered), a payment the gateway has
    not settled, an automatic renewal being charged, or a refund not yet recorded on
    its order. Each reason says what to do.
    """
    reasons = []
    orders = Order.objects.filter(customer=customer)
    if orders.filter(Q(status=OrderStatus.PENDING_PAYMENT)
                     | Q(status=OrderStatus.PAYMENT_FAILED, expires_at__gt=now)).exists():
        reasons.append(_("You have an order waiting for payment. Pay for it or let it "
                         "expire (unpaid orders expire on their own), then try again."))
    if orders.filter(status=OrderStatus.PAID).exists():
        reasons.append(_("A paid order is still being delivered to your card. Wait a few "
                         "minutes, then try again."))
    if Payment.objects.filter(customer=customer, status__in=(
            PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION)).exists():
        reasons.append(_("A payment is still being processed. Finish or cancel it at the "
                         "payment page, or wait for it to time out, then try again."))
    if RenewalAttempt.objects.filter(card__owner=customer,
                                     status=AttemptStatus.CHARGING).exists():
        reasons.append(_("An automatic renewal is being charged right now. Wait a few "
                         "minutes, then try again."))
    if _refund_in_progress(customer):
        reasons.append(_("A refund is still in progress. Wait until it is complete, then "
                         "try again."))
    return reasons


def _refund_in_progress(customer: User) -> bool:
    """A refund request not yet decided or not yet paid out, or a refund the gateway made
    that its order does not show yet (the order is told after the refund commits)."""
    if RefundRequest.objects.filter(customer=customer, status__in=(
            RefundRequestStatus.PENDING, RefundRequestStatus.APPROVED)).exists():
        return True
    return Order.objects.filter(
        customer=customer, status__in=(OrderStatus.PAID, OrderStatus.FULFILLED),
        payment__status__in=(PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED),
    ).exists()


def _release_card(card: Card, now: datetime) -> None:
    if RenewalSettings.objects.filter(card=card).exists():
        renewal_disable(card=card, reason=REASON, now=now)
    # Expire what has ended first (a sweep may not have run yet): only a queued or active
    # period can be cancelled. Closing one may start the next queued one, so look again
    # after each.
    periods_advance(card=card, now=now)
    closed: set[int] = set()
    while period := (card.periods.filter(state__in=PERIOD_OPEN_STATES)
                     .exclude(pk__in=closed).order_by("pk").first()):
        period_close(period=period, to=PeriodState.CANCELLED,
                     reference=f"account-deleted:{period.public_id}", now=now)
        closed.add(period.pk)
    card = card_lock(card)
    if card.activation_code:
        if card.state != CardState.TERMINATED:
            network_request(card=card, action=NetworkActionKind.SUSPEND, reason=REASON,
                            now=now, dedupe_key=f"account-deleted:{card.public_id}")
            card.terminate(at=now, reason="owner's account deleted")
    elif card.state == CardState.PAUSED:
        # Nothing is left to pause; a suspension (staff's decision) stays as it is.
        card.transition(CardState.INACTIVE, at=now, reason="owner's account deleted")
    card.owner = None
    card.claimed_at = None
    card.label = ""
    card.claim_code = ""
    card.save(update_fields=["owner", "claimed_at", "label", "claim_code", "updated_at"])


def _erase_messages(user: User, now: datetime) -> None:
    # Unsent messages would go to the placeholder address; sent ones keep their kind
    # and dates (the books of what was sent) but not what they said (ICCIDs, activation
    # codes, plan details).
    Notification.objects.filter(user=user).exclude(status=NotificationStatus.SENT).delete()
    Notification.objects.filter(user=user).update(context={}, last_error="",
                                                        updated_at=now)
    NotificationPreferences.objects.filter(user=user).delete()
    # The books keep the refund's amounts and decision; the customer's own words go.
    RefundRequest.objects.filter(customer=user).exclude(reason="").update(reason="",
                                                                       updated_at=now)


def _erase_sign_in(user: User, address: str, now: datetime) -> None:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username__iexact=address).delete()
    PersonalAccessToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=now)
    PersonalAccessToken.objects.filter(user=user).update(name="")
    for method in SavedPaymentMethod.objects.filter(customer=user, removed_at__isnull=True):
        saved_method_remove(method=method, now=now)


def _erase_profile(user: User, now: datetime) -> None:
    user.email = placeholder_email(user)
    user.language = ""
    user.time_zone = "UTC"
    user.currency = ""
    user.last_login = None
    user.is_active = False
    user.set_unusable_password()
    user.deleted_at = now
    user.save(update_fields=["email", "language", "time_zone", "currency", "last_login",
                             "is_active", "password", "deleted_at"])
    user.groups.clear()
    user.user_permissions.clear()


def customer_delete(*, customer: User, now: datetime) -> User:
    """Delete ``customer``'s account: erase the person, keep the books, release the cards
    (see the module docstring for exactly what each means).

    Refused (Conflict, nothing changed) while money is in flight
    (``customer_deletion_blockers``) and for staff accounts. All of it happens in one
    transaction; the confirmation e-mail goes to the address the account had, after
    commit. Safe to call twice: an account already deleted is returned as it is and
    no second e-mail is sent.
    """
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=customer.pk)
        if user.deleted_at is not None:
            return user
        if user.is_staff or user.is_superuser:
            raise ServiceError(_("Staff accounts are closed by an administrator, not from "
                                 "this page."), code="staff_account")
        # Lock the customer's payments: a refund or a confirmation running now on one of
        # them finishes first, and the check below sees its result.
        list(Payment.objects.select_for_update().filter(customer=user).values_list("pk"))
        blockers = customer_deletion_blockers(customer=user, now=now)
        if blockers:
            raise Conflict(blockers[0], code="account_deletion_refused")
        address, language, zone = user.email, user_language(user), user.zone
        for card in Card.objects.filter(owner=user).order_by("pk"):
            _release_card(card, now)
        _erase_messages(user, now)
        _erase_sign_in(user, address, now)
        _erase_profile(user, now)
        transaction.on_commit(lambda: notify_account_deleted(
            email=address, language=language, zone=zone, deleted_at=now))
    return user


def notify_account_deleted(*, email: str, language: str, zone: Any,
                           deleted_at: datetime) -> bool:
    """E-mail the address the account had that it was deleted, in the customer's language.

    Sent straight away rather than through the outbox: an outbox row would have to
    keep the erased address in the database until it was sent, and the outbox sends
    to the account's current (now placeholder) address. A failure is logged, not
    retried: the deletion itself has already happened.
    """
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL,
               "recipient": email, "deleted_at": deleted_at, "time_zone": str(zone),
               "shows_times": True}
    try:
        with translation.override(language), timezone.override(zone):
            subject = render_to_string("privacy/email/account_deleted/subject.txt", context)
            body = render_to_string("privacy/email/account_deleted/body.txt", context)
        message = EmailMultiAlternatives(
            subject=f"[{settings.SITE_NAME}] {' '.join(subject.split())}", body=body,
            from_email=settings.DEFAULT_FROM_EMAIL, to=[email])
        message.send(fail_silently=False)
    except Exception:  # the account is gone either way; say so in the log, without the address
        logger.exception("account deletion e-mail could not be sent")
        return False
    return True
