"""The demo customer signs in and reads a card page on a phone, in English and Chinese."""

import pytest
from django.utils import timezone, translation

from simdesk.cards.selectors import cards_for_customer
from simdesk.demo.data import DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_PASSWORD, demo_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def translated(text, language):
    with translation.override(language):
        return translation.gettext(text)


def demo_esim(now):
    """The demo customer's eSIM: the first of their cards that has an activation code."""
    demo = demo_load(now=now)
    cards = [card for card in cards_for_customer(customer=demo.customer) if card.activation_code]
    assert cards, "the demo data gives the demo customer no eSIM"
    return cards[0]


@pytest.mark.parametrize(("language", "django_language"), [("en", "en"), ("zh-CN", "zh-hans")])
def test_it_shows_the_demo_customer_a_card_page_with_bar_chart_and_qr_code_on_a_phone(
    live_server, open_page, screenshot, language, django_language
):
    # Given the demo data, and a phone whose browser asks for `language`,
    card = demo_esim(timezone.now())
    page = open_page(language)

    # when the demo customer signs in through the login form
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", DEMO_CUSTOMER_EMAIL)
    page.fill("input[name=password]", DEMO_CUSTOMER_PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "/accounts/login" not in page.url

    # and opens the card from "My cards",
    page.goto(f"{live_server.url}/cards/")
    page.locator(f"a[href='/cards/{card.public_id}/']").first.click()
    page.wait_for_url(f"**/cards/{card.public_id}/")

    # then the page is in their language and shows the data bar, the chart and the QR code.
    assert page.locator("html").get_attribute("lang") == django_language
    assert page.locator("#usage-heading").inner_text() == translated(
        "Usage, last 30 days", django_language)
    assert page.locator(".card-balance .meter").is_visible()
    chart = page.locator("svg.chart")
    assert chart.is_visible() and chart.locator("rect").count() == 30
    qr = page.locator("svg.qr-code")
    assert qr.is_visible()
    assert page.locator("#lpa-code").input_value() == card.activation.qr_payload
    # The Copy button appears once the script has run.
    assert page.locator(".copy-button").is_visible()

    # Nothing sticks out sideways on a 390 px wide phone, and the QR code is big enough to scan.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = qr.bounding_box()
    assert box["width"] >= 200 and box["height"] >= 200
    assert chart.bounding_box()["width"] >= 300

    assert decode_qr_in_page(page, "svg.qr-code") == [card.activation.qr_payload]

    screenshot(page, f"card-{language}")


def decode_qr_in_page(page, selector, size=300):
    """Let the browser paint the inline SVG onto a canvas and ZXing read the pixels."""
    import zxingcpp

    grey = page.evaluate(
        """async ([selector, size]) => {
            const svg = document.querySelector(selector).cloneNode(true);
            svg.setAttribute("width", size);
            svg.setAttribute("height", size);
            const url = "data:image/svg+xml;charset=utf-8,"
                + encodeURIComponent(new XMLSerializer().serializeToString(svg));
            const img = new Image();
            await new Promise((ok, fail) => {
                img.onload = ok; img.onerror = fail; img.src = url;
            });
            const canvas = document.createElement("canvas");
            canvas.width = canvas.height = size;
            const ctx = canvas.getContext("2d");
            ctx.fillStyle = "#fff";
            ctx.fillRect(0, 0, size, size);
            ctx.drawImage(img, 0, 0, size, size);
            const rgba = ctx.getImageData(0, 0, size, size).data;
            const out = [];
            for (let i = 0; i < rgba.length; i += 4) out.push(rgba[i + 1]);
            return out;
        }""",
        [selector, size],
    )
    image = memoryview(bytes(grey)).cast("B", (size, size))
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def sign_in(page, base_url):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=login]", DEMO_CUSTOMER_EMAIL)
    page.fill("input[name=password]", DEMO_CUSTOMER_PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "/accounts/login" not in page.url


def test_it_lists_the_cards_on_my_cards_and_home_without_spilling_sideways(
    live_server, open_page, screenshot
):
    card = demo_esim(timezone.now())
    page = open_page("en")
    sign_in(page, live_server.url)

    for path, name in (("/cards/", "cards-en"), ("/", "home-cards-en")):
        page.goto(f"{live_server.url}{path}")
        assert page.locator(f"a[href='/cards/{card.public_id}/']").first.is_visible()
        assert page.locator(".meter").first.is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, name)


def test_it_adds_a_card_with_javascript_switched_off(live_server, browser, screenshot):
    from simdesk.cards.iccid import iccid_with_check_digit
    from simdesk.cards.services import cards_import_rows

    now = timezone.now()
    demo_load(now=now)
    iccid = iccid_with_check_digit("894450019900000077")
    cards_import_rows(rows=[(2, {"iccid": iccid, "claim_code": "NOJS7777"})], now=now)
    context = browser.new_context(java_script_enabled=False, locale="en",
                                  viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, live_server.url)

    page.goto(f"{live_server.url}/cards/add/")
    page.fill("input[name=iccid]", iccid)
    page.fill("input[name=claim_code]", "WRONG000")
    page.locator("main form button[type=submit]").click()
    assert "do not match" in page.locator("main").inner_text()
    screenshot(page, "card-add-refused-en")

    page.fill("input[name=claim_code]", "nojs-7777")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert f"The card ending in {iccid[-4:]} was added" in page.locator(".messages").inner_text()
    assert page.locator("h1").inner_text() == f"Card ending in {iccid[-4:]}"
    context.close()
