"""The start page of a signed-in person: ``/mijn`` (docs/start-page.md). A read: it shows what
``queries.start_of`` found and links to the pages where each thing is done."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from ..extensions import utcnow
from ..guards import login_required
from . import queries

bp = Blueprint("start", __name__)


@bp.get("/mijn")
@login_required
def mine() -> str:
    now = utcnow()
    return render_template("start/mine.html", start=queries.start_of(current_user, now), now=now)
