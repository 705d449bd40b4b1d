"""The card page's ledger says in words what a usage row's reference stands for: a rating
run (with how many of the card's records it rated) or one usage record and its source."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from simdesk.cards.services import period_create
from simdesk.usage import selectors
from simdesk.usage.models import RatingRun, rating_reference
from simdesk.usage.services import UsageRecord, usage_rate

from .conftest import sign_in_staff

pytestmark = pytest.mark.django_db

MB = 1_000_000


def rec(record_id, card, mb, at):
    return UsageRecord(record_id=record_id, card_id=card.pk, bytes_up=0, bytes_down=mb * MB,
                       started_at=at - timedelta(minutes=1), ended_at=at)


@pytest.fixture
def used_card(make_card, make_plan, alice, now):
    """alice's 500 MB card: run 1 rated one plain record (50 MB); run 2 rated a and b
    (100 MB each, one debit) and, a quarter hour later, c (300 MB, which used the period
    up: a row of its own), all three from the source "acme-eu"; c's record id holds a
    colon."""
    card = make_card(owner=alice)
    period_create(card=card, plan=make_plan(data_bytes=500 * MB), source="o1", now=now)
    at, later = now + timedelta(minutes=1), now + timedelta(minutes=16)
    usage_rate([rec("x", card, 50, at)], source="radius", now=at)
    usage_rate([rec("a", card, 100, at), rec("b", card, 100, at),
                rec("c:1", card, 300, later)], source="acme-eu", now=later)
    first, second = RatingRun.objects.order_by("pk")
    return card, first, second


def card_page(client, card):
    page = client.get(reverse("backoffice:card", args=[card.public_id]))
    assert page.status_code == 200
    return page.content.decode()


def test_it_names_the_rating_run_and_counts_the_cards_records_in_it(client, agent, used_card):
    card, first, second = used_card
    sign_in_staff(client, agent)

    html = card_page(client, card)

    assert f"Usage, rating run {first.pk} (1 record of this card)" in html
    assert f"Usage, rating run {second.pk} (3 records of this card)" in html
    # the reference itself stays on the page, to search and quote
    assert rating_reference(first.pk, card.pk) in html
    assert f"{rating_reference(second.pk, card.pk)}:0" in html


def test_it_names_a_record_and_its_source_even_with_a_colon_in_the_record_id(
        client, agent, used_card):
    card, _first, _second = used_card
    sign_in_staff(client, agent)

    html = card_page(client, card)

    assert "Usage record c:1 from acme-eu" in html
    assert "usage:acme-eu:c:1" in html


def test_it_counts_records_in_one_query_for_the_whole_page(client, agent, used_card, now):
    card, _first, _second = used_card
    for n in range(5):
        usage_rate([rec(f"more-{n}", card, 1, now + timedelta(hours=n + 1))], source="radius",
                   now=now + timedelta(hours=n + 1))
    sign_in_staff(client, agent)

    with CaptureQueriesContext(connection) as queries:
        html = card_page(client, card)

    record_reads = [q["sql"] for q in queries.captured_queries if '"usage_record"' in q["sql"]]
    assert len(record_reads) == 1
    assert html.count("(1 record of this card)") == 6


def test_runs_too_large_to_count_cheaply_are_named_without_a_count(
        client, agent, used_card, monkeypatch):
    card, first, second = used_card
    monkeypatch.setattr(selectors, "RUN_RECORDS_BUDGET", 0)
    sign_in_staff(client, agent)

    html = card_page(client, card)

    assert f"Usage, rating run {first.pk}<br>" in html
    assert f"Usage, rating run {second.pk}<br>" in html
    assert "of this card" not in html


def test_other_references_show_as_they_are(client, agent, used_card):
    card, _first, _second = used_card
    sign_in_staff(client, agent)

    html = card_page(client, card)

    assert "<td><code>purchase:o1</code></td>" in html


def test_it_renders_in_simplified_chinese(client, agent, used_card):
    card, first, _second = used_card
    agent.language = "zh-hans"
    agent.save(update_fields=["language"])
    sign_in_staff(client, agent)

    html = card_page(client, card)

    assert "流水记录" in html  # the page is in Chinese ("Ledger")
    # each usage reference has its words before it (English until translators fill the
    # catalogue): the run's number, the record and its source
    run_words = label_of(html, rating_reference(first.pk, card.pk))
    record_words = label_of(html, "usage:acme-eu:c:1")
    assert str(first.pk) in run_words and "rating:" not in run_words
    assert "acme-eu" in record_words and "usage:" not in record_words


def label_of(html: str, reference: str) -> str:
    match = re.search(rf'<td>([^<]+)<br><code class="muted">{re.escape(reference)}</code>', html)
    assert match, reference
    return match.group(1)
