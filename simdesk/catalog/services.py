"""Writes to the catalog: creating, updating and archiving plans and regions."""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from simdesk.core.errors import Conflict, ServiceError

from .models import (
    FALLBACK_LANGUAGE,
    Plan,
    PlanCountry,
    PlanPrice,
    PlanTranslation,
    Region,
    RegionTranslation,
)


def _raise_as_service_error(error: ValidationError, *, what: str, prefix: str = "",
                            field: str | None = None) -> None:
    """A ServiceError whose ``errors`` name each invalid field (``prefix`` + its name, or
    ``field`` for all of them)."""
    messages = "; ".join(f"{name}: {' '.join(msgs)}" if name != "__all__" else " ".join(msgs)
                         for name, msgs in error.message_dict.items())
    refused = ServiceError(f"{what}: {messages}", code="invalid_catalog_entry")
    refused.errors = [
        {"field": field or (prefix + name if name != "__all__" else prefix.rstrip(".") or what),
         "message": " ".join(msgs)}
        for name, msgs in error.message_dict.items()]
    raise refused from error


def _refuse(message: str, *, field: str) -> None:
    refused = ServiceError(message, code="invalid_catalog_entry")
    refused.errors = [{"field": field, "message": message}]
    raise refused


def region_upsert(*, code: str, countries: Iterable[str], names: Mapping[str, str],
                  now: datetime) -> Region:
    """Create the region ``code`` or bring it to exactly these countries and names.

    Validated like the back office form; all or nothing. Safe to call repeatedly.
    """
    with transaction.atomic():
        region = Region.objects.filter(code=code).first() or Region(code=code)
        region.countries = list(countries)
        try:
            region.full_clean()
        except ValidationError as error:
            _raise_as_service_error(error, what=code)
        region.save()
        for language, name in names.items():
            RegionTranslation.objects.update_or_create(
                region=region, language=language, defaults={"name": name}
            )
        region.translations.exclude(language__in=list(names)).delete()
    return region


def plan_upsert(
    *,
    code: str,
    terms: Mapping[str, Any],
    translations: Mapping[str, tuple[str, str]],
    prices: Mapping[str, int],
    countries: Iterable[str] = (),
    now: datetime,
) -> Plan:
    """Create the plan ``code`` or bring it to exactly these terms, names, prices and countries.

    ``terms`` are Plan fields (``data_bytes``, ``validity_days``, ``region``…);
    ``translations`` maps a language to (name, description); ``prices`` maps a
    currency to integer minor units. The rules of ``Plan.clean`` apply, and a
    plan must have an English name, a price and some coverage. Everything is
    written or nothing is. Safe to call repeatedly: a second call changes nothing.
    Periods already sold keep the terms they copied.
    """
    countries = sorted({c.strip().upper() for c in countries})
    if FALLBACK_LANGUAGE not in translations:
        _refuse(_("%(code)s: a plan needs a name in English.") % {"code": code},
                field="translations")
    if not prices:
        _refuse(_("%(code)s: a plan needs at least one price.") % {"code": code},
                field="prices")
    if terms.get("region") is None and not countries:
        _refuse(_("%(code)s: a plan needs a region or at least one country.") % {"code": code},
                field="countries")
    try:
        with transaction.atomic():
            plan = Plan.objects.filter(code=code).first() or Plan(code=code)
            for field, value in terms.items():
                setattr(plan, field, value)
            try:
                plan.full_clean()
            except ValidationError as error:
                _raise_as_service_error(error, what=code)
            plan.save()

            for language, (name, description) in translations.items():
                row = PlanTranslation(plan=plan, language=language, name=name,
                                      description=description)
                try:
                    row.full_clean(exclude=["plan"], validate_unique=False)
                except ValidationError as error:
                    _raise_as_service_error(error, what=code, prefix=f"translations.{language}.")
                PlanTranslation.objects.update_or_create(
                    plan=plan, language=language,
                    defaults={"name": name, "description": description})
            plan.translations.exclude(language__in=list(translations)).delete()

            for currency, amount_minor in prices.items():
                price = PlanPrice(plan=plan, currency=currency, amount_minor=amount_minor)
                try:
                    price.full_clean(exclude=["plan"], validate_unique=False)
                except ValidationError as error:
                    _raise_as_service_error(error, what=code, prefix=f"prices.{currency}.")
                PlanPrice.objects.update_or_create(
                    plan=plan, currency=price.currency, defaults={"amount_minor": amount_minor}
                )
            plan.prices.exclude(currency__in=[c.upper() for c in prices]).delete()

            for country in countries:
                row = PlanCountry(plan=plan, country=country)
                try:
                    row.full_clean(exclude=["plan"], validate_unique=False)
                except ValidationError as error:
                    _raise_as_service_error(error, what=code, field="countries")
                PlanCountry.objects.get_or_create(plan=plan, country=country)
            plan.countries.exclude(country__in=countries).delete()
    except IntegrityError as error:  # another writer created the same plan meanwhile
        raise Conflict(_("%(code)s was changed by someone else at the same moment. Try "
                         "again.") % {"code": code}, code="plan_changed") from error
    return plan


def plan_archive(*, plan: Plan, now: datetime) -> Plan:
    """Stop selling ``plan``: it leaves the plans pages and cannot be ordered.

    Periods already sold and auto-renewal settings are not touched here.
    Safe to call twice: archiving an archived plan changes nothing.
    """
    plan.archive(at=now)
    return plan


def plan_restore(*, plan: Plan, now: datetime) -> Plan:
    """Sell an archived plan again. Safe to call twice."""
    plan.restore()
    return plan
