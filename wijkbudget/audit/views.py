"""The audit log page for admins and councillors."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_login import current_user
from sqlalchemy import select

from .. import permissions
from ..extensions import db, paginate
from ..guards import audit_reader_required
from ..htmx import render_page_or_fragment
from ..neighbourhoods.models import Neighbourhood
from . import render
from .forms import AuditFilterForm
from .queries import ACTION_LABELS, AuditFilter, audit_events

bp = Blueprint("audit", __name__)


def _subject(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    kind, _sep, number = value.partition(":")
    return kind, int(number)


@bp.get("/audit")
@audit_reader_required
def log() -> Any:
    scope = permissions.audit_scope(current_user)
    wijken_query = select(Neighbourhood).order_by(Neighbourhood.name)
    if scope is not None:
        wijken_query = wijken_query.where(Neighbourhood.id.in_(scope))
    wijken = list(db.session.scalars(wijken_query))
    form = AuditFilterForm(request.args, wijken=[(w.slug, w.name) for w in wijken])
    valid = form.validate()
    by_slug = {w.slug: w.id for w in wijken}
    filters = AuditFilter(
        neighbourhood_id=by_slug.get(form.wijk.data or ""),
        actor=(form.actor.data or "").strip() if valid else "",
        action=form.action.data or "" if valid else "",
        date_from=form.date_from.data if valid else None,
        date_to=form.date_to.data if valid else None,
        subject=_subject(form.subject.data) if valid else None,
    )
    page = paginate(audit_events(filters, scope))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_page_or_fragment(
        "audit/log.html",
        "audit/_events.html",
        status=200 if valid else 422,
        form=form,
        page=page,
        labels=ACTION_LABELS,
        readable=render.events(page.items),
        args=args,
    )
