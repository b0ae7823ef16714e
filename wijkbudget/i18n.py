"""Languages: Dutch (the default, plain B1) and English, chosen by the person, never guessed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, has_app_context, has_request_context, session
from flask_babel import format_date, format_datetime, get_locale, get_translations
from flask_login import current_user

from .extensions import babel
from .paths import ROOT

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


def _babel_state() -> tuple[Any, Any, str] | None:
    """(locale, translations, locale name) of this request, looked up once per locale.

    Flask-Babel finds the locale and the catalogue anew on every call (several context lookups
    each), and a list page makes hundreds of calls. The state is kept beside Flask-Babel's own
    (``g._flask_babel``) and checked against its current locale object, so ``force_locale``
    (mails in the reader's language) still gets its own catalogue."""
    if not has_app_context():
        return None
    ctx = g.get("_flask_babel")
    locale = getattr(ctx, "babel_locale", None)
    cached = getattr(ctx, "wijkbudget_state", None)
    if cached is not None and locale is not None and cached[0] is locale:
        return cached
    translations = get_translations()  # also settles the locale of this request
    locale = get_locale()
    ctx = g.get("_flask_babel")
    if ctx is None or locale is None:
        return None
    ctx.wijkbudget_state = (locale, translations, str(locale))
    return ctx.wijkbudget_state


def current_locale_name(default: str = "nl") -> str:
    state = _babel_state()
    return state[2] if state is not None else default


def _translations() -> Any:
    state = _babel_state()
    return state[1] if state is not None else get_translations()


def init_app(app: Flask) -> None:
    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES", str(ROOT / "wijkbudget" / "translations")
    )
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["datetime"] = lambda value: format_datetime(value, "d MMM yyyy HH:mm")
    app.jinja_env.filters["date"] = lambda value: format_date(value, "d MMM yyyy")
    # an opening of a voting place: "zaterdag 12 juni 2027" and "10:00"
    app.jinja_env.filters["weekday"] = lambda value: format_datetime(value, "EEEE d MMMM yyyy")
    app.jinja_env.filters["clock"] = lambda value: format_datetime(value, "HH:mm")
    app.jinja_env.globals["current_locale"] = current_locale_name
    # the same as Flask-Babel's template callables, with the catalogue looked up once per request
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
