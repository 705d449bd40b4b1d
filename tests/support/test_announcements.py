"""Announcements: who sees which (everyone / region / plan), when (start inclusive, end
exclusive), dismissal per customer, the customer's language, and the e-mail sent once
to customers who opted in to news and offers."""

from datetime import timedelta

import pytest
from django.urls import reverse

from simdesk.cards.services import period_create
from simdesk.catalog.models import Coupon
from simdesk.notifications.models import Notification
from simdesk.notifications.services import notification_preferences_update
from simdesk.support.models import Announcement, AnnouncementTranslation, Audience
from simdesk.support.selectors import announcement_audience, announcements_for_customer
from simdesk.support.services import announcement_dismiss, announcement_email
from simdesk.support.tasks import announcements_email_sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def announce(now):
    def make(name="News", *, audience=Audience.EVERYONE, starts=None, ends=None,
             texts=None, **fields):
        announcement = Announcement.objects.create(
            internal_name=name, audience=audience,
            starts_at=starts or now - timedelta(hours=1),
            ends_at=ends or now + timedelta(days=7), **fields)
        for language, (title, body) in (texts or {"en": (f"{name} title", f"{name} body"),
                                                  "zh-hans": (f"{name} 标题", f"{name} 正文")}
                                        ).items():
            AnnouncementTranslation.objects.create(announcement=announcement,
                                                   language=language, title=title, body=body)
        return announcement

    return make


def names(announcements):
    return [a.internal_name for a in announcements]


def opt_in(user, now, marketing=True):
    notification_preferences_update(user=user, marketing=marketing, alerts=True,
                                    usage_thresholds=[80, 100], expiry_days=[3, 1], now=now)


# --- Audience ------------------------------------------------------------------------------

def test_everyone_sees_an_announcement_for_everyone(alice, bob, announce, now):
    announce("Maintenance")
    assert names(announcements_for_customer(customer=alice, now=now)) == ["Maintenance"]
    assert names(announcements_for_customer(customer=bob, now=now)) == ["Maintenance"]


def test_only_customers_with_a_card_covered_in_the_region_see_a_region_announcement(
        alice, bob, alice_card, bob_card, europe, announce, now):
    announce("Europe offer", audience=Audience.REGION, region=europe)
    assert names(announcements_for_customer(customer=alice, now=now)) == ["Europe offer"]
    assert names(announcements_for_customer(customer=bob, now=now)) == []
    assert list(announcement_audience(announcement=Announcement.objects.get())) == [alice]


def test_a_plan_of_a_wider_region_counts_for_a_region_inside_it(
        bob, make_card, make_plan, europe, announce, now):
    world = type(europe).objects.create(code="world", countries=["DE", "FR", "JP", "US"])
    card = make_card(owner=bob)
    period_create(card=card, plan=make_plan("world-1gb", region=world), source="t", now=now)
    announce("Europe offer", audience=Audience.REGION, region=europe)
    assert names(announcements_for_customer(customer=bob, now=now)) == ["Europe offer"]


def test_only_customers_with_the_plan_see_a_plan_announcement(
        alice, bob, alice_card, bob_card, japan_plan, announce, now):
    announce("Japan news", audience=Audience.PLAN, plan=japan_plan)
    assert names(announcements_for_customer(customer=bob, now=now)) == ["Japan news"]
    assert names(announcements_for_customer(customer=alice, now=now)) == []


def test_a_customer_without_cards_sees_only_announcements_for_everyone(
        make_user, europe, france_plan, announce, now):
    carol = make_user("carol@example.com")
    announce("All")
    announce("Europe", audience=Audience.REGION, region=europe)
    announce("France plan", audience=Audience.PLAN, plan=france_plan)
    assert names(announcements_for_customer(customer=carol, now=now)) == ["All"]


def test_on_a_card_page_region_and_plan_announcements_follow_that_card(
        alice, alice_card, make_card, japan_plan, europe, announce, now):
    second = make_card(owner=alice)
    period_create(card=second, plan=japan_plan, source="t:second", now=now)
    announce("Japan news", audience=Audience.PLAN, plan=japan_plan)
    announce("Europe offer", audience=Audience.REGION, region=europe,
             starts=now - timedelta(hours=2))
    assert names(announcements_for_customer(customer=alice, now=now, card=alice_card)) == [
        "Europe offer"]
    assert names(announcements_for_customer(customer=alice, now=now, card=second)) == [
        "Japan news"]
    assert names(announcements_for_customer(customer=alice, now=now)) == [
        "Japan news", "Europe offer"]


def test_a_card_of_another_customer_brings_no_targeted_announcement(
        alice, bob_card, japan_plan, announce, now):
    announce("Japan news", audience=Audience.PLAN, plan=japan_plan)
    assert announcements_for_customer(customer=alice, now=now, card=bob_card) == []


# --- Window and dismissal -----------------------------------------------------------------

def test_it_is_shown_from_its_start_until_just_before_its_end(alice, announce, now):
    starts, ends = now + timedelta(days=1), now + timedelta(days=2)
    announce("Sale", starts=starts, ends=ends)
    assert announcements_for_customer(customer=alice, now=starts - timedelta(seconds=1)) == []
    assert names(announcements_for_customer(customer=alice, now=starts)) == ["Sale"]
    assert names(announcements_for_customer(customer=alice, now=ends - timedelta(seconds=1))
                 ) == ["Sale"]
    assert announcements_for_customer(customer=alice, now=ends) == []


def test_a_dismissed_announcement_is_hidden_for_that_customer_only(alice, bob, announce, now):
    sale = announce("Sale")
    announce("Other")
    announcement_dismiss(announcement=sale, customer=alice, now=now)
    announcement_dismiss(announcement=sale, customer=alice, now=now)  # twice: no error
    assert names(announcements_for_customer(customer=alice, now=now)) == ["Other"]
    assert set(names(announcements_for_customer(customer=bob, now=now))) == {"Sale", "Other"}


# --- E-mail ----------------------------------------------------------------------------------

def test_it_e_mails_only_opted_in_customers_of_the_audience_and_only_once(
        alice, bob, make_user, alice_card, bob_card, europe, announce, now, mailoutbox,
        django_capture_on_commit_callbacks):
    carol = make_user("carol@example.com")  # opted in, but no card in Europe
    opt_in(alice, now)
    opt_in(carol, now)
    opt_in(bob, now, marketing=False)
    offer = announce("Europe offer", audience=Audience.REGION, region=europe, send_email=True)

    with django_capture_on_commit_callbacks(execute=True):
        assert announcement_email(announcement=offer, now=now) == 1
    assert [m.to for m in mailoutbox] == [["alice@example.com"]]
    assert mailoutbox[0].subject.endswith("Europe offer title")

    offer.refresh_from_db()
    assert offer.emailed_at == now
    with django_capture_on_commit_callbacks(execute=True):
        assert announcement_email(announcement=offer, now=now) == 0
        offer.emailed_at = None  # even a run that did not see the first one finished
        offer.save(update_fields=["emailed_at"])
        announcement_email(announcement=offer, now=now)
    assert len(mailoutbox) == 1
    assert Notification.objects.filter(kind="announcement").count() == 1


def test_the_e_mail_is_in_the_customers_language_with_the_coupon(
        alice, announce, now, mailoutbox, django_capture_on_commit_callbacks):
    alice.language = "zh-hans"
    alice.save(update_fields=["language"])
    opt_in(alice, now)
    coupon = Coupon.objects.create(code="SUMMER10", percent_off=10)
    offer = announce("Summer", send_email=True, coupon=coupon)
    with django_capture_on_commit_callbacks(execute=True):
        announcement_email(announcement=offer, now=now)
    assert "Summer 标题" in mailoutbox[0].subject
    assert "Summer 正文" in mailoutbox[0].body
    assert "SUMMER10" in mailoutbox[0].body


def test_no_e_mail_before_the_start_without_the_switch_or_after_the_end(
        alice, announce, now, mailoutbox, time_machine, django_capture_on_commit_callbacks):
    opt_in(alice, now)
    announce("Quiet")  # send_email off
    later = announce("Later", send_email=True, starts=now + timedelta(days=1))
    time_machine.move_to(now, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert announcements_email_sweep.call() == 0
    assert mailoutbox == []

    time_machine.move_to(now + timedelta(days=1), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert announcements_email_sweep.call() == 1
        assert announcements_email_sweep.call() == 0  # the sweep does not offer it again
    assert [m.to for m in mailoutbox] == [["alice@example.com"]]
    later.refresh_from_db()
    assert later.emailed_at is not None


# --- Portal ----------------------------------------------------------------------------------

def test_the_home_page_shows_announcements_in_the_customers_language_and_dismisses_them(
        alice, client, announce, now, time_machine):
    time_machine.move_to(now, tick=False)
    coupon = Coupon.objects.create(code="SUMMER10", percent_off=10)
    sale = announce("Summer", coupon=coupon)
    client.force_login(alice)
    page = client.get(reverse("portal:home")).content.decode()
    assert "Summer title" in page and "SUMMER10" in page
    assert reverse("portal:announcement_dismiss", args=[sale.public_id]) in page

    alice.language = "zh-hans"
    alice.save(update_fields=["language"])
    page = client.get(reverse("portal:home")).content.decode()
    assert "Summer 标题" in page and "Summer title" not in page

    response = client.post(reverse("portal:announcement_dismiss", args=[sale.public_id]),
                           {"next": reverse("portal:cards")})
    assert response.status_code == 302 and response["Location"] == reverse("portal:cards")
    assert "Summer 标题" not in client.get(reverse("portal:home")).content.decode()


def test_a_language_without_text_falls_back_to_english(alice, announce, now):
    announce("Only English", texts={"en": ("Hello", "Body")})
    shown = announcements_for_customer(customer=alice, now=now)[0]
    assert shown.translation_for("zh-hans").title == "Hello"


def test_the_card_page_shows_the_cards_announcements(alice, client, alice_card, europe,
                                                     announce, now, time_machine):
    time_machine.move_to(now, tick=False)
    announce("Europe offer", audience=Audience.REGION, region=europe)
    client.force_login(alice)
    page = client.get(reverse("portal:card_detail", args=[alice_card.public_id]))
    assert "Europe offer title" in page.content.decode()


def test_dismissing_never_redirects_off_site_and_needs_csrf(alice, announce, now, time_machine):
    from django.test import Client

    time_machine.move_to(now, tick=False)
    sale = announce("Sale")
    url = reverse("portal:announcement_dismiss", args=[sale.public_id])
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post(url, {"next": "/"}).status_code == 403

    client = Client()
    client.force_login(alice)
    response = client.post(url, {"next": "https://evil.example.com/"})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    assert client.get(url).status_code == 405
    assert sale.dismissals.count() == 1


def test_an_expired_announcement_cannot_be_dismissed_but_the_answer_is_no_error(
        alice, client, announce, now, time_machine):
    sale = announce("Sale", ends=now + timedelta(hours=1))
    time_machine.move_to(now + timedelta(hours=2), tick=False)
    client.force_login(alice)
    response = client.post(reverse("portal:announcement_dismiss", args=[sale.public_id]))
    assert response.status_code == 302
    assert sale.dismissals.count() == 0
