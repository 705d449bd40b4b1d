import pytest
from django.utils import translation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


HEADING = "Mobile data that renews itself"


def translated(text, language):
    with translation.override(language):
        return translation.gettext(text)


@pytest.mark.parametrize(("language", "django_language"), [("en", "en"), ("zh-CN", "zh-hans")])
def test_it_renders_home_and_signup_in_the_browsers_language(
    live_server, open_page, screenshot, language, django_language
):
    heading = translated(HEADING, django_language)
    signup_heading = translated("Sign Up", django_language)
    if django_language != "en":
        assert heading != HEADING, "the home page heading has no Chinese translation"
    page = open_page(language)
    page.goto(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == heading
    # The stylesheet is served by the app itself (no CDN): the header is styled.
    assert page.locator(".topbar").evaluate("e => getComputedStyle(e).borderBottomStyle") == "solid"
    screenshot(page, f"home-{language}")

    page.goto(f"{live_server.url}/accounts/signup/")
    assert signup_heading in page.locator("h1").inner_text()
    assert page.locator("input[name=email]").is_visible()
    screenshot(page, f"signup-{language}")


def test_it_switches_language_from_the_footer_without_javascript(live_server, browser, screenshot):
    context = browser.new_context(java_script_enabled=False, locale="en")
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    page.get_by_role("button", name="简体中文").click()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("h1").inner_text() == translated(HEADING, "zh-hans") != HEADING
    context.close()
