"""Languages: Dutch is the source (every text is a Dutch msgid), English the second language.
This test extracts the texts from the code and templates as `make i18n` does, and fails when the
catalogue misses one or leaves one untranslated; dates and money follow the language."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from wijkbudget.money import format_cents

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "wijkbudget" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")


def source_messages() -> set[str]:
    found: set[str] = set()
    methods = [
        ("wijkbudget/**.py", "python"),
        ("templates/**.html", "jinja2"),
        ("templates/**.txt", "jinja2"),
    ]
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=methods, keywords={**KEYWORDS, "ngettext": (1, 2)}
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def catalogue():
    with PO.open("rb") as handle:
        return read_po(handle, locale="en")


def test_every_text_in_the_code_has_an_english_translation():
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id): m.string for m in catalogue() if m.id
    }
    texts = source_messages()
    assert len(texts) > 300
    missing = sorted(t for t in texts if t not in translated)
    assert not missing, f"not in the catalogue (run `make i18n`): {missing[:10]}"
    empty = sorted(
        t
        for t in texts
        if not (translated[t] if isinstance(translated[t], str) else all(translated[t]))
    )
    assert not empty, f"no English yet: {empty[:10]}"


def test_translations_keep_their_placeholders():
    for message in catalogue():
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(" ".join(ids)))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) <= wanted | {"%(num)d"}, message.id
            assert wanted - {"%(num)d"} <= set(PLACEHOLDER.findall(string)), message.id


def test_money_and_dates_follow_the_language(client):
    assert format_cents(125_000, "nl") == "€\xa01.250,00"
    assert format_cents(125_000, "en") == "€1,250.00"
    from babel.dates import format_date

    day = datetime.date(2026, 5, 4)
    assert format_date(day, "d MMM yyyy", locale="nl") == "4 mei 2026"
    assert format_date(day, "d MMM yyyy", locale="en") == "4 May 2026"
    # a page in English shows English money
    client.post("/taal", {"lang": "en", "next": "/"}, page="/")
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_the_submit_button_and_the_phase_have_words_of_their_own(app):
    from flask_babel import force_locale, gettext, pgettext

    with app.test_request_context(), force_locale("en"):
        assert pgettext("button", "Indienen") == "Submit"
        assert gettext("Indienen") == "Submission"
