"""Every message catalogue is complete, compiled, and up to date with the code.

After adding or changing a user-facing string, refresh the catalogues with

    make messages

(``cd simdesk && simdesk makemessages -l zh_Hans -l zh_Hant -l ja -l es --no-obsolete
--no-location --ignore 'static/*'`` then ``simdesk compilemessages`` for the same
locales), translate every empty ``msgstr`` in ``simdesk/locale/<locale>/LC_MESSAGES/django.po``,
remove any ``#, fuzzy`` mark after checking the guess, run ``make messages`` again to
compile, and commit both the ``.po`` and the ``.mo``.
"""

import io
import re
import shutil
import string
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

PACKAGE_DIR = Path(settings.BASE_DIR) / "simdesk"
REFRESH = "run `make messages`, translate the new entries in django.po, run it again, commit"

# Each locale shipped, with the plural rule its catalogue must declare.
PLURAL_FORMS = {
    "zh_Hans": "nplurals=1; plural=0;",
    "zh_Hant": "nplurals=1; plural=0;",
    "ja": "nplurals=1; plural=0;",
    "es": "nplurals=2; plural=(n != 1);",
}
LOCALES = list(PLURAL_FORMS)


def po_path(locale: str, package_dir: Path = PACKAGE_DIR) -> Path:
    return package_dir / "locale" / locale / "LC_MESSAGES" / "django.po"


def load_po(locale: str, path: Path | None = None):
    with open(path or po_path(locale), "rb") as f:
        return read_po(f, locale=locale)


def test_it_ships_a_catalogue_for_every_language_offered():
    offered = {code for code, _name in settings.LANGUAGES if code != "en"}
    shipped = {locale.replace("_", "-").lower() for locale in LOCALES}

    assert offered == shipped


def translations(catalog) -> dict:
    """{(context, msgid): msgstr} for every real entry (not the header)."""
    out = {}
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else tuple(message.id)
        msgstr = message.string if isinstance(message.string, str) else tuple(message.string)
        out[(message.context, msgid)] = msgstr
    return out


def placeholders(text: str) -> set[str]:
    named = set(re.findall(r"%\((\w+)\)[sdifr]", text))
    template = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    return named | template


@pytest.mark.parametrize("locale", LOCALES)
def test_it_translates_every_message_and_leaves_nothing_fuzzy(locale):
    catalog = load_po(locale)

    untranslated = [
        message.id
        for message in catalog
        if message.id
        and not all(message.string if isinstance(message.string, tuple) else [message.string])
    ]
    fuzzy = [message.id for message in catalog if message.fuzzy]

    assert catalog.plural_forms == PLURAL_FORMS[locale]
    assert not untranslated, f"{locale}: untranslated ({REFRESH}):\n" + "\n".join(
        map(str, untranslated)
    )
    assert not fuzzy, f"{locale}: fuzzy entries (check and unmark them):\n" + "\n".join(
        map(str, fuzzy)
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_it_keeps_every_placeholder_of_the_english_text(locale):
    """A translation that drops or renames %(name)s would crash or say the wrong thing."""
    wrong = []
    for message in load_po(locale):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        expected = placeholders(ids[-1])
        for translated in strings:
            if translated and placeholders(translated) != expected:
                wrong.append(f"{ids[0]!r} → {translated!r}")
    assert not wrong, f"{locale}: placeholders differ:\n" + "\n".join(wrong)


@pytest.mark.parametrize("locale", LOCALES)
def test_it_ships_a_compiled_catalogue_that_matches_the_po(locale):
    po = load_po(locale)
    compiled_now = io.BytesIO()
    write_mo(compiled_now, po)
    compiled_now.seek(0)

    mo_path = po_path(locale).with_suffix(".mo")
    assert mo_path.exists(), f"{locale}: django.mo is missing: {REFRESH}"
    with open(mo_path, "rb") as f:
        committed = read_mo(f)

    assert translations(committed) == translations(read_mo(compiled_now)), (
        f"{locale}: django.mo is stale: {REFRESH}"
    )


@pytest.mark.skipif(
    shutil.which("xgettext") is None,
    reason="xgettext (GNU gettext) is not installed, so the strings in the code cannot be "
    "extracted to compare with the catalogue; install gettext to run this check",
)
@pytest.mark.parametrize("locale", LOCALES)
def test_it_has_an_entry_for_every_string_in_the_code(locale, tmp_path, monkeypatch):
    """makemessages on a copy of the code must find no message the catalogue lacks."""
    copy = tmp_path / "simdesk"
    shutil.copytree(
        PACKAGE_DIR,
        copy,
        # *.html.py / *.txt.py: a makemessages running meanwhile briefly leaves these
        # copies of templates next to them.
        ignore=shutil.ignore_patterns(
            "__pycache__", "static", "*.mo", "node_modules", "*.html.py", "*.txt.py"
        ),
    )
    monkeypatch.chdir(copy)

    with override_settings(LOCALE_PATHS=[copy / "locale"]):
        call_command(
            "makemessages", locale=[locale], no_location=True, ignore_patterns=["static/*"],
            verbosity=0,
        )

    extracted = translations(load_po(locale, po_path(locale, copy)))
    committed = translations(load_po(locale))
    missing = sorted(str(msgid) for (_ctx, msgid) in extracted.keys() - committed.keys())
    assert not missing, (
        f"{locale}: {len(missing)} message(s) in the code are not in django.po ({REFRESH}):\n"
        + "\n".join(missing)
    )
