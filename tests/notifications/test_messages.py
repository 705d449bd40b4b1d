"""Each message, as the customer reads it: subject, plain text and HTML, in their language
and time zone."""

import pytest
from django.core import mail
from django.utils import translation

from simdesk.notifications.messages import ios_install_url, lpa_payload

from .conftest import LPA, decode_qr_png, html_of

pytestmark = pytest.mark.django_db


def test_it_sends_the_order_receipt_in_english_with_text_and_html(alice, send_receipt):
    send_receipt(alice)

    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert "Your receipt for Japan 10 GB" in message.subject
    html = html_of(message)
    for body in (message.body, html):
        assert "Japan 10 GB" in body
        assert "8944500102198304826" in body
        assert "$17.00" in body
        assert "$1.70" in body
        assert "$15.30" in body
        assert "10 GB" in body
    assert '<html lang="en">' in html
    assert "http://127.0.0.1:8000/orders/5d1c7f6e-1f3b-4c1e-9a55-6f1d2b3c4d5e/receipt/" in html
    assert "<img" not in html  # no images at all, let alone external ones


def test_it_leaves_the_discount_out_when_there_was_none(alice, send_receipt):
    send_receipt(alice, discount_minor=0, total_minor=1700)

    [message] = mail.outbox
    assert "Discount" not in message.body
    assert "Discount" not in html_of(message)


def test_it_shows_receipt_times_in_the_customers_time_zone(make_user, send_receipt):
    # Given a customer in Tokyo (UTC+9), paid at 12:00 UTC
    tokyo = make_user("kenji@example.com", time_zone="Asia/Tokyo")

    send_receipt(tokyo)

    [message] = mail.outbox
    assert "9 p.m." in message.body  # 21:00 in Tokyo
    assert "Asia/Tokyo" in message.body
    assert "June 1, 2026" in message.body
    assert "July 1, 2026" in message.body


def test_it_renders_in_the_customers_language_under_translation_override(
        make_user, send_receipt, monkeypatch):
    # Given a customer who reads Chinese
    li = make_user("li@example.com", language="zh-hans")
    seen = []
    original = translation.override

    def spy(language, *args, **kwargs):
        seen.append(language)
        return original(language, *args, **kwargs)

    monkeypatch.setattr(translation, "override", spy)

    send_receipt(li)

    [message] = mail.outbox
    assert "zh-hans" in seen
    assert '<html lang="zh-hans">' in html_of(message)
    # Money and dates in the Chinese formats, whatever the strings' translation state.
    assert "US$17.00" in message.body
    assert "2026年6月1日" in message.body
    assert translation.get_language() == "en"  # the worker's language is left as it was


def test_it_falls_back_to_the_site_language_when_the_customer_chose_none(alice, send_receipt):
    assert alice.language == ""

    notification = send_receipt(alice)

    assert notification.language == "en"
    assert '<html lang="en">' in html_of(mail.outbox[0])


def test_it_formats_money_in_currencies_without_decimals(alice, send_receipt):
    send_receipt(alice, currency="JPY", amount_minor=2500, discount_minor=0, total_minor=2500)

    assert "¥2,500" in mail.outbox[0].body


def test_it_sends_the_esim_activation_with_the_qr_inline_and_attached(alice, send_activation):
    send_activation(alice)

    [message] = mail.outbox
    assert "Your eSIM is ready to install" in message.subject
    html = html_of(message)
    assert 'src="cid:esim-qr@simdesk"' in html
    assert '<html lang="en">' in html
    # The QR code travels as an inline PNG part named by the same Content-ID.
    parsed = message.message()
    assert parsed.get_content_type() == "multipart/related"
    [image] = [part for part in parsed.walk() if part.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<esim-qr@simdesk>"
    assert image.get_filename() == "esim-8944500102198304826.png"
    png = image.get_payload(decode=True)
    assert png.startswith(b"\x89PNG")
    assert decode_qr_png(png) == [LPA]


def test_it_gives_the_activation_code_as_text_and_the_ios_link(alice, send_activation):
    send_activation(alice)

    [message] = mail.outbox
    expected_link = ("https://esimsetup.apple.com/esim_qrcode_provisioning?carddata="
                     "LPA%3A1%24smdp.example.com%24K2-1ABCD-XYZ99")
    for body in (message.body, html_of(message)):
        assert LPA in body
        assert "smdp.example.com" in body
        assert "K2-1ABCD-XYZ99" in body
        assert expected_link in body


def test_it_adds_the_lpa_prefix_to_a_stored_activation_code(alice, send_activation):
    # Cards store activation codes without the LPA: prefix.
    send_activation(alice, activation_code="1$smdp.example.com$K2-1ABCD-XYZ99")

    assert LPA in mail.outbox[0].body


def test_it_builds_the_payload_and_ios_link_from_either_form():
    assert lpa_payload("1$a.example$X") == "LPA:1$a.example$X"
    assert lpa_payload("LPA:1$a.example$X") == "LPA:1$a.example$X"
    assert ios_install_url("1$a.example$X").endswith("carddata=LPA%3A1%24a.example%24X")


def test_it_tells_the_customer_why_a_payment_failed_and_where_to_retry(
        alice, send_payment_failed):
    send_payment_failed(alice)

    [message] = mail.outbox
    assert "Your payment did not go through" in message.subject
    html = html_of(message)
    for body in (message.body, html):
        assert "Your bank declined the payment." in body
        assert "http://127.0.0.1:8000/orders/5d1c7f6e/pay/" in body
    assert "Try again" in html


def test_it_escapes_what_it_was_given_in_the_html(alice, now, django_capture_on_commit_callbacks):
    from simdesk.notifications.messages import notify_payment_failed

    with django_capture_on_commit_callbacks(execute=True):
        notify_payment_failed(user=alice, reason="<b>declined</b>", retry_url="/retry/",
                              dedupe_key="x", now=now)

    html = html_of(mail.outbox[0])
    assert "<b>declined</b>" not in html
    assert "&lt;b&gt;declined&lt;/b&gt;" in html
    assert "<b>declined</b>" in mail.outbox[0].body  # plain text is not HTML-escaped


def test_it_does_not_html_escape_the_subject_or_the_plain_text(alice, send_receipt):
    send_receipt(alice, plan_name="China, Hong Kong & Macau 6 GB")

    [message] = mail.outbox
    assert message.subject.endswith("Your receipt for China, Hong Kong & Macau 6 GB")
    assert "China, Hong Kong & Macau 6 GB" in message.body
    assert "China, Hong Kong &amp; Macau 6 GB" in html_of(message)


def test_it_names_the_time_zone_only_in_messages_that_show_times(
        alice, send_receipt, send_payment_failed):
    send_receipt(alice)
    send_payment_failed(alice)

    receipt_mail, failed_mail = mail.outbox
    assert "Times are shown in your time zone, UTC." in receipt_mail.body
    assert "time zone" not in failed_mail.body
    assert "time zone" not in html_of(failed_mail)


def test_it_asks_the_customer_to_confirm_a_held_back_renewal_charge_with_a_link(
        make_user, now, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from simdesk.notifications.messages import notify_renewal_authentication

    bea = make_user("bea@example.com", time_zone="Asia/Tokyo")
    renewal = {"card_iccid": "8944500102198304826", "plan_name": "Japan 10 GB",
               "amount_minor": 1700, "currency": "USD", "settings_url": "/cards/c/renewal/",
               "off_url": "/renewal/off/tok/"}
    with django_capture_on_commit_callbacks(execute=True):
        for _twice in range(2):
            notify_renewal_authentication(
                user=bea, renewal=renewal, authenticate_url="/payments/p1/authenticate/",
                authenticate_by=now + timedelta(hours=12), card_label="Visa •••• 3155",
                dedupe_key="renewal:c:p:authenticate:1", now=now)

    [message] = mail.outbox  # once per dedupe key
    assert "Confirm your card's renewal with your bank" in message.subject
    html = html_of(message)
    for body in (message.body, html):
        assert "Japan 10 GB" in body and "8944500102198304826" in body
        assert "$17.00" in body and "Visa •••• 3155" in body
        assert "http://127.0.0.1:8000/payments/p1/authenticate/" in body
        assert "http://127.0.0.1:8000/renewal/off/tok/" in body
    assert "Confirm the payment" in html
    assert "June 2, 2026, 9 a.m." in message.body  # 12:00 UTC + 12 h, in Tokyo


def test_a_saved_method_without_a_label_is_named_generically_never_by_its_token(
        make_user, now, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from simdesk.notifications.messages import notify_renewal_authentication

    bea = make_user("bea@example.com")
    renewal = {"card_iccid": "8944500102198304826", "plan_name": "Japan 10 GB",
               "amount_minor": 1700, "currency": "USD"}
    with django_capture_on_commit_callbacks(execute=True):
        notify_renewal_authentication(
            user=bea, renewal=renewal, authenticate_url="/payments/p1/authenticate/",
            authenticate_by=now + timedelta(hours=12), card_label="",
            dedupe_key="renewal:c:p:authenticate:1", now=now)

    [message] = mail.outbox
    assert "charging $17.00 to saved payment method." in " ".join(message.body.split())
