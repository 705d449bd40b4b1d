"""The catalog: what can be sold — plans, their prices, names and coverage.

A sold period copies a plan's terms, so editing a plan here never changes what
a customer already bought.
"""

from datetime import datetime

import babel.numbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from simdesk.core.models import BaseModel
from simdesk.core.money import Money

from .countries import validate_country_code

LANGUAGE_CHOICES = settings.LANGUAGES
FALLBACK_LANGUAGE = "en"


def normalize_language(language: str | None) -> str:
    """'zh_Hans', 'zh-Hans' and 'zh-hans' all name the same language here."""
    return (language or FALLBACK_LANGUAGE).replace("_", "-").lower()


def _pick_translation(rows, language: str | None):
    """The row for ``language``, else for its base language, else English, else any row."""
    wanted = normalize_language(language)
    by_language = {normalize_language(row.language): row for row in rows}
    for candidate in (wanted, wanted.split("-")[0], FALLBACK_LANGUAGE):
        if candidate in by_language:
            return by_language[candidate]
    return next(iter(by_language.values()), None)


def validate_currency_code(value: str) -> None:
    if value not in babel.numbers.list_currencies():
        raise ValidationError(
            _("“%(value)s” is not an ISO 4217 currency code. Use three capital letters, "
              "for example USD."),
            code="invalid_currency",
            params={"value": value},
        )


class Region(BaseModel):
    """A named group of countries (Europe, Asia-Pacific, Global) a plan can cover."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    countries = models.JSONField(
        _("countries"), default=list, blank=True,
        help_text=_("ISO 3166-1 alpha-2 codes, for example [\"FR\", \"DE\"]."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.code

    def clean(self):
        super().clean()
        if not isinstance(self.countries, list) or not all(
            isinstance(code, str) for code in self.countries
        ):
            raise ValidationError(
                {"countries": _("Give a list of two-letter country codes, e.g. [\"FR\", \"DE\"].")}
            )
        codes = [code.strip().upper() for code in self.countries]
        unknown = sorted({code for code in codes if _is_invalid_country(code)})
        if unknown:
            raise ValidationError({"countries": _(
                "These are not ISO 3166-1 country codes: %(codes)s."
            ) % {"codes": ", ".join(unknown)}})
        if not codes:
            raise ValidationError({"countries": _("A region needs at least one country.")})
        self.countries = sorted(set(codes))

    def name_for(self, language: str | None) -> str:
        row = _pick_translation(self.translations.all(), language)
        return row.name if row else self.code


def _is_invalid_country(code: str) -> bool:
    try:
        validate_country_code(code)
    except ValidationError:
        return True
    return False


class RegionTranslation(models.Model):
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("region name")
        verbose_name_plural = _("region names")
        constraints = [
            models.UniqueConstraint(fields=["region", "language"], name="region_translation_unique")
        ]

    def __str__(self) -> str:
        return f"{self.region_id}:{self.language}"


class PlanKind(models.TextChoices):
    BASE = "base", _("Base plan")
    TOPUP = "topup", _("Top-up")


class ValidityStart(models.TextChoices):
    ON_PURCHASE = "on_purchase", _("On purchase")
    ON_FIRST_USE = "on_first_use", _("On first use")


class Stacking(models.TextChoices):
    QUEUE = "queue", _("Queue behind the current period")
    EXTEND = "extend", _("Extend the current period")
    PARALLEL = "parallel", _("Separate period, active at once")


class PlanStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    ARCHIVED = "archived", _("Archived")


class PlanQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=PlanStatus.ACTIVE)

    def with_display_data(self):
        """Everything a plan card shows, in a fixed number of queries."""
        return self.select_related("region").prefetch_related(
            "translations", "prices", "countries", "region__translations"
        )


class Plan(BaseModel):
    """A data plan as sold. Rules between fields are enforced in ``clean``:

    - unlimited (no ``data_bytes``) needs a fair-use cap and a throttle speed;
      a plan with an allowance has neither (it simply stops when used up);
    - a top-up adds to what the card already has, so it cannot ``queue``;
    - ``extend`` lengthens the current period from now, so its validity starts
      on purchase;
    - a pausable plan says for how many days (``max_pause_days`` ≥ 1); a plan
      that cannot be paused has 0.
    """

    code = models.SlugField(_("code"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=PlanKind.choices,
                            default=PlanKind.BASE)
    data_bytes = models.PositiveBigIntegerField(
        _("data (bytes)"), null=True, blank=True,
        help_text=_("Leave empty for an unlimited plan. 1 GB = 1000000000 bytes."),
    )
    fair_use_bytes = models.PositiveBigIntegerField(
        _("fair-use cap (bytes)"), null=True, blank=True,
        help_text=_("Unlimited plans only: full speed up to this many bytes, then the "
                    "throttle speed."),
    )
    throttle_kbps = models.PositiveIntegerField(
        _("throttle speed (kbit/s)"), null=True, blank=True,
        help_text=_("Unlimited plans only: speed after the fair-use cap."),
    )
    validity_days = models.PositiveIntegerField(
        _("validity (days)"), validators=[MinValueValidator(1)]
    )
    validity_start = models.CharField(
        _("validity starts"), max_length=16, choices=ValidityStart.choices,
        default=ValidityStart.ON_PURCHASE,
    )
    stacking = models.CharField(_("stacking"), max_length=10, choices=Stacking.choices,
                                default=Stacking.QUEUE)
    renewable = models.BooleanField(_("renewable"), default=True,
                                    help_text=_("Can be chosen for auto-renewal."))
    pausable = models.BooleanField(_("pausable"), default=False)
    max_pause_days = models.PositiveIntegerField(_("maximum pause (days)"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=PlanStatus.choices,
                              default=PlanStatus.ACTIVE, db_index=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True, editable=False)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, null=True, blank=True, related_name="plans",
        verbose_name=_("region"),
    )
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        constraints = [
            models.CheckConstraint(condition=models.Q(validity_days__gte=1),
                                   name="plan_validity_days_positive"),
        ]

    def __str__(self) -> str:
        return self.code

    # --- Rules between fields ------------------------------------------------------

    def clean(self):
        super().clean()
        errors: dict[str, list] = {}

        def add(field, message):
            errors.setdefault(field, []).append(message)

        if self.data_bytes is None:
            if not self.fair_use_bytes:
                add("fair_use_bytes", _("An unlimited plan needs a fair-use cap: how many "
                                        "bytes at full speed before it is slowed down."))
            if not self.throttle_kbps:
                add("throttle_kbps", _("An unlimited plan needs the speed (kbit/s) it is "
                                       "slowed down to after the fair-use cap."))
        else:
            if self.data_bytes == 0:
                add("data_bytes", _("The data allowance must be more than 0 bytes; leave it "
                                    "empty for an unlimited plan."))
            if self.fair_use_bytes is not None:
                add("fair_use_bytes", _("Only unlimited plans have a fair-use cap; clear it "
                                        "or clear the data allowance."))
            if self.throttle_kbps is not None:
                add("throttle_kbps", _("Only unlimited plans have a throttle speed; clear it "
                                       "or clear the data allowance."))
        if self.kind == PlanKind.TOPUP and self.stacking == Stacking.QUEUE:
            add("stacking", _("A top-up adds to what the card has now, so it cannot wait in "
                              "the queue: choose “extend” or “parallel”."))
        if self.stacking == Stacking.EXTEND and self.validity_start != ValidityStart.ON_PURCHASE:
            add("validity_start", _("A plan that extends the current period starts counting "
                                    "at purchase: choose “on purchase”."))
        if self.pausable and self.max_pause_days < 1:
            add("max_pause_days", _("Say for how many days a pausable plan can be paused "
                                    "(at least 1)."))
        if not self.pausable and self.max_pause_days:
            add("max_pause_days", _("This plan cannot be paused: set the maximum pause to 0 "
                                    "or tick “pausable”."))
        if errors:
            raise ValidationError(errors)

    # --- Reading ---------------------------------------------------------------------

    @property
    def is_unlimited(self) -> bool:
        return self.data_bytes is None

    @property
    def is_active(self) -> bool:
        return self.status == PlanStatus.ACTIVE

    def name_for(self, language: str | None) -> str:
        """The plan's name in ``language``, falling back to English, then to its code."""
        row = _pick_translation(self.translations.all(), language)
        return row.name if row else self.code

    def description_for(self, language: str | None) -> str:
        row = _pick_translation(self.translations.all(), language)
        return row.description if row else ""

    def price_in(self, currency: str) -> Money | None:
        """The price in ``currency``, or None when the plan is not sold in it."""
        currency = (currency or "").upper()
        for price in self.prices.all():  # uses the prefetch cache when there is one
            if price.currency == currency:
                return Money(price.amount_minor, price.currency)
        return None

    def own_country_codes(self) -> set[str]:
        return {row.country for row in self.countries.all()}

    def coverage(self) -> list[str]:
        """ISO codes of every country the plan works in: its region's plus its own, sorted."""
        codes = self.own_country_codes()
        if self.region is not None:
            codes.update(self.region.countries)
        return sorted(codes)

    def covers(self, country: str) -> bool:
        return country.upper() in self.coverage()

    # --- Status moves ------------------------------------------------------------------

    def archive(self, *, at: datetime) -> None:
        """Stop selling the plan. Periods already sold are untouched."""
        if self.status == PlanStatus.ARCHIVED:
            return
        self.status = PlanStatus.ARCHIVED
        self.archived_at = at
        self.save(update_fields=["status", "archived_at", "updated_at"])

    def restore(self) -> None:
        """Sell an archived plan again."""
        if self.status == PlanStatus.ACTIVE:
            return
        self.status = PlanStatus.ACTIVE
        self.archived_at = None
        self.save(update_fields=["status", "archived_at", "updated_at"])


class PlanTranslation(models.Model):
    """A plan's name and description in one language; adding a language adds rows."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("plan name and description")
        verbose_name_plural = _("plan names and descriptions")
        constraints = [
            models.UniqueConstraint(fields=["plan", "language"], name="plan_translation_unique")
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}:{self.language}"


class PlanPrice(models.Model):
    """What a plan costs in one currency, in integer minor units (cents, fen; yen for JPY)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(_("currency"), max_length=3,
                                validators=[validate_currency_code])
    amount_minor = models.PositiveBigIntegerField(
        _("amount (minor units)"), validators=[MinValueValidator(1)],
        help_text=_("In the currency's smallest unit: 499 is 4.99 USD; 600 is 600 JPY."),
    )

    class Meta:
        ordering = ["currency"]
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        constraints = [
            models.UniqueConstraint(fields=["plan", "currency"], name="plan_price_unique"),
            models.CheckConstraint(condition=models.Q(amount_minor__gte=1),
                                   name="plan_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount_minor} {self.currency}"

    def clean(self):
        super().clean()
        if self.currency:
            self.currency = self.currency.strip().upper()

    @property
    def money(self) -> Money:
        return Money(self.amount_minor, self.currency)


class PlanCountry(models.Model):
    """A country a plan covers beyond its region (or instead of one).

    Rows rather than a JSON list so "plans that work in Japan" is an indexed
    join on SQLite and PostgreSQL alike.
    """

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="countries")
    country = models.CharField(_("country"), max_length=2, db_index=True,
                               validators=[validate_country_code])

    class Meta:
        ordering = ["country"]
        verbose_name = _("country")
        verbose_name_plural = _("countries")
        constraints = [
            models.UniqueConstraint(fields=["plan", "country"], name="plan_country_unique")
        ]

    def __str__(self) -> str:
        return self.country

    def clean(self):
        if self.country:
            self.country = self.country.strip().upper()
        super().clean()


# --- Coupons ---------------------------------------------------------------------------------

def normalize_coupon_code(code: str) -> str:
    """Codes are case-insensitive and stored upper-case: ' welcome10 ' is WELCOME10."""
    return "".join((code or "").split()).upper()


validate_coupon_code = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$",
    _("Use 2 to 40 letters, digits, hyphens or underscores, for example WELCOME10."),
    "coupon_code",
)


class CouponKind(models.TextChoices):
    PERCENT = "percent", _("Percent off")
    FIXED = "fixed", _("Fixed amount off")


class Coupon(BaseModel):
    """A discount code: a whole percent off, or a fixed amount off per currency.

    Valid from ``valid_from`` (inclusive) to ``valid_until`` (exclusive), either
    end optional. ``max_redemptions`` limits uses by everybody, ``max_per_customer``
    uses by one customer; reserved and confirmed uses both count, released ones
    do not. No plans selected means every plan.
    """

    code = models.CharField(_("code"), max_length=40, unique=True,
                            validators=[validate_coupon_code],
                            help_text=_("What customers type; letters are not case-sensitive."))
    description = models.CharField(_("internal note"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=CouponKind.choices,
                            default=CouponKind.PERCENT)
    percent_off = models.PositiveSmallIntegerField(
        _("percent off"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("Percent coupons only: a whole number from 1 to 100."),
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True,
                                       help_text=_("The coupon stops working at this moment."))
    max_redemptions = models.PositiveIntegerField(
        _("uses in total"), null=True, blank=True,
        help_text=_("Leave empty for no limit."),
    )
    max_per_customer = models.PositiveIntegerField(
        _("uses per customer"), null=True, blank=True, default=1,
        help_text=_("Leave empty for no limit."),
    )
    plans = models.ManyToManyField(Plan, blank=True, related_name="coupons",
                                   verbose_name=_("plans"),
                                   help_text=_("Leave empty for every plan."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="percent", percent_off__gte=1, percent_off__lte=100)
                           | models.Q(kind="fixed", percent_off__isnull=True)),
                name="coupon_percent_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self):
        super().clean()
        self.code = normalize_coupon_code(self.code)
        errors = {}
        if self.kind == CouponKind.PERCENT and self.percent_off is None:
            errors["percent_off"] = _("Say how many percent off (1 to 100).")
        if self.kind == CouponKind.FIXED and self.percent_off is not None:
            errors["percent_off"] = _("A fixed-amount coupon has no percentage: clear it and "
                                      "give the amounts off per currency below.")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            errors["valid_until"] = _("The end must be after the start.")
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        self.code = normalize_coupon_code(self.code)
        super().save(*args, **kwargs)

    def amount_off_in(self, currency: str) -> int | None:
        """Fixed coupons: the amount off in ``currency`` (minor units), or None if not offered."""
        for row in self.amounts.all():
            if row.currency == currency:
                return row.amount_minor
        return None


class CouponAmount(models.Model):
    """How much a fixed-amount coupon takes off in one currency."""

    coupon = models.ForeignKey(Coupon, on_delete=models.CASCADE, related_name="amounts")
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    amount_minor = models.PositiveBigIntegerField(
        _("amount off (minor units)"), validators=[MinValueValidator(1)],
        help_text=_("In the currency's smallest unit: 500 is 5.00 USD."),
    )

    class Meta:
        ordering = ["currency"]
        verbose_name = _("amount off")
        verbose_name_plural = _("amounts off")
        constraints = [
            models.UniqueConstraint(fields=["coupon", "currency"], name="coupon_amount_unique"),
            models.CheckConstraint(condition=models.Q(amount_minor__gte=1),
                                   name="coupon_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount_minor} {self.currency}"

    def clean_fields(self, exclude=None):
        # Staff may type "cny": normalise before the currency code is validated.
        if self.currency:
            self.currency = self.currency.strip().upper()
        super().clean_fields(exclude=exclude)


class CouponRedemptionStatus(models.TextChoices):
    RESERVED = "reserved", _("Reserved")
    CONFIRMED = "confirmed", _("Confirmed")
    RELEASED = "released", _("Released")


# Uses that count against a coupon's limits.
COUPON_USED_STATES = (CouponRedemptionStatus.RESERVED, CouponRedemptionStatus.CONFIRMED)


class CouponRedemption(BaseModel):
    """One use of a coupon by one customer for one purchase (``reference``, e.g. order:<id>).

    Reserved when the order is placed, confirmed when it is paid, released when
    it is not (expired, failed, refunded). ``amount_minor`` is the discount given.
    """

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions",
                               verbose_name=_("coupon"))
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="coupon_redemptions", verbose_name=_("customer"))
    reference = models.CharField(_("reference"), max_length=120, unique=True)
    amount_minor = models.PositiveBigIntegerField(_("discount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=10,
                              choices=CouponRedemptionStatus.choices,
                              default=CouponRedemptionStatus.RESERVED)
    reserved_at = models.DateTimeField(_("reserved at"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)

    class Meta:
        ordering = ["-reserved_at", "-id"]
        verbose_name = _("coupon use")
        verbose_name_plural = _("coupon uses")
        indexes = [models.Index(fields=["coupon", "status"]),
                   models.Index(fields=["coupon", "customer", "status"])]

    def __str__(self) -> str:
        return f"{self.coupon_id} {self.reference} ({self.status})"
