"""The demo's map: the buurten of wijk West (``demo_data/west.geojson``, plausible outlines of
Lombok, Oog in Al, Welgelegen and Nieuw Engeland, drawn for the demo, not the CBS's), loaded as
an admin would, and a few demo proposals and the funded projects placed on it.
``wijkbudget.demo`` calls :func:`load_demo_map` in its one use case."""

from __future__ import annotations

from importlib.resources import files

from sqlalchemy import select

from ..accounts.models import User
from ..extensions import db
from ..neighbourhoods.models import Area, Neighbourhood
from ..proposals.models import Proposal
from ..proposals.operations.places import place_proposal
from ..rounds.models import Phase, Round
from ..spending.models import FundedProject
from . import queries
from .geojson import read_buurten
from .models import ProposalPlace
from .operations import upload_outlines

#: a little beside the buurt's label point, so the markers do not cover its name (micro-degrees)
NUDGE = (900, -1100)


def load_demo_map(wijk: Neighbourhood) -> None:
    """The outlines of the demo wijk, once (a second demo run finds them and does nothing);
    then the first three proposals of its open round placed by a point in their buurt, and its
    funded projects spread over the buurten."""
    if queries.has_outlines(wijk):
        return
    data = files("wijkbudget").joinpath("demo_data/west.geojson").read_bytes()
    upload_outlines(None, wijk, read_buurten(data))
    labels = {area_id: label for area_id, _name, _polys, label in queries.outlines(wijk) if label}
    open_round = db.session.scalar(
        select(Round)
        .where(
            Round.neighbourhood_id == wijk.id,
            Round.phase.in_([Phase.SUBMISSION, Phase.REVIEW, Phase.SUPPORT]),
        )
        .order_by(Round.id.desc())
        .limit(1)
    )
    if open_round is not None:
        placed = db.session.scalars(
            select(Proposal)
            .where(Proposal.round_id == open_round.id, Proposal.area_id.is_not(None))
            .order_by(Proposal.id)
            .limit(3)
        )
        for proposal in list(placed):
            lon, lat = labels[proposal.area_id]  # type: ignore[index]
            author = db.session.get(User, proposal.submitter_id)
            place_proposal(author, proposal, lon + NUDGE[0], lat + NUDGE[1])  # type: ignore[arg-type]
    areas = list(
        db.session.scalars(select(Area).where(Area.neighbourhood_id == wijk.id).order_by(Area.name))
    )
    projects = db.session.scalars(
        select(Proposal)
        .join(FundedProject, FundedProject.proposal_id == Proposal.id)
        .where(FundedProject.neighbourhood_id == wijk.id)
        .order_by(Proposal.id)
    )
    # the past round is closed (its proposals can no longer be edited): its buurt and point are
    # written as its data, as the demo writes the rest of that round's history
    for i, proposal in enumerate(list(projects)):
        area = areas[i % len(areas)]
        proposal.area_id = area.id
        if i % 2 == 0 and area.id in labels:
            lon, lat = labels[area.id]
            point = (lon - NUDGE[0], lat + NUDGE[1])
            db.session.add(ProposalPlace(proposal_id=proposal.id, lon=point[0], lat=point[1]))
    db.session.flush()
