"""Staff roles and what each may do in the back office.

A role is a Django group of that name; a superuser may do everything. Views check
``staff_can(user, permission)`` (through the back office's ``staff_view``), so the table
below is the one place that says who may do what.
"""

from datetime import datetime

from django.contrib.auth.models import Group
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from simdesk.core.audit import audit_record


class StaffRole(models.TextChoices):
    SUPPORT_AGENT = "support agent", _("Support agent")
    BILLING_ADMIN = "billing admin", _("Billing admin")


class Perm(models.TextChoices):
    """Back-office permissions, one per kind of page or action."""

    VIEW = "view", _("Find and read customers, cards and orders")
    DASHBOARD = "dashboard", _("See the dashboard")
    TICKETS = "tickets", _("Answer support tickets")
    CARD_STATE = "card_state", _("Suspend and resume cards")
    RESEND_ACTIVATION = "resend_activation", _("Resend activation details")
    REFUND = "refund", _("Refund payments")
    ADJUST_BALANCE = "adjust_balance", _("Adjust balances")
    EXTEND_VALIDITY = "extend_validity", _("Extend validity")
    COUPONS = "coupons", _("Edit coupons")
    PLANS = "plans", _("Edit plans")
    ANNOUNCEMENTS = "announcements", _("Edit announcements")
    PAYMENTS = "payments", _("Read and reprocess payment webhooks")
    INVENTORY = "inventory", _("Import cards and export orders")
    AUDIT = "audit", _("Read the audit log")


ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    StaffRole.SUPPORT_AGENT: frozenset({
        Perm.VIEW, Perm.DASHBOARD, Perm.TICKETS, Perm.CARD_STATE, Perm.RESEND_ACTIVATION,
        Perm.ANNOUNCEMENTS,
    }),
    StaffRole.BILLING_ADMIN: frozenset({
        Perm.VIEW, Perm.DASHBOARD, Perm.REFUND, Perm.ADJUST_BALANCE, Perm.EXTEND_VALIDITY,
        Perm.COUPONS, Perm.PLANS, Perm.PAYMENTS, Perm.INVENTORY, Perm.AUDIT,
    }),
}


def staff_roles(user) -> set[str]:
    """The roles ``user`` holds (none for a customer or an inactive account)."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return set()
    cached = getattr(user, "_staff_roles", None)
    if cached is None:
        names = set(user.groups.filter(name__in=StaffRole.values)
                    .values_list("name", flat=True))
        cached = user._staff_roles = names
    return cached


def staff_permissions(user) -> frozenset[str]:
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return frozenset()
    if user.is_superuser:
        return frozenset(Perm.values)
    granted: set[str] = set()
    for role in staff_roles(user):
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def staff_can(user, permission: str) -> bool:
    return permission in staff_permissions(user)


def staff_role_set(*, user, roles: set[str], acting_user, now: datetime) -> None:
    """Give ``user`` exactly ``roles`` (making them staff when any is given), recorded in
    the audit log. Safe to call twice."""
    unknown = set(roles) - set(StaffRole.values)
    if unknown:
        raise ValueError(f"unknown staff roles: {sorted(unknown)}")
    with transaction.atomic():
        before = sorted(staff_roles(user)) if user.is_staff else []
        wanted = sorted(roles)
        if before == wanted and user.is_staff == bool(roles or user.is_superuser):
            return
        groups = [Group.objects.get_or_create(name=name)[0] for name in wanted]
        user.groups.remove(*Group.objects.filter(name__in=StaffRole.values))
        user.groups.add(*groups)
        user.is_staff = bool(wanted) or user.is_superuser
        user.save(update_fields=["is_staff"])
        user.__dict__.pop("_staff_roles", None)
        audit_record(actor=acting_user, action="staff.roles", target=user, now=now,
                     before={"roles": before}, after={"roles": wanted})
