"""One search box finds customers by e-mail, cards by ICCID / IMSI / MSISDN and orders
by id."""

import pytest
from django.urls import reverse

from .conftest import sign_in_staff


@pytest.fixture
def alices_card(make_card, alice):
    return make_card(owner=alice, imsi="001010123456789", msisdn="447700900123")


def search(client, q):
    return client.get(reverse("backoffice:home"), {"q": q}).content.decode()


def test_it_finds_a_customer_by_part_of_the_e_mail(client, agent, alice):
    sign_in_staff(client, agent)

    html = search(client, "ALICE@")

    assert reverse("backoffice:customer", args=[alice.public_id]) in html


@pytest.mark.parametrize("field", ["iccid", "imsi", "msisdn"])
def test_it_finds_a_card_by_each_of_its_numbers(client, agent, alices_card, field):
    sign_in_staff(client, agent)

    html = search(client, getattr(alices_card, field))

    assert reverse("backoffice:card", args=[alices_card.public_id]) in html


def test_it_finds_a_card_by_msisdn_written_with_a_plus_and_spaces(client, agent,
                                                                   alices_card):
    sign_in_staff(client, agent)

    assert alices_card.iccid in search(client, "+44 7700 900123")


def test_it_finds_nothing_for_a_short_number_and_says_how_to_search(client, agent,
                                                                    alices_card):
    sign_in_staff(client, agent)

    html = search(client, "44")

    assert alices_card.iccid not in html
    assert "Nothing matches" in html


def test_staff_accounts_are_not_listed_as_customers(client, agent):
    sign_in_staff(client, agent)

    assert "sam@staff.example" not in search(client, "staff.example").split("Results")[1]
