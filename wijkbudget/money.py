"""Money is integer euro cents. Parsing amounts as Dutch people type them, and showing them."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_currency
from flask import Flask
from flask_babel import gettext as _

from .errors import DomainError
from .i18n import current_locale_name

#: the largest amount any form takes: 20 million euros. Every money column is a 32-bit integer
#: of cents (up to € 21.474.836,47): a larger amount would not fit, so it is refused here with a
#: message instead of failing in the database. Sums are computed as 64-bit (SQL SUM, Python).
MAX_CENTS = 20_000_000 * 100
_MAX_WHOLE_DIGITS = len(str(MAX_CENTS // 100))

_AMOUNT = re.compile(
    r"""^
    (?P<int>\d{1,3}(?:\.\d{3})+|\d+)      # 1250 or 1.250 or 1.250.000
    (?:,(?P<dec>\d{1,2}))?                # ,5 or ,50
    $""",
    re.VERBOSE | re.ASCII,  # ASCII: \d would also match Arabic-Indic and other digits
)
#: longer than any amount up to MAX_CENTS however it is written ("€ 20.000.000,00", spaces):
#: refused before any pattern looks at it
AMOUNT_MAX_LENGTH = 40
# 1250.50, typed the English way: one dot with exactly two digits after it is a decimal point
_DOT_DECIMAL = re.compile(r"^(?P<int>\d+)\.(?P<dec>\d{2})$", re.ASCII)


class MoneyError(DomainError):
    pass


def parse_euros(text: str) -> int:
    """ "1.250,50", "€ 1250", "12,5", "1250.50" → cents. Refuses what is not a plain amount."""
    # any whitespace, including the (narrow) no-break spaces that copying "€ 1.250" brings along
    text = text or ""
    if len(text) > AMOUNT_MAX_LENGTH:
        if text.strip().isascii() and text.strip().replace(".", "").replace(",", "").isdigit():
            raise _too_large()
        raise MoneyError(_("Dit is geen bedrag. Schrijf het zo: 1.250,00."))
    cleaned = "".join(text.replace("€", "").split())
    if cleaned.endswith(",-"):
        cleaned = cleaned[:-2]
    if not cleaned:
        raise MoneyError(_("Vul een bedrag in, bijvoorbeeld 1.250,00."))
    if cleaned.startswith(("-", "\u2212")):
        raise MoneyError(_("Een bedrag kan niet negatief zijn."))
    match = _DOT_DECIMAL.match(cleaned) or _AMOUNT.match(cleaned)
    if not match:
        before, comma, decimals = cleaned.rpartition(",")
        if (
            comma
            and len(decimals) > 2
            and decimals.isascii()
            and decimals.isdigit()
            and all(char in "0123456789." for char in before)
        ):
            raise MoneyError(_("Een bedrag heeft hoogstens twee cijfers achter de komma."))
        raise MoneyError(_("Dit is geen bedrag. Schrijf het zo: 1.250,00."))
    whole = match.group("int").replace(".", "").lstrip("0") or "0"
    decimals = (match.group("dec") or "").ljust(2, "0")
    # the length first: a 5,000-digit string would not even parse
    if len(whole) > _MAX_WHOLE_DIGITS or int(whole) * 100 + int(decimals) > MAX_CENTS:
        raise _too_large()
    cents = int(whole) * 100 + int(decimals)
    return cents


def _too_large() -> MoneyError:
    return MoneyError(
        _("Dit bedrag is te groot. Het hoogste bedrag is %(max)s.", max=format_cents(MAX_CENTS))
    )


def _locale() -> str:
    return current_locale_name("nl")


def format_cents(cents: int | None, locale: str | None = None) -> str:
    """1250_50 → "€ 1.250,50" (in Dutch)."""
    if cents is None:
        return ""
    return _formatted(cents, locale or _locale())


def format_whole_euros(cents: int | None, locale: str | None = None) -> str:
    """For headline figures: 4_000_000 → "€ 40.000" (rounded to the euro)."""
    if cents is None:
        return ""
    return _formatted_whole(round(cents / 100), locale or _locale())


# Babel parses the locale's number pattern on every call (a quarter of a result page's time);
# the same amounts come back on every page (costs, budgets), so each is formatted once per locale
@lru_cache(maxsize=16_384)
def _formatted(cents: int, locale: str) -> str:
    return format_currency(Decimal(cents).scaleb(-2), "EUR", locale=locale)


@lru_cache(maxsize=16_384)
def _formatted_whole(euros: int, locale: str) -> str:
    return format_currency(Decimal(euros), "EUR", "¤ #,##0", locale=locale, currency_digits=False)


def format_euros_input(cents: int | None) -> str:
    """For prefilling an amount field: 125050 → "1250,50"."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole},{rest:02d}"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["euros"] = format_cents
    app.jinja_env.filters["whole_euros"] = format_whole_euros
