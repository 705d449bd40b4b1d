"""Real-browser tests: Playwright driving the system's Chromium (never a downloaded one).

Skipped, with the reason, where /usr/bin/chromium is missing; `.ci/run` installs it.
"""

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def pytest_collection_modifyitems(config, items):
    # This hook sees the whole session's items: skip only the ones in this folder.
    if not Path(CHROMIUM).exists():
        skip = pytest.mark.skip(
            reason="needs Chromium: apt-get install chromium fonts-wqy-microhei")
        here = Path(__file__).parent
        for item in items:
            if here in item.path.parents:
                item.add_marker(skip)


@pytest.fixture
def open_page(browser):
    """open_page(language, viewport) → a fresh page whose browser asks for that language."""
    contexts = []

    def open_(language="en", viewport=PHONE):
        context = browser.new_context(locale=language, viewport=viewport,
                                      extra_http_headers={"Accept-Language": language})
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(exist_ok=True)

    def shot(page, name):
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shot
