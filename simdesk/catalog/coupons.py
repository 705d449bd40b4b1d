"""Coupons: check a code against an order, reserve a use, confirm or release it.

Rounding: a percent discount is rounded DOWN to the minor unit (never more off
than the coupon says); any discount is capped at the order amount, so a total is
never below zero. A coupon can make an order free (100 % off, or a fixed amount
at least the price): the total is then 0 and callers decide how to take a free
order through.

Limits hold under concurrency: every reservation locks the coupon row first, so
checkouts using the same coupon queue one behind another while counting uses.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from simdesk.core.errors import Conflict, NotFound, ServiceError

from .models import (
    COUPON_USED_STATES,
    Coupon,
    CouponKind,
    CouponRedemption,
    CouponRedemptionStatus,
    Plan,
    normalize_coupon_code,
)


@dataclass(frozen=True)
class Discount:
    coupon: Coupon
    amount_off_minor: int
    currency: str = ""

    @property
    def code(self) -> str:
        return self.coupon.code


class CouponRefused(ServiceError):
    """The code cannot be used for this order; ``code`` says why, ``message`` tells the customer."""

    code = "coupon_refused"


def coupon_discount_minor(*, coupon: Coupon, currency: str, amount_minor: int) -> int | None:
    """The discount on ``amount_minor`` (minor units), or None if the coupon has no amount
    in this currency. Percent rounds down; never more than the amount itself."""
    if coupon.kind == CouponKind.PERCENT:
        off = amount_minor * int(coupon.percent_off or 0) // 100
    else:
        off = coupon.amount_off_in(currency)
        if off is None:
            return None
    return max(0, min(off, amount_minor))


def _refuse(message: str, reason: str) -> CouponRefused:
    return CouponRefused(message, code=f"coupon_{reason}")


def _check(*, coupon: Coupon | None, customer, plan: Plan, currency: str, amount_minor: int,
           now: datetime, exclude_reference: str | None = None) -> int:
    """Every rule a use must pass; returns the discount or raises CouponRefused."""
    if coupon is None or not coupon.active:
        raise _refuse(_("We don't know this coupon code. Check the spelling and try again."),
                      "unknown")
    if coupon.valid_from and now < coupon.valid_from:
        raise _refuse(_("This coupon cannot be used yet."), "not_yet_valid")
    if coupon.valid_until and now >= coupon.valid_until:
        raise _refuse(_("This coupon has expired."), "expired")
    plan_ids = {p.pk for p in coupon.plans.all()}
    if plan_ids and plan.pk not in plan_ids:
        raise _refuse(_("This coupon cannot be used for this plan."), "wrong_plan")
    off = coupon_discount_minor(coupon=coupon, currency=currency, amount_minor=amount_minor)
    if off is None:
        raise _refuse(_("This coupon cannot be used for payments in %(currency)s. Choose "
                        "another currency or remove the coupon.") % {"currency": currency},
                      "wrong_currency")
    used = CouponRedemption.objects.filter(coupon=coupon, status__in=COUPON_USED_STATES)
    if exclude_reference:
        used = used.exclude(reference=exclude_reference)
    if coupon.max_redemptions is not None and used.count() >= coupon.max_redemptions:
        raise _refuse(_("This coupon has been used as many times as it allows."),
                      "limit_reached")
    if (coupon.max_per_customer is not None
            and used.filter(customer=customer).count() >= coupon.max_per_customer):
        raise _refuse(_("You have already used this coupon as many times as it allows."),
                      "customer_limit_reached")
    return off


def _coupon_by_code(code: str, *, lock: bool = False) -> Coupon | None:
    normalized = normalize_coupon_code(code)
    if not normalized:
        return None
    query = Coupon.objects.filter(code=normalized)
    if lock:
        query = query.select_for_update()
    return query.prefetch_related("plans", "amounts").first()


def coupon_quote(*, code: str, customer, plan: Plan, currency: str, amount_minor: int,
                 now: datetime) -> Discount:
    """What ``code`` would take off this order now, without reserving anything (review page).

    Raises CouponRefused with the reason. Reads only; a later reserve may still be
    refused if the last use is taken in between.
    """
    coupon = _coupon_by_code(code)
    off = _check(coupon=coupon, customer=customer, plan=plan, currency=currency,
                 amount_minor=amount_minor, now=now)
    return Discount(coupon=coupon, amount_off_minor=off, currency=currency)


def coupon_reserve(*, code: str, customer, plan: Plan, currency: str, amount_minor: int,
                   reference: str, now: datetime) -> Discount:
    """Hold one use of ``code`` for the purchase ``reference`` and say how much it takes off.

    Refused (CouponRefused, a ServiceError with a translated reason) when the code
    is unknown or inactive, not valid yet, expired, not for this plan or currency,
    or its total or per-customer limit is reached; nothing is written then.
    Idempotent by ``reference``: the same reference with the same code returns the
    discount already held; with another code while one is held raises Conflict.
    A released reference may reserve again. The coupon row is locked for the
    duration, so the limits hold under concurrent checkouts.
    """
    if amount_minor < 0:
        raise ServiceError(_("The amount cannot be negative."), code="invalid_amount")
    currency = (currency or "").upper()
    with transaction.atomic():
        coupon = _coupon_by_code(code, lock=True)
        existing = (CouponRedemption.objects.select_for_update()
                    .filter(reference=reference).first())
        if existing is not None and existing.status in COUPON_USED_STATES:
            if coupon is not None and existing.coupon_id == coupon.pk:
                return Discount(coupon=coupon, amount_off_minor=existing.amount_minor,
                                currency=existing.currency)
            raise Conflict(_("This order already has a coupon. Remove it before adding "
                             "another."), code="coupon_already_applied")
        off = _check(coupon=coupon, customer=customer, plan=plan, currency=currency,
                     amount_minor=amount_minor, now=now)
        if existing is None:
            try:
                with transaction.atomic():
                    CouponRedemption.objects.create(
                        coupon=coupon, customer=customer, reference=reference,
                        amount_minor=off, currency=currency,
                        status=CouponRedemptionStatus.RESERVED, reserved_at=now,
                    )
            except IntegrityError:
                # The same order reserved another coupon at this very moment.
                raise Conflict(_("This order already has a coupon. Remove it before adding "
                                 "another."), code="coupon_already_applied") from None
        else:
            existing.coupon = coupon
            existing.customer = customer
            existing.amount_minor = off
            existing.currency = currency
            existing.status = CouponRedemptionStatus.RESERVED
            existing.reserved_at = now
            existing.confirmed_at = None
            existing.released_at = None
            existing.save(update_fields=["coupon", "customer", "amount_minor", "currency",
                                         "status", "reserved_at", "confirmed_at",
                                         "released_at", "updated_at"])
    return Discount(coupon=coupon, amount_off_minor=off, currency=currency)


def coupon_confirm(*, reference: str, now: datetime) -> CouponRedemption:
    """Make the use held for ``reference`` final (the purchase was paid).

    Safe to call twice. A use released in the meantime (say the order expired but
    its payment arrived after all) is confirmed again even if that goes past the
    limit: the customer has already paid the discounted price. Raises NotFound if
    the reference never reserved a coupon.
    """
    with transaction.atomic():
        redemption = (CouponRedemption.objects.select_for_update()
                      .filter(reference=reference).first())
        if redemption is None:
            raise NotFound(_("No coupon was reserved for this order."),
                           code="coupon_not_reserved")
        if redemption.status != CouponRedemptionStatus.CONFIRMED:
            redemption.status = CouponRedemptionStatus.CONFIRMED
            redemption.confirmed_at = now
            redemption.released_at = None
            redemption.save(update_fields=["status", "confirmed_at", "released_at",
                                           "updated_at"])
    return redemption


def coupon_release(*, reference: str, now: datetime) -> CouponRedemption | None:
    """Give back the use held for ``reference`` (order expired, failed or refunded), so it
    no longer counts against the limits. Returns None when the reference had no coupon;
    safe to call any number of times."""
    with transaction.atomic():
        redemption = (CouponRedemption.objects.select_for_update()
                      .filter(reference=reference).first())
        if redemption is None:
            return None
        if redemption.status != CouponRedemptionStatus.RELEASED:
            redemption.status = CouponRedemptionStatus.RELEASED
            redemption.released_at = now
            redemption.save(update_fields=["status", "released_at", "updated_at"])
    return redemption


def coupon_upsert(*, code: str, kind: str, now: datetime, percent_off: int | None = None,
                  amounts: dict[str, int] | None = None, plans: list[Plan] | tuple = (),
                  valid_from: datetime | None = None, valid_until: datetime | None = None,
                  max_redemptions: int | None = None, max_per_customer: int | None = 1,
                  active: bool = True, description: str = "") -> Coupon:
    """Create the coupon ``code`` or bring it to exactly these terms, amounts and plans.

    Validated like the back-office form: a percent coupon has a whole percent
    from 1 to 100 and no amounts; a fixed coupon has an amount in at least one
    currency. All or nothing; safe to call repeatedly. Uses already made stay.
    """
    from django.core.exceptions import ValidationError

    from .models import CouponAmount

    amounts = {currency.strip().upper(): int(minor) for currency, minor in (amounts or {}).items()}
    with transaction.atomic():
        coupon = (Coupon.objects.filter(code=normalize_coupon_code(code)).first()
                  or Coupon(code=code))
        for name, value in {
            "kind": kind, "percent_off": percent_off, "valid_from": valid_from,
            "valid_until": valid_until, "max_redemptions": max_redemptions,
            "max_per_customer": max_per_customer, "active": active,
            "description": description,
        }.items():
            setattr(coupon, name, value)
        try:
            coupon.full_clean(validate_unique=coupon.pk is None)
            if kind == CouponKind.FIXED and not amounts:
                raise ValidationError({"amounts": _("Give the amount off in at least one "
                                                    "currency.")})
            if kind == CouponKind.PERCENT and amounts:
                raise ValidationError({"amounts": _("A percent coupon has no amounts per "
                                                    "currency.")})
            rows = [CouponAmount(coupon=coupon, currency=c, amount_minor=m)
                    for c, m in sorted(amounts.items())]
            for row in rows:
                row.full_clean(exclude=["coupon"])
        except ValidationError as error:
            raise ServiceError(f"{coupon.code}: " + "; ".join(
                " ".join(messages) for messages in error.message_dict.values()
            ), code="invalid_coupon") from error
        coupon.save()
        coupon.amounts.exclude(currency__in=list(amounts)).delete()
        for row in rows:
            CouponAmount.objects.update_or_create(coupon=coupon, currency=row.currency,
                                                  defaults={"amount_minor": row.amount_minor})
        coupon.plans.set(plans)
    return coupon
