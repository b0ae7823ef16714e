"""The error pages (400 … 429, 500, 503), in plain Dutch, and the domain's refusal.

:class:`DomainError` is defined in refusals.py (below the extensions, which raise it) and named
here too, where every area imports it from. The 503 page itself is unavailable.py's (maintenance
answers with it as well).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from . import maintenance
from .extensions import db, limiter
from .refusals import DomainError
from .unavailable import unavailable_response

__all__ = [
    "DomainError",
    "database_away_response",
    "init_app",
    "too_many_response",
    "unavailable_response",
]

log = logging.getLogger(__name__)


def _render(code: int, **context: Any) -> tuple[str, int]:
    return render_template("errors/error.html", code=code, **context), code


def _api_error(error: HTTPException) -> Any:
    """The open data API answers in JSON, also for a URL that matches no route."""
    messages = {
        400: _("Ongeldige vraag."),
        404: _("Niet gevonden."),
        405: _("Deze API kan alleen lezen (GET)."),
        429: _("Te veel vragen. Wacht even en probeer het opnieuw."),
    }
    message = messages.get(error.code or 500, _("Er ging iets mis."))
    if error.code == 400 and error.description and not error.description.startswith("The "):
        message = error.description  # our own Dutch message from abort(400, …)
    response = jsonify({"error": message})
    response.status_code = error.code or 500
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def too_many_response(error: HTTPException) -> Any:
    """The 429 of a limit: how long to wait, really (the limit's own reset time), in the page,
    the JSON and ``Retry-After``; on the sign-in page also what the owner can do meanwhile."""
    current = limiter.current_limit
    seconds = max(1, math.ceil(current.reset_at - time.time())) if current is not None else 60
    if seconds <= 90:
        message = ngettext(
            "Je hebt het te vaak achter elkaar geprobeerd. Probeer het over %(num)d seconde "
            "opnieuw.",
            "Je hebt het te vaak achter elkaar geprobeerd. Probeer het over %(num)d seconden "
            "opnieuw.",
            seconds,
        )
    else:
        message = ngettext(
            "Je hebt het te vaak achter elkaar geprobeerd. Probeer het over %(num)d minuut "
            "opnieuw.",
            "Je hebt het te vaak achter elkaar geprobeerd. Probeer het over %(num)d minuten "
            "opnieuw.",
            # the reset time is whole seconds, rounded up: 3601 s is "60 minuten", not 61
            max(2, round(seconds / 60)),
        )
    if request.endpoint == "accounts.login":
        message += " " + _(
            "Op een apparaat waarop je eerder bent ingelogd, kun je nu wel inloggen. Weet je je "
            "wachtwoord niet meer? Vraag dan een nieuw wachtwoord aan."
        )
    headers = {"Retry-After": str(seconds), "Cache-Control": "no-store"}
    if request.path.startswith("/api/"):
        response = jsonify({"error": message})
        response.status_code = 429
        response.headers.update(headers)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
    return _render(429, message=message)[0], 429, headers


def database_away_response(away: Callable[[], str]) -> Any:
    """The 503 for a database that cannot be reached, with the message ``away()``; during
    maintenance (a restore replacing the tables) the maintenance message instead."""
    if maintenance.is_on():
        return maintenance.response()
    return unavailable_response(away)


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return _render(400, csrf=True)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if error.code is None or error.code < 400:
            return error
        if error.code == 429:
            return too_many_response(error)
        if request.path.startswith("/api/"):
            return _api_error(error)
        return _render(error.code)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> Any:
        """A refusal no view caught: its message and status (409, 422), never a 500. The use
        case that raised it has already rolled back."""
        if request.path.startswith("/api/"):
            response = jsonify({"error": error.message})
            response.status_code = error.status
            return response
        return _render(error.status, message=error.message)

    @app.errorhandler(IntegrityError)
    def integrity_error(error: IntegrityError) -> Any:
        """A constraint refused a write outside any use case: the database kept its rule."""
        db.session.rollback()
        log.info("refused by a constraint outside a use case: %s", error.orig)
        return _render(
            409,
            message=_(
                "Iemand anders was je net voor, of dit was al gebeurd. Kijk op de pagina hoe "
                "het nu staat."
            ),
        )

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_away(error: Exception) -> Any:
        """The database cannot be reached (a restart, a network hiccup, a deadlock that stayed
        after every retry): a 503 that says to try again, not a 500. Nothing half-done was saved
        (the use case rolled back). The voting pages add their own words (voting.views)."""
        log.warning("database unreachable on %s: %s", request.endpoint, error)
        return database_away_response(
            lambda: _(
                "Wijkbudget kan even niet bij zijn gegevens. Wat je net deed, is niet opgeslagen; "
                "wat al was opgeslagen, is niet verloren. Probeer het over een minuut opnieuw."
            )
        )

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError) -> tuple[str, int]:
        db.session.rollback()
        return _render(500)
