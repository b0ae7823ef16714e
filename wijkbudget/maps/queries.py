"""The reads a map needs, one query each: the wijk's buurten with their outlines, and the
proposals of a round or the funded projects of a wijk with their buurt and point."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..neighbourhoods.models import Area, Neighbourhood
from ..proposals.models import Proposal
from ..proposals.queries import PUBLIC_STATES
from ..rounds.models import Round
from ..spending.models import FundedProject
from . import drawing
from .geojson import Polygon
from .models import AreaOutline, ProposalPlace

Outline = tuple[int, str, list[Polygon], tuple[int, int] | None]


def outlines(wijk: Neighbourhood) -> list[Outline]:
    """Every buurt of the wijk, by name, with its outline (none when the map has no outline
    for it)."""
    rows = db.session.execute(
        select(Area.id, Area.name, AreaOutline)
        .outerjoin(AreaOutline, AreaOutline.area_id == Area.id)
        .where(Area.neighbourhood_id == wijk.id)
        .order_by(Area.name, Area.id)
    ).all()
    return [
        (
            area_id,
            name,
            outline.polygons if outline else [],
            (outline.label_lon, outline.label_lat) if outline else None,
        )
        for area_id, name, outline in rows
    ]


def has_outlines(wijk: Neighbourhood) -> bool:
    return (
        db.session.scalar(
            select(AreaOutline.area_id).where(AreaOutline.neighbourhood_id == wijk.id).limit(1)
        )
        is not None
    )


def round_map(
    rnd: Round, *, area_id: int | None = None, proposal_url: object = None
) -> drawing.WijkMap:
    """The round's public proposals on the wijk's map (``proposal_url(id)`` gives each link);
    with ``area_id`` only that buurt's proposals, and the buurt marked."""
    query = (
        select(Proposal.id, Proposal.title, Proposal.area_id, ProposalPlace.lon, ProposalPlace.lat)
        .outerjoin(ProposalPlace, ProposalPlace.proposal_id == Proposal.id)
        .where(Proposal.round_id == rnd.id, Proposal.state.in_(PUBLIC_STATES))
        .order_by(Proposal.title, Proposal.id)
        .limit(drawing.MAX_MARKERS + 1)
    )
    if area_id is not None:
        query = query.where(Proposal.area_id == area_id)
    entries = [
        (
            row.area_id,
            drawing.Entry(
                row.title,
                proposal_url(row.id) if callable(proposal_url) else "",
                "voorstel",
                (row.lon, row.lat) if row.lon is not None else None,
            ),
        )
        for row in db.session.execute(query)
    ]
    return drawing.build(outlines(rnd.neighbourhood), entries, selected=area_id)


def projects_map(wijk: Neighbourhood, *, project_url: object = None) -> drawing.WijkMap:
    """The wijk's funded projects (of every round) on its map."""
    query = (
        select(
            FundedProject.id,
            Proposal.title,
            Proposal.area_id,
            ProposalPlace.lon,
            ProposalPlace.lat,
        )
        .join(Proposal, Proposal.id == FundedProject.proposal_id)
        .outerjoin(ProposalPlace, ProposalPlace.proposal_id == Proposal.id)
        .where(FundedProject.neighbourhood_id == wijk.id)
        .order_by(Proposal.title, FundedProject.id)
        .limit(drawing.MAX_MARKERS + 1)
    )
    entries = [
        (
            row.area_id,
            drawing.Entry(
                row.title,
                project_url(row.id) if callable(project_url) else "",
                "project",
                (row.lon, row.lat) if row.lon is not None else None,
            ),
        )
        for row in db.session.execute(query)
    ]
    return drawing.build(outlines(wijk), entries)


def place_of(proposal: Proposal) -> ProposalPlace | None:
    return db.session.get(ProposalPlace, proposal.id)
