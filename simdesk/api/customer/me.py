"""``/me``: who the caller is, their account preferences and their alert settings."""

import uuid
from datetime import datetime

from django.conf import settings
from ninja import Field, Schema
from pydantic import StrictBool, StrictInt

from simdesk.accounts.services import user_update_preferences
from simdesk.core.clock import utcnow
from simdesk.core.errors import ServiceError
from simdesk.notifications.selectors import notification_preferences_get
from simdesk.notifications.services import (
    EXPIRY_DAYS_RANGE,
    MAX_THRESHOLDS,
    USAGE_PERCENT_RANGE,
    notification_preferences_update,
)

from ..auth import customer_auth
from ..errors import problem_responses
from . import router

TAGS = ["account"]


class MeOut(Schema):
    public_id: uuid.UUID
    email: str
    language: str
    time_zone: str
    currency: str
    date_joined: datetime


class MeIn(Schema):
    language: str = Field(max_length=10, description="Pages and e-mails: one of "
                          + ", ".join(code for code, _name in settings.LANGUAGES) + ".")
    time_zone: str = Field(max_length=64, description="IANA time zone, e.g. Asia/Shanghai.")
    currency: str = Field(min_length=3, max_length=3,
                          description="Prices are quoted in it: one of "
                                      + ", ".join(settings.CURRENCIES) + ".")


class NotificationsIO(Schema):
    alerts: StrictBool = Field(description="Usage and expiry alerts by e-mail.")
    usage_thresholds: list[StrictInt] = Field(
        max_length=MAX_THRESHOLDS,
        description=f"Percent of a plan's data used ({USAGE_PERCENT_RANGE[0]}–"
                    f"{USAGE_PERCENT_RANGE[1]}) at which to alert, at most {MAX_THRESHOLDS}; "
                    "empty for none.")
    expiry_days: list[StrictInt] = Field(
        max_length=MAX_THRESHOLDS,
        description=f"Days before a plan ends ({EXPIRY_DAYS_RANGE[0]}–{EXPIRY_DAYS_RANGE[1]}) "
                    f"at which to alert, at most {MAX_THRESHOLDS}; empty for none.")
    marketing: StrictBool = Field(description="News and offers.")


# The account service refuses with a code; the API names the field it was about.
_PREFERENCE_FIELDS = {"invalid_language": "language", "invalid_time_zone": "time_zone",
                      "invalid_currency": "currency"}


def _notifications_out(preferences) -> dict:
    return {"alerts": preferences.alerts, "usage_thresholds": preferences.usage_thresholds,
            "expiry_days": preferences.expiry_days, "marketing": preferences.marketing}


@router.get("/me", response={200: MeOut, **problem_responses(401, 429)}, auth=customer_auth,
            tags=TAGS, summary="The signed-in customer")
def me(request):
    return request.auth


@router.put("/me", response=MeOut, auth=customer_auth, tags=TAGS,
            summary="Change your language, time zone and currency")
def me_update(request, payload: MeIn):
    try:
        user_update_preferences(user=request.auth, language=payload.language,
                                time_zone=payload.time_zone, currency=payload.currency)
    except ServiceError as error:
        if error.code in _PREFERENCE_FIELDS and not getattr(error, "errors", None):
            error.errors = [{"field": _PREFERENCE_FIELDS[error.code],
                             "message": str(error.message)}]
        raise
    return request.auth


@router.get("/me/notifications", response=NotificationsIO, auth=customer_auth, tags=TAGS,
            summary="Your alert thresholds and optional e-mails")
def notifications_get(request):
    return _notifications_out(notification_preferences_get(user=request.auth))


@router.put("/me/notifications", response=NotificationsIO, auth=customer_auth, tags=TAGS,
            summary="Change your alert thresholds and optional e-mails",
            description="Thresholds are stored without duplicates, percent ascending and days "
                        "descending. Receipts and payment e-mails always go out.")
def notifications_put(request, payload: NotificationsIO):
    preferences = notification_preferences_update(
        user=request.auth, alerts=payload.alerts, usage_thresholds=payload.usage_thresholds,
        expiry_days=payload.expiry_days, marketing=payload.marketing, now=utcnow())
    return _notifications_out(preferences)
