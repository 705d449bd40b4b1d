"""Which event types any active endpoint wants, cached so emitting is cheap when none does.

``event_emit`` sits on hot paths (usage rating debits thousands of records a
second). Most installations register no endpoint, so before writing anything it
asks this cache whether any active endpoint subscribes to the type: one cache
read (no database query with Redis; one small query with the database cache),
and nothing is written when the answer is no.

The cached value is only a set of types, never endpoint ids, so a stale "yes"
costs one extra query and nothing else. A stale "no" would drop events: the key
is deleted whenever an endpoint is saved or deleted, and again after that
transaction commits (so a reader that filled the cache from the old rows in the
meantime is corrected), and it lives at most ``SUBSCRIPTIONS_TTL`` anyway.
"""

from django.core.cache import cache
from django.db import transaction

CACHE_KEY = "integrations:subscribed-event-types:v1"
SUBSCRIPTIONS_TTL = 60  # seconds
ALL_TYPES = "*"


def subscribed_types() -> frozenset[str]:
    """Event types some active endpoint wants; ``"*"`` in it means some endpoint wants all."""
    cached = cache.get(CACHE_KEY)
    if cached is not None:
        return frozenset(cached)
    from .models import WebhookEndpoint

    types: set[str] = set()
    for event_types in WebhookEndpoint.objects.filter(active=True).values_list(
            "event_types", flat=True):
        types.update(event_types or [ALL_TYPES])
    cache.set(CACHE_KEY, sorted(types), SUBSCRIPTIONS_TTL)
    return frozenset(types)


def anyone_subscribes(event_type: str) -> bool:
    types = subscribed_types()
    return ALL_TYPES in types or event_type in types


def subscriptions_forget() -> None:
    cache.delete(CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(CACHE_KEY))
