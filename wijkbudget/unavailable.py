"""The 503 page: the site cannot do what was asked right now (the database is away, or
maintenance), said in plain Dutch — a page, JSON for the API, or plain text when even the page
needs the database.

Both errors.py (an unreachable database) and maintenance.py (a restore) answer with it; it sits
below both so that neither imports the other's page.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from flask import current_app, jsonify, render_template, request
from flask_babel import force_locale
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db


def unavailable_response(
    away: Callable[[], str], *, retry_after: int = 60, title: str | None = None
) -> Any:
    """A 503 with the message ``away()``: a page, JSON for the API, or plain text when even the
    page needs the database (someone logged in: their language, the menu). The request's
    transaction is rolled back first."""
    with contextlib.suppress(SQLAlchemyError):
        db.session.rollback()
    headers = {"Retry-After": str(retry_after), "Cache-Control": "no-store"}
    if request.path.startswith("/api/"):
        response = jsonify({"error": away()})
        response.status_code = 503
        response.headers.update(headers)
        return response
    try:
        page = render_template("errors/error.html", code=503, message=away(), title=title)
        return page, 503, headers
    except SQLAlchemyError:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            text = away()
        return text, 503, {**headers, "Content-Type": "text/plain; charset=utf-8"}
