"""Cursor pagination: a walk visits every item once, even if items change meanwhile."""

import base64
from datetime import timedelta

from simdesk.accounts.models import PersonalAccessToken
from simdesk.accounts.tokens import token_create


def walk(client, url):
    seen, cursor, pages = [], None, 0
    while True:
        response = client.get(url, {"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


def test_it_walks_every_item_once(alice, alice_api, now, at_now):
    # alice_token is one; four more, two of them created in the same instant.
    for i, minutes in enumerate([1, 2, 2, 3]):
        token_create(user=alice, name=f"t{i}", now=now + timedelta(minutes=minutes))

    seen, pages = walk(alice_api, "/api/v1/tokens")

    expected = [str(public_id) for public_id in PersonalAccessToken.objects.filter(user=alice)
                .order_by("-created_at", "-public_id").values_list("public_id", flat=True)]
    assert seen == expected
    assert len(set(seen)) == 5
    assert pages == 3


def test_it_does_not_repeat_items_when_new_ones_arrive_during_a_walk(alice, alice_api, now,
                                                                       at_now):
    for i in range(3):
        token_create(user=alice, name=f"t{i}", now=now + timedelta(minutes=i + 1))
    first = alice_api.get("/api/v1/tokens", {"limit": 2}).json()
    token_create(user=alice, name="newest", now=now + timedelta(minutes=10))

    rest = alice_api.get("/api/v1/tokens", {"limit": 10, "cursor": first["next_cursor"]}).json()

    ids = [item["id"] for item in first["items"] + rest["items"]]
    assert len(ids) == len(set(ids)) == 4


def test_it_answers_400_for_a_forged_cursor(alice_api, at_now):
    forged = [
        "!!!",
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b'["not a date", "not a uuid"]').decode(),
    ]
    for cursor in forged:
        response = alice_api.get("/api/v1/tokens", {"cursor": cursor})
        assert response.status_code == 400, cursor
        assert response.json()["code"] == "invalid_cursor"


def test_it_refuses_a_limit_over_100(alice_api, at_now):
    assert alice_api.get("/api/v1/tokens", {"limit": 101}).status_code == 400
    assert alice_api.get("/api/v1/tokens", {"limit": 100}).status_code == 200
