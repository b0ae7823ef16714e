"""Read queries for rounds, shared by pages (and later the API)."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Select, bindparam, case, func, select
from sqlalchemy.orm import contains_eager

from ..extensions import db
from ..neighbourhoods.models import Neighbourhood
from .models import PHASES, Phase, Round


def rounds_of(wijk: Neighbourhood, *, include_concepts: bool) -> Select[tuple[Round]]:
    """Current rounds first (by phase), then the newest."""
    order = case({p.value: i for i, p in enumerate(PHASES)}, value=Round.phase)
    closed_last = case((Round.phase == Phase.CLOSED, 1), else_=0)
    query = select(Round).where(Round.neighbourhood_id == wijk.id)
    if not include_concepts:
        query = query.where(Round.phase != Phase.CONCEPT)
    return query.order_by(closed_last, order, Round.created_at.desc(), Round.id.desc())


def round_in(wijk: Neighbourhood, round_id: int) -> Round | None:
    """One round: its categories, criteria, areas and phase changes load when a page uses them
    (one query each), so the ballot and the cast, which use none of them, stay at one query."""
    return db.session.scalar(
        select(Round).where(Round.id == round_id, Round.neighbourhood_id == wijk.id)
    )


@cache
def round_by_slug_query() -> Select[tuple[Round]]:
    """The round with its wijk, by the wijk's slug (parameters ``slug`` and ``round_id``), in one
    query (the ballot and the cast, which may add a column of their own). Built once: on these
    busy pages building a statement costs about as much as running it."""
    return (
        select(Round)
        .join(Neighbourhood, Neighbourhood.id == Round.neighbourhood_id)
        .options(contains_eager(Round.neighbourhood))
        .where(Round.id == bindparam("round_id"), Neighbourhood.slug == bindparam("slug"))
    )


def round_by_slug(slug: str, round_id: int) -> Round | None:
    return db.session.scalar(round_by_slug_query(), {"slug": slug, "round_id": round_id})


def state_counts(rnd: Round) -> dict[str, int]:
    from ..proposals.models import Proposal

    rows = db.session.execute(
        select(Proposal.state, func.count(Proposal.id))
        .where(Proposal.round_id == rnd.id)
        .group_by(Proposal.state)
    ).all()
    return {str(state): int(n) for state, n in rows}
