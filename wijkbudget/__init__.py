"""wijkbudget: participatory budgeting for Dutch neighbourhoods.

Importing the package loads nothing but this: the app factory lives in ``app.py`` (Flask,
SQLAlchemy and every area), the tally engine in ``tally/`` (no Flask), so that the standalone
counter ``python -m wijkbudget.tally`` starts in a fraction of the app's time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application (see app.py)."""
    from .app import create_app as build  # Flask and every area load only when an app is built

    return build(config)
