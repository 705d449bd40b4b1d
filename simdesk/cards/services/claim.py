"""A customer adding a card to their account with its ICCID and claim code."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import RateLimited, ServiceError

from ..iccid import iccid_normalize
from ..models import Card, CardEvent, CardState

CLAIM_WINDOW_SECONDS = 3600

_dummy_hash: str | None = None


def claim_code_normalize(raw: str) -> str:
    """Claim codes are printed in groups; spaces, hyphens and letter case do not matter."""
    return "".join(ch for ch in (raw or "") if ch.isalnum()).upper()


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = make_password("simdesk-no-such-card")
    return _dummy_hash


def _limit(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _count_attempt(key: str, *, now: datetime, limit: int) -> bool:
    """Count one attempt in the current window; True while within ``limit``."""
    window = int(now.timestamp()) // CLAIM_WINDOW_SECONDS
    full_key = f"cards:claim:{key}:{window}"
    cache.add(full_key, 0, timeout=CLAIM_WINDOW_SECONDS + 60)
    try:
        count = cache.incr(full_key)
    except ValueError:  # expired between add and incr
        cache.set(full_key, 1, timeout=CLAIM_WINDOW_SECONDS + 60)
        count = 1
    return count <= limit


def card_claim(*, customer, iccid: str, claim_code: str, now: datetime,
               ip: str | None = None) -> Card:
    """Give ``customer`` the card with ``iccid`` when ``claim_code`` matches.

    A wrong code, an unknown ICCID and a card that belongs to someone else get the
    same answer (and take about the same time), so the form cannot be used to find
    out which ICCIDs exist. Attempts are limited per customer and per IP address
    per hour (``CARD_CLAIM_LIMIT_PER_CUSTOMER``, ``CARD_CLAIM_LIMIT_PER_IP``).
    Claiming a card one already owns returns it unchanged.
    """
    within_customer = _count_attempt(f"user:{customer.pk}", now=now,
                                     limit=_limit("CARD_CLAIM_LIMIT_PER_CUSTOMER", 10))
    within_ip = ip is None or _count_attempt(f"ip:{ip}", now=now,
                                             limit=_limit("CARD_CLAIM_LIMIT_PER_IP", 30))
    if not (within_customer and within_ip):
        raise RateLimited(_("Too many attempts to add a card. Please wait an hour and try "
                            "again."))
    refused = ServiceError(
        _("We could not add this card: the ICCID and claim code do not match a card that "
          "can be added. Check both against the card and try again."),
        code="claim_refused",
    )
    code = claim_code_normalize(claim_code)
    with transaction.atomic():
        card = Card.objects.select_for_update().filter(iccid=iccid_normalize(iccid)).first()
        if card is None:
            check_password(code, _dummy())
            raise refused
        if not card.check_claim_code(code):
            raise refused
        if card.owner_id == customer.pk:
            return card
        if card.owner_id is not None or card.state == CardState.TERMINATED:
            raise refused
        card.owner = customer
        card.claimed_at = now
        card.save(update_fields=["owner", "claimed_at", "updated_at"])
        CardEvent.objects.create(card=card, kind=CardEvent.Kind.CLAIMED, at=now, actor=customer)
        return card


def card_label_set(*, card: Card, label: str, now: datetime) -> Card:
    """The customer's nickname for a card (trimmed, up to 60 characters). Safe to repeat."""
    label = (label or "").strip()
    if len(label) > 60:
        raise ServiceError(_("A card name can be at most 60 characters long."))
    card.label = label
    card.save(update_fields=["label", "updated_at"])
    return card
