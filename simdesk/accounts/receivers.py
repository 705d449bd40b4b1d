"""Reactions to allauth's account events."""

from allauth.account.signals import password_reset
from axes.utils import reset as axes_reset
from django.dispatch import receiver


@receiver(password_reset)
def lift_lockout_after_password_reset(sender, request, user, **kwargs):
    """The lockout page offers a password reset as the way out, so a reset must end it.

    Proving control of the mailbox is a stronger check than the password the
    lockout protects; the failed attempts against the address are forgotten.
    """
    axes_reset(username=user.email.lower())
