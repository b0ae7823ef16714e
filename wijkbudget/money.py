"""Money is integer euro cents. Parsing amounts as Dutch people type them, and showing them."""

from __future__ import annotations

import re

from babel.numbers import format_currency
from flask import Flask, has_app_context
from flask_babel import get_locale
from flask_babel import gettext as _

from .errors import DomainError

MAX_CENTS = 100_000_000 * 100  # 100 million euros

_AMOUNT = re.compile(
    r"""^
    (?P<int>\d{1,3}(?:\.\d{3})+|\d+)      # 1250 or 1.250 or 1.250.000
    (?:,(?P<dec>\d{1,2}))?                # ,5 or ,50
    $""",
    re.VERBOSE,
)
_DOT_DECIMAL = re.compile(r"^(?P<int>\d+)\.(?P<dec>\d{2})$")  # 1250.50 (typed the English way)


class MoneyError(DomainError):
    pass


def parse_euros(text: str) -> int:
    """ "1.250,50", "€ 1250", "12,5", "1250.50" → cents. Refuses what is not a plain amount."""
    cleaned = (text or "").strip().replace("€", "").replace(" ", "").replace("\u00a0", "")
    if cleaned.endswith(",-"):
        cleaned = cleaned[:-2]
    if not cleaned:
        raise MoneyError(_("Vul een bedrag in, bijvoorbeeld 1.250,00."))
    if cleaned.startswith("-"):
        raise MoneyError(_("Een bedrag kan niet negatief zijn."))
    match = _DOT_DECIMAL.match(cleaned) or _AMOUNT.match(cleaned)
    if not match:
        if re.fullmatch(r"[\d.]*,\d{3,}", cleaned):
            raise MoneyError(_("Een bedrag heeft hoogstens twee cijfers achter de komma."))
        raise MoneyError(_("Dit is geen bedrag. Schrijf het zo: 1.250,00."))
    whole = int(match.group("int").replace(".", ""))
    decimals = (match.group("dec") or "").ljust(2, "0")
    cents = whole * 100 + int(decimals or 0)
    if cents > MAX_CENTS:
        raise MoneyError(_("Dit bedrag is te groot."))
    return cents


def _locale() -> str:
    if has_app_context():
        return str(get_locale() or "nl")
    return "nl"


def format_cents(cents: int | None, locale: str | None = None) -> str:
    """1250_50 → "€ 1.250,50" (in Dutch)."""
    if cents is None:
        return ""
    return format_currency(cents / 100, "EUR", locale=locale or _locale())


def format_euros_input(cents: int | None) -> str:
    """For prefilling an amount field: 125050 → "1250,50"."""
    if cents is None:
        return ""
    return f"{cents // 100},{cents % 100:02d}"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["euros"] = format_cents
