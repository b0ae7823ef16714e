"""The voting blueprint, shared by the voter's pages (views.ballot) and the board's (views.board),
and its answer when the database cannot be reached."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, request
from flask_babel import gettext as _
from sqlalchemy.exc import InterfaceError, OperationalError

from ... import errors

log = logging.getLogger(__name__)

bp = Blueprint("voting", __name__)


def _away() -> str:
    return str(
        _(
            "Wijkbudget kan even niet bij zijn gegevens. Er is niets verloren gegaan: wat je net "
            "deed, is niet opgeslagen, en een stemcode blijft gewoon geldig. Probeer het over een "
            "minuut opnieuw."
        )
    )


@bp.errorhandler(OperationalError)
@bp.errorhandler(InterfaceError)
def database_away(error: Exception) -> Any:
    """The database cannot be reached (a restart, a network hiccup): a 503 that says to try
    again. Nothing was saved (a use case that failed has rolled back; the request's session is
    closed at its end), a code stays usable, and no limit counted the attempt."""
    log.warning("database unreachable on %s: %s", request.endpoint, error)
    return errors.database_away_response(_away)
