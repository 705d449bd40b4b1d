"""The customer's card pages: My cards, one card, adding a card, the home page list.

Cards, plans, periods and usage are made through the cards and catalog services,
the way staff imports, sales and the network make them.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from simdesk.cards.iccid import iccid_with_check_digit
from simdesk.cards.models import Card
from simdesk.cards.services import card_claim, card_debit_usage, cards_import_rows, period_create
from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
from simdesk.catalog.services import plan_upsert

pytestmark = pytest.mark.django_db

GB = 10**9
MB = 10**6
ICCID = iccid_with_check_digit("894450010000012345")
OTHER_ICCID = iccid_with_check_digit("894450010000067890")
UNKNOWN_ICCID = iccid_with_check_digit("894450010000099999")
LPA = "1$smdp.example.com$K2-ALICE-0001"


@pytest.fixture
def clock(now):
    """The pages read the wall clock: it stands still at ``now``."""
    with time_machine.travel(now, tick=False):
        yield now


@pytest.fixture
def plans(db, now):
    """A 5 GB / 30-day plan and an unlimited one with a 20 GB fair-use cap."""
    common = {"kind": PlanKind.BASE, "validity_start": ValidityStart.ON_PURCHASE,
              "stacking": Stacking.QUEUE}
    five = plan_upsert(code="europe-5gb-30d",
                       terms={**common, "data_bytes": 5 * GB, "validity_days": 30},
                       translations={"en": ("Europe 5 GB", "5 GB for 30 days"),
                                     "zh-hans": ("欧洲 5 GB", "30 天 5 GB")},
                       prices={"USD": 1500}, countries=["FR"], now=now)
    unlimited = plan_upsert(code="europe-unlimited-7d",
                            terms={**common, "data_bytes": None, "fair_use_bytes": 20 * GB,
                                   "throttle_kbps": 512, "validity_days": 7},
                            translations={"en": ("Europe Unlimited", "Unlimited for 7 days")},
                            prices={"USD": 2500}, countries=["FR"], now=now)
    return {"five": five, "unlimited": unlimited}


@pytest.fixture
def import_card(db, now):
    """Staff import one card (claim code and, for eSIMs, activation code)."""
    def make(iccid, claim_code="AB12-CD34", activation_code=""):
        report = cards_import_rows(rows=[(2, {"iccid": iccid, "claim_code": claim_code,
                                              "activation_code": activation_code})], now=now)
        assert report.ok, report.errors
        return Card.objects.get(iccid=iccid)

    return make


@pytest.fixture
def alice_card(alice, import_card, plans, now):
    """alice's eSIM: 5 GB bought two days ago, 2.9 GB used yesterday; a second 5 GB queued."""
    import_card(ICCID, activation_code=LPA)
    card = card_claim(customer=alice, iccid=ICCID, claim_code="ab12cd34",
                      now=now - timedelta(days=3))
    period_create(card=card, plan=plans["five"], source="test:first",
                  now=now - timedelta(days=2))
    card_debit_usage(card=card, bytes=2_900 * MB, reference="usage:test:1",
                     at=now - timedelta(days=1), now=now - timedelta(minutes=3))
    card_debit_usage(card=card, bytes=0, reference="usage:test:2",
                     at=now - timedelta(minutes=3), now=now - timedelta(minutes=3))
    period_create(card=card, plan=plans["five"], source="test:second", now=now)
    card.refresh_from_db()
    return card


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def text_of(response) -> str:
    """The page's visible text, whitespace collapsed (for reading numbers and sentences)."""
    html = response.content.decode()
    html = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


# --- Access -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["portal:cards", "portal:card_add"])
def test_it_sends_anonymous_visitors_to_the_login_page(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_it_sends_anonymous_visitors_of_a_card_page_to_the_login_page(client, alice_card):
    response = client.get(reverse("portal:card_detail", args=[alice_card.public_id]))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert "K2-ALICE" not in response.content.decode()


def test_it_answers_404_for_another_customers_card_without_telling_anything(
    client, make_user, alice_card, clock
):
    # Given bob is signed in, when he opens alice's card page,
    client.force_login(make_user("bob@example.com"))
    response = client.get(reverse("portal:card_detail", args=[alice_card.public_id]))

    # then it does not exist for him: a plain 404, no ICCID, no activation code.
    assert response.status_code == 404
    body = response.content.decode()
    assert ICCID[-4:] not in body and "K2-ALICE" not in body


def test_it_answers_404_for_an_unknown_card_id(signed_in, clock):
    response = signed_in.get("/cards/00000000-0000-4000-8000-000000000000/")
    assert response.status_code == 404
    assert signed_in.get("/cards/12/").status_code == 404


# --- My cards ---------------------------------------------------------------------------


def test_it_shows_my_cards_with_data_left_validity_and_last_update(signed_in, alice_card, clock):
    response = signed_in.get(reverse("portal:cards"))

    assert response.status_code == 200
    text = text_of(response)
    assert "2.1 GB of 5 GB left" in text
    assert "Card ending in " + ICCID[-4:] in text
    assert "Active" in text
    # Valid 30 days from its purchase two days ago, shown in alice's time zone (UTC).
    assert "Valid until June 29, 2026, noon" in text
    assert "updated 3 minutes ago" in text
    html = response.content.decode()
    assert f"{ICCID[:-4]}<strong>{ICCID[-4:]}</strong>" in html
    assert reverse("portal:card_detail", args=[alice_card.public_id]) in html
    assert 'class="meter-fill" width="42"' in html  # 2.1 of 5 GB left


def test_it_shows_dates_in_the_customers_time_zone(signed_in, alice, alice_card, clock):
    alice.time_zone = "Asia/Shanghai"
    alice.save(update_fields=["time_zone"])

    text = text_of(signed_in.get(reverse("portal:cards")))

    assert "Valid until June 29, 2026, 8 p.m. CST" in text


def test_it_shows_an_unlimited_card_with_its_fair_use_cap(
    signed_in, alice, import_card, plans, now, clock
):
    import_card(OTHER_ICCID, claim_code="ZZ99ZZ99")
    card = card_claim(customer=alice, iccid=OTHER_ICCID, claim_code="ZZ99ZZ99", now=now)
    period_create(card=card, plan=plans["unlimited"], source="test:unl", now=now)
    card_debit_usage(card=card, bytes=5 * GB, reference="usage:test:u", at=now, now=now)

    text = text_of(signed_in.get(reverse("portal:cards")))

    assert "Unlimited , fair use 20 GB" in text
    assert "5 GB of the 20 GB fair-use allowance used" in text


def test_it_points_a_customer_without_cards_to_adding_one_and_to_the_plans(signed_in, clock):
    response = signed_in.get(reverse("portal:cards"))

    assert response.status_code == 200
    assert "No cards yet" in text_of(response)
    html = response.content.decode()
    assert f'href="{reverse("portal:card_add")}"' in html
    assert 'href="/plans/"' in html


def test_it_reads_my_cards_in_a_bounded_number_of_queries(
    signed_in, alice, import_card, plans, now, clock, django_assert_max_num_queries
):
    # Given alice has six cards, each with a plan,
    for n in range(6):
        iccid = iccid_with_check_digit(f"8944500100001000{n:02d}")
        import_card(iccid, claim_code="CODE1234")
        card = card_claim(customer=alice, iccid=iccid, claim_code="CODE1234", now=now)
        period_create(card=card, plan=plans["five"], source=f"test:many:{n}", now=now)

    # then the page reads the session, the user and the cards, plus one balance read per
    # card (card_balance reads one card's periods) — never one per period or per plan.
    with django_assert_max_num_queries(4):
        response = signed_in.get(reverse("portal:cards"))
    assert response.status_code == 200
    assert text_of(response).count("5 GB of 5 GB left") == 6


# --- One card -------------------------------------------------------------------------


def test_it_shows_the_card_page_with_numbers_queue_chart_and_activation(
    signed_in, alice_card, clock
):
    response = signed_in.get(reverse("portal:card_detail", args=[alice_card.public_id]))

    assert response.status_code == 200
    text = text_of(response)
    html = response.content.decode()
    assert "2.1 GB of 5 GB left" in text
    assert "Europe 5 GB" in text
    assert "Europe 5 GB : 5 GB for 30 days, starts when the current plan ends." in text
    assert "Auto-renewal: off" in text
    assert 'href="/plans/"' in html
    # The chart: 30 bars, yesterday's 2.9 GB in a tooltip.
    assert html.count("<rect x=") == 30
    assert "May 31: 2.9 GB" in html
    # The activation code: QR code, the full LPA string in a read-only field, the iOS link.
    assert '<svg role="img" viewBox=' in html and 'class="qr-code"' in html
    assert 'value="LPA:1$smdp.example.com$K2-ALICE-0001" readonly' in html
    assert ("https://esimsetup.apple.com/esim_qrcode_provisioning?carddata="
            "LPA%3A1%24smdp.example.com%24K2-ALICE-0001") in html


def test_it_leaves_out_the_install_section_for_a_card_without_activation_code(
    signed_in, alice, import_card, now, clock
):
    import_card(OTHER_ICCID, claim_code="ZZ99ZZ99")
    card = card_claim(customer=alice, iccid=OTHER_ICCID, claim_code="ZZ99ZZ99", now=now)

    response = signed_in.get(reverse("portal:card_detail", args=[card.public_id]))

    assert response.status_code == 200
    assert "Install this eSIM" not in text_of(response)
    assert "No active plan" in text_of(response)
    assert "esimsetup" not in response.content.decode()


def test_it_shows_the_card_page_in_chinese(signed_in, alice, alice_card, clock):
    alice.language = "zh-hans"
    alice.save(update_fields=["language"])

    response = signed_in.get(reverse("portal:card_detail", args=[alice_card.public_id]))

    assert response.status_code == 200
    assert "欧洲 5 GB" in text_of(response)


# --- Adding a card ----------------------------------------------------------------------


def test_it_adds_a_card_with_its_iccid_and_claim_code(signed_in, alice, import_card, clock):
    import_card(OTHER_ICCID, claim_code="ZZ99-ZZ99")

    response = signed_in.post(reverse("portal:card_add"),
                              {"iccid": " ".join([OTHER_ICCID[:4], OTHER_ICCID[4:]]),
                               "claim_code": "zz99 zz99"}, follow=True)

    card = Card.objects.get(iccid=OTHER_ICCID)
    assert card.owner == alice
    assert response.redirect_chain == [
        (reverse("portal:card_detail", args=[card.public_id]), 302)]
    assert f"The card ending in {OTHER_ICCID[-4:]} was added to your account." in text_of(
        response)


REFUSED = "We could not add this card: the ICCID and claim code do not match"


@pytest.mark.parametrize("iccid", [OTHER_ICCID, UNKNOWN_ICCID], ids=["wrong-code", "unknown"])
def test_it_gives_the_same_answer_for_a_wrong_code_and_an_unknown_iccid(
    signed_in, import_card, clock, iccid
):
    import_card(OTHER_ICCID, claim_code="ZZ99ZZ99")

    response = signed_in.post(reverse("portal:card_add"),
                              {"iccid": iccid, "claim_code": "WRONG123"})

    assert response.status_code == 200
    assert REFUSED in text_of(response)
    assert Card.objects.get(iccid=OTHER_ICCID).owner is None


def test_it_answers_wrong_code_and_unknown_iccid_with_identical_pages(
    signed_in, import_card, clock
):
    import_card(OTHER_ICCID, claim_code="ZZ99ZZ99")

    def page(iccid):
        html = signed_in.post(reverse("portal:card_add"),
                              {"iccid": iccid, "claim_code": "WRONG123"}).content.decode()
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html).replace(iccid, "")

    assert page(OTHER_ICCID) == page(UNKNOWN_ICCID)


def test_it_points_at_a_typing_mistake_in_the_iccid(signed_in, clock):
    response = signed_in.post(reverse("portal:card_add"),
                              {"iccid": ICCID[:-1] + str((int(ICCID[-1]) + 1) % 10),
                               "claim_code": "AB12CD34"})

    assert response.status_code == 200
    assert "typing mistake" in text_of(response)


def test_it_refuses_after_too_many_attempts_with_a_rate_limit_message(
    signed_in, import_card, clock, settings
):
    settings.CARD_CLAIM_LIMIT_PER_CUSTOMER = 3
    import_card(OTHER_ICCID, claim_code="ZZ99ZZ99")
    for _ in range(3):
        signed_in.post(reverse("portal:card_add"), {"iccid": UNKNOWN_ICCID, "claim_code": "X1X1X1"})

    # Even the right code is refused once the limit is reached.
    response = signed_in.post(reverse("portal:card_add"),
                              {"iccid": OTHER_ICCID, "claim_code": "ZZ99ZZ99"})

    assert response.status_code == 429
    assert "Too many attempts to add a card" in text_of(response)
    assert Card.objects.get(iccid=OTHER_ICCID).owner is None


def test_it_needs_a_csrf_token_to_add_a_card(alice, import_card, clock):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    import_card(OTHER_ICCID, claim_code="ZZ99ZZ99")

    response = client.post(reverse("portal:card_add"),
                           {"iccid": OTHER_ICCID, "claim_code": "ZZ99ZZ99"})

    assert response.status_code == 403
    assert Card.objects.get(iccid=OTHER_ICCID).owner is None


def test_it_shows_the_add_form_with_a_csrf_token(signed_in, clock):
    response = signed_in.get(reverse("portal:card_add"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="iccid"' in html and 'name="claim_code"' in html


# --- Home page --------------------------------------------------------------------------


def test_it_lists_the_cards_compactly_on_the_signed_in_home_page(signed_in, alice_card, clock):
    response = signed_in.get(reverse("portal:home"))

    text = text_of(response)
    assert "Card ending in " + ICCID[-4:] in text
    assert "2.1 GB of 5 GB left" in text
    assert reverse("portal:card_detail", args=[alice_card.public_id]) in (
        response.content.decode())


def test_it_invites_a_customer_without_cards_to_add_one_from_home(signed_in, clock):
    html = signed_in.get(reverse("portal:home")).content.decode()

    assert f'href="{reverse("portal:card_add")}"' in html


def test_it_says_so_when_the_card_is_already_in_the_account(signed_in, alice_card, clock):
    response = signed_in.post(reverse("portal:card_add"),
                              {"iccid": ICCID, "claim_code": "AB12-CD34"}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("portal:card_detail",
                                                     args=[alice_card.public_id])
    assert f"The card ending in {ICCID[-4:]} is already in your account." in text_of(response)


def test_it_shows_a_first_use_plan_as_days_from_first_use(
    signed_in, alice, import_card, now, clock
):
    # Given a 7-day plan whose clock starts at first use, bought and not used yet,
    plan = plan_upsert(code="japan-3gb-7d",
                       terms={"kind": PlanKind.BASE, "data_bytes": 3 * GB, "validity_days": 7,
                              "validity_start": ValidityStart.ON_FIRST_USE,
                              "stacking": Stacking.QUEUE},
                       translations={"en": ("Japan 3 GB", "3 GB for 7 days")},
                       prices={"USD": 900}, countries=["JP"], now=now)
    import_card(OTHER_ICCID, claim_code="ZZ99ZZ99")
    card = card_claim(customer=alice, iccid=OTHER_ICCID, claim_code="ZZ99ZZ99", now=now)
    period_create(card=card, plan=plan, source="test:first-use", now=now)

    text = text_of(signed_in.get(reverse("portal:card_detail", args=[card.public_id])))

    # then it has all its data and 7 days that start with the first use.
    assert "3 GB of 3 GB left" in text
    assert "Valid 7 days from first use" in text
    assert "no usage reported yet" in text
