"""Cursor pagination for every list.

A cursor is an opaque base64 string of the last item's (sort key, public id);
the next page starts strictly after it, so items added or removed meanwhile
never make a walk repeat or skip the rest. ``limit`` is 1–100.

    @router.get("/cards", response=Page[CardOut], auth=customer_auth)
    def list_cards(request, page: Query[CursorParams]):
        return paginate(cards_for_customer(customer=request.auth), params=page,
                        key="created_at", descending=True)
"""

import base64
import binascii
import json
from typing import Generic, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from ninja import Field, Schema

from simdesk.core.errors import ServiceError

T = TypeVar("T")
MAX_LIMIT = 100
DEFAULT_LIMIT = 50


class CursorParams(Schema):
    cursor: str | None = Field(None, description="The `next_cursor` of the previous page.")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page (1–100).")


class Page(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page.")


def _encode(values: list) -> str:
    raw = json.dumps(values, default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != 2:
        raise ServiceError(_("The cursor is not valid. Start again without one."),
                           code="invalid_cursor")
    return values


def _value(obj, path: str):
    for part in path.split("__"):
        obj = getattr(obj, part)
    return obj


def paginate(queryset: QuerySet, *, params: CursorParams, key: str = "created_at",
             descending: bool = True, tiebreak: str = "public_id") -> dict:
    """One page of ``queryset`` ordered by (``key``, ``tiebreak``), after ``params.cursor``.

    ``key`` must not be null for any row; ``tiebreak`` must be unique.
    """
    sign = "-" if descending else ""
    queryset = queryset.order_by(f"{sign}{key}", f"{sign}{tiebreak}")
    if params.cursor:
        last_key, last_tiebreak = _decode(params.cursor)
        op = "lt" if descending else "gt"
        try:
            queryset = queryset.filter(
                Q(**{f"{key}__{op}": last_key})
                | Q(**{key: last_key, f"{tiebreak}__{op}": last_tiebreak}))
            rows = list(queryset[: params.limit + 1])
        except (ValueError, TypeError, DjangoValidationError):  # a forged cursor's values
            raise ServiceError(_("The cursor is not valid. Start again without one."),
                               code="invalid_cursor") from None
    else:
        rows = list(queryset[: params.limit + 1])
    items, more = rows[: params.limit], len(rows) > params.limit
    next_cursor = None
    if more:
        last = items[-1]
        next_cursor = _encode([_value(last, key), _value(last, tiebreak)])
    return {"items": items, "next_cursor": next_cursor}
