"""Languages: Dutch (the default, plain B1) and English, chosen by the person, never guessed."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_request_context, session
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user

from . import ROOT
from .extensions import babel

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def local_to_utc(value: datetime | None) -> datetime | None:
    """A wall-clock time typed in the Netherlands (naive) as an aware UTC datetime."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=AMSTERDAM)
    return value.astimezone(UTC)


def utc_to_local(value: datetime | None) -> datetime | None:
    """For form fields: the Dutch wall-clock time (naive) of a stored UTC datetime."""
    if value is None:
        return None
    return value.astimezone(AMSTERDAM).replace(tzinfo=None)


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # the CLI, mails sent from a command: the default language
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return str(current_user.language)
    chosen = session.get("lang")
    if chosen in languages:
        return str(chosen)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def init_app(app: Flask) -> None:
    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES", str(ROOT / "wijkbudget" / "translations")
    )
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["datetime"] = lambda value: format_datetime(value, "d MMM yyyy HH:mm")
    app.jinja_env.filters["date"] = lambda value: format_date(value, "d MMM yyyy")
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "nl")
