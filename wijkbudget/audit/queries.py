"""Reading the audit log with filters (wijk, actor, action, dates), narrowed to what the reader
may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..forms import database_id
from ..i18n import AMSTERDAM
from .models import AuditEvent

#: what each action is called on the page
ACTION_LABELS = {
    "role.grant": _l("Rol toegekend"),
    "role.revoke": _l("Rol ingetrokken"),
    "account.delete": _l("Account verwijderd"),
    "neighbourhood.create": _l("Wijk aangemaakt"),
    "neighbourhood.update": _l("Wijk gewijzigd"),
    "neighbourhood.describe": _l("Uitleg over de wijk gewijzigd"),
    "area.create": _l("Buurt toegevoegd"),
    "neighbourhood.map": _l("Buurtkaart geladen"),
    "round.create": _l("Ronde aangemaakt"),
    "round.update": _l("Ronde gewijzigd"),
    "round.phase": _l("Fase van ronde veranderd"),
    "round.close": _l("Stemming gesloten en geteld"),
    "round.extend_voting": _l("Stemming verlengd"),
    "expense.record": _l("Uitgave ingevoerd"),
    "expense.approve": _l("Uitgave goedgekeurd"),
    "expense.reject": _l("Uitgave afgewezen"),
    "expense.reverse": _l("Uitgave teruggedraaid"),
    "ledger.reallocate": _l("Extra geld aan project"),
    "project.treasurer": _l("Penvoerder aangewezen"),
    "project.close": _l("Project afgesloten"),
    "project.milestone": _l("Mijlpaal toegevoegd"),
    "proposal.admit": _l("Voorstel toegelaten"),
    "proposal.reject": _l("Voorstel afgewezen"),
    "proposal.request_changes": _l("Aanpassing gevraagd"),
    "proposal.estimate": _l("Kosten geschat door bestuur"),
    "proposal.duplicate": _l("Voorstel als dubbel gemarkeerd"),
    "proposal.support_threshold": _l("Te weinig steun"),
    "topic.open": _l("Onderwerp geopend"),
    "topic.approve": _l("Onderwerp goedgekeurd"),
    "comment.auto_hide": _l("Reactie verborgen na meldingen"),
    "comment.hide": _l("Reactie verborgen"),
    "comment.restore": _l("Reactie teruggezet"),
    "comment.dismiss_reports": _l("Meldingen afgewezen"),
    "user.block": _l("Bewoner tijdelijk geblokkeerd"),
    "meeting.create": _l("Bijeenkomst vastgelegd"),
    "codes.generate": _l("Stemcodes gemaakt"),
    "codes.shown": _l("Stemcodes bekeken of gedownload"),
    "codes.printed": _l("Stemcodes als gedrukt gemarkeerd"),
    "codes.revoke": _l("Stemcode ingetrokken"),
    "codes.revoke_batch": _l("Reeks stemcodes ingetrokken"),
    "codes.walk_in": _l("Stemcode ter plekke uitgegeven"),
    "codes.many_failures": _l("Veel foute stemcodes"),
    "letters.make": _l("Brieven met stemcodes gemaakt uit een adressenlijst"),
    "letters.shown": _l("Brieven met stemcodes gedownload"),
    "paper.open": _l("Stapel papieren stembiljetten geopend"),
    "paper.conflict": _l("Papieren stembiljet geweigerd: al gestemd"),
    "paper.confirm": _l("Stapel papieren stembiljetten bevestigd"),
    "paper.discard": _l("Stapel papieren stembiljetten weggegooid"),
}


@dataclass(frozen=True)
class AuditFilter:
    neighbourhood_id: int | None = None
    actor: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None
    subject: tuple[str, int] | None = None  # (object type, id): one round, project or proposal


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=AMSTERDAM).astimezone(UTC)


def audit_events(filters: AuditFilter, scope: set[int] | None) -> Select[AuditEvent]:
    """Newest first. ``scope`` None: every wijk (and events without one); a set: those wijken."""
    query = select(AuditEvent).options(
        selectinload(AuditEvent.actor), selectinload(AuditEvent.neighbourhood)
    )
    if scope is not None:
        query = query.where(AuditEvent.neighbourhood_id.in_(scope) if scope else false())
    if filters.neighbourhood_id is not None:
        query = query.where(AuditEvent.neighbourhood_id == filters.neighbourhood_id)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.actor:
        if filters.actor.isascii() and filters.actor.isdigit():  # an account's number
            actor_id = database_id(filters.actor)  # (one too big for the column: nobody)
            query = query.where(false() if actor_id is None else AuditEvent.actor_id == actor_id)
        else:
            pattern = f"%{filters.actor.lower()}%"
            actors = select(User.id).where(
                or_(User.email.like(pattern), User.display_name.ilike(pattern))
            )
            query = query.where(AuditEvent.actor_id.in_(actors))
    if filters.subject is not None:
        query = query.where(
            AuditEvent.object_type == filters.subject[0],
            AuditEvent.object_id == filters.subject[1],
        )
    if filters.date_from:
        query = query.where(AuditEvent.created_at >= _local_midnight_utc(filters.date_from))
    if filters.date_to:
        query = query.where(
            AuditEvent.created_at < _local_midnight_utc(filters.date_to + timedelta(days=1))
        )
    return query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
