"""A proposal's place on the map: its authors pick a point on the wijk's map (the buurt it lies
in becomes the proposal's buurt), or only a buurt, or take the point away again. The same rule
as editing (``Action.EDIT``); locks as ``base`` says: the round, then the proposal."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, select

from ...accounts.models import User
from ...extensions import db, utcnow
from ...maps.geojson import contains
from ...maps.models import AreaOutline, ProposalPlace
from ...neighbourhoods.models import Area
from ...usecase import use_case
from ..models import Action, Proposal, ProposalError
from .base import locked


@use_case
def place_proposal(user: User, proposal: Proposal, lon: int, lat: int) -> Area:
    """The point (micro-degrees) becomes the proposal's place, and the buurt it lies in its
    buurt. A point outside every buurt of the wijk (or outside the round's buurten) is refused.

    Locks: the round (lock_round: editing is for phases before voting) and the proposal; the
    outlines are read under that lock, and a point is one row per proposal (its primary key):
    two picks at once leave the later one, never two."""
    proposal = locked(proposal)
    proposal.check(Action.EDIT, user)
    rows = db.session.execute(
        select(Area, AreaOutline)
        .join(AreaOutline, AreaOutline.area_id == Area.id)
        .where(Area.neighbourhood_id == proposal.neighbourhood_id)
        .order_by(Area.id)
    ).all()
    if not rows:
        raise ProposalError(_("Deze wijk heeft nog geen kaart. Kies een buurt bij het voorstel."))
    area = next(
        (a for a, outline in rows if any(contains(p, lon, lat) for p in outline.polygons)), None
    )
    if area is None:
        raise ProposalError(
            _("Deze plek ligt niet in een buurt van de wijk. Klik binnen een van de buurten.")
        )
    if not proposal.round.area_in_scope(area):
        raise ProposalError(_("Deze ronde is niet voor de buurt %(name)s.", name=area.name))
    place = db.session.get(ProposalPlace, proposal.id)
    if place is None:
        db.session.add(ProposalPlace(proposal_id=proposal.id, lon=lon, lat=lat))
    else:
        place.lon, place.lat, place.placed_at = lon, lat, utcnow()
    proposal.area_id = area.id
    proposal.add_event("edited", user, "resident")
    db.session.flush()
    return area


@use_case
def clear_place(user: User, proposal: Proposal) -> None:
    """The point goes (the buurt stays). Pressed twice: the second finds none.

    Locks: the round and the proposal, as placing does."""
    proposal = locked(proposal)
    proposal.check(Action.EDIT, user)
    db.session.execute(delete(ProposalPlace).where(ProposalPlace.proposal_id == proposal.id))
