"""Amounts as Dutch people type them, and as the site shows them."""

from __future__ import annotations

from typing import Any

import pytest
from flask import render_template_string

from wijkbudget.errors import DomainError
from wijkbudget.money import MoneyError, format_cents, format_euros_input, parse_euros


def nbsp_to_space(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("1250", 125_000),
        ("1.250", 125_000),
        ("1250,50", 125_050),
        ("1.250,50", 125_050),
        ("€ 1.250,50", 125_050),
        ("€1250", 125_000),
        (" 12,5 ", 1_250),
        ("0,99", 99),
        ("1250.50", 125_050),
        ("1.25", 125),
        ("0", 0),
        ("1.250.000", 125_000_000),
        ("€\u00a01.250,50", 125_050),
        ("25,-", 2_500),
        ("007", 700),
        ("20.000.000", 2_000_000_000),
        ("20000000,00", 2_000_000_000),
    ],
)
def test_parse_euros_accepts(app: Any, typed: str, cents: int) -> None:
    assert parse_euros(typed) == cents


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Vul een bedrag in"),
        ("   ", "Vul een bedrag in"),
        ("€", "Vul een bedrag in"),
        ("twaalf", "Dit is geen bedrag"),
        ("12a", "Dit is geen bedrag"),
        ("-5", "negatief"),
        ("€ -1.250,00", "negatief"),
        ("\u22125", "negatief"),
        ("1250,505", "twee cijfers achter de komma"),
        ("1.250,505", "twee cijfers achter de komma"),
        ("20.000.000,01", "te groot"),
        ("21.474.836,48", "te groot"),  # one cent over a 32-bit integer column
        ("999999999999", "te groot"),
        ("9" * 5000, "te groot"),
        ("NaN", "Dit is geen bedrag"),
        ("inf", "Dit is geen bedrag"),
        ("Infinity", "Dit is geen bedrag"),
        ("1e6", "Dit is geen bedrag"),
        ("12.5", "Dit is geen bedrag"),
        ("12.50.00", "Dit is geen bedrag"),
        ("1,250.50", "Dit is geen bedrag"),
        ("12,", "Dit is geen bedrag"),
        (",50", "Dit is geen bedrag"),
        ("+5", "Dit is geen bedrag"),
        ("٣", "Dit is geen bedrag"),  # an Arabic-Indic digit is not a digit we take
    ],
)
def test_parse_euros_refuses(app: Any, typed: str, message: str) -> None:
    with pytest.raises(MoneyError) as caught:
        parse_euros(typed)
    assert isinstance(caught.value, DomainError)
    assert message in caught.value.message


def test_parse_euros_empty_message_shows_an_example(app: Any) -> None:
    with pytest.raises(MoneyError) as caught:
        parse_euros("")
    assert caught.value.message == "Vul een bedrag in, bijvoorbeeld 1.250,00."


@pytest.mark.parametrize(
    ("cents", "shown"),
    [
        (125_050, "€ 1.250,50"),
        (0, "€ 0,00"),
        (99, "€ 0,99"),
        (125_000, "€ 1.250,00"),
        (10_000_000_000, "€ 100.000.000,00"),
        (-125_050, "€ -1.250,50"),
        (1, "€ 0,01"),
    ],
)
def test_format_cents_in_dutch(app: Any, cents: int, shown: str) -> None:
    assert nbsp_to_space(format_cents(cents)) == shown
    assert nbsp_to_space(format_cents(cents, "nl")) == shown


def test_format_cents_is_exact_for_large_amounts(app: Any) -> None:
    # through a float, 9.007.199.254.740.993 cents would come out as ...409,94
    assert nbsp_to_space(format_cents(9_007_199_254_740_993, "nl")).endswith("547.409,93")


def test_format_cents_other_locale() -> None:
    assert format_cents(125_050, "en") == "€1,250.50"


def test_format_cents_without_app_context_falls_back_to_dutch() -> None:
    assert nbsp_to_space(format_cents(125_050)) == "€ 1.250,50"


def test_format_cents_follows_the_chosen_language(app: Any) -> None:
    with app.test_request_context("/"):
        from flask import session

        session["lang"] = "en"
        assert format_cents(125_050) == "€1,250.50"


@pytest.mark.parametrize(
    ("cents", "typed"),
    [
        (125_050, "1250,50"),
        (125_000, "1250,00"),
        (5, "0,05"),
        (0, "0,00"),
        (-150, "-1,50"),
        (None, ""),
    ],
)
def test_format_euros_input(cents: int | None, typed: str) -> None:
    assert format_euros_input(cents) == typed


@pytest.mark.parametrize("cents", [0, 1, 99, 100, 125_050, 2_000_000_000])
def test_input_format_parses_back(app: Any, cents: int) -> None:
    assert parse_euros(format_euros_input(cents)) == cents


def test_euros_filter(app: Any) -> None:
    with app.test_request_context("/"):
        shown = render_template_string("{{ 125050|euros }}")
    assert nbsp_to_space(shown) == "€ 1.250,50"


def test_whole_euros_for_headline_figures():
    from wijkbudget.money import format_whole_euros

    assert format_whole_euros(4_000_000, "nl") == "€ 40.000"
    assert format_whole_euros(4_000_060, "en") == "€ 40,001"
    assert format_whole_euros(None) == ""
