"""Read queries for proposals: the public list with filters, sort and search; the review queue;
a resident's own proposals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..extensions import db
from ..rounds.models import Round
from .models import CoAuthor, Proposal, State, Support

SORTS = ("random", "newest", "support", "cost_asc", "cost_desc")
#: states shown on the public list (a concept is private to its authors)
PUBLIC_STATES = [s for s in State if s != State.CONCEPT]
REVIEW_STATES = [State.SUBMITTED, State.CHANGES_REQUESTED, State.ADMITTED]


@dataclass(frozen=True)
class ListFilter:
    q: str = ""
    category_id: int | None = None
    area_id: int | None = None
    state: State | None = None
    sort: str = "random"
    seed: int = 0


def _list_options(query: Select[Proposal]) -> Select[Proposal]:
    return query.options(
        selectinload(Proposal.category),
        selectinload(Proposal.area),
        selectinload(Proposal.images),
    )


def proposal_list(rnd: Round, filters: ListFilter) -> Select[Proposal]:
    query = select(Proposal).where(Proposal.round_id == rnd.id)
    if filters.state is not None and filters.state in PUBLIC_STATES:
        query = query.where(Proposal.state == filters.state)
    else:
        query = query.where(Proposal.state.in_(PUBLIC_STATES))
    if filters.category_id is not None:
        query = query.where(Proposal.category_id == filters.category_id)
    if filters.area_id is not None:
        query = query.where(Proposal.area_id == filters.area_id)
    if filters.q:
        query = query.where(
            or_(
                Proposal.title.icontains(filters.q, autoescape=True),
                Proposal.summary.icontains(filters.q, autoescape=True),
            )
        )
    order: tuple[Any, ...] | None = {
        "newest": (Proposal.submitted_at.desc(), Proposal.id.desc()),
        "support": (Proposal.support_count.desc(), Proposal.id),
        "cost_asc": (Proposal.cost_cents, Proposal.id),
        "cost_desc": (Proposal.cost_cents.desc(), Proposal.id),
    }.get(filters.sort)
    if order is None:
        # random but stable for one visitor: a per-visitor seed mixed into the id (plain integer
        # arithmetic, the same on SQLite and PostgreSQL), so early entries get no advantage
        order = ((Proposal.id * 7919 + filters.seed) % 10007, Proposal.id)
    return _list_options(query.order_by(*order))


def review_queue(rnd: Round) -> Select[Proposal]:
    return _list_options(
        select(Proposal)
        .where(Proposal.round_id == rnd.id, Proposal.state.in_(REVIEW_STATES))
        .order_by(Proposal.state, Proposal.submitted_at, Proposal.id)
    )


def proposals_of(user: User) -> Select[Proposal]:
    coauthored = select(CoAuthor.proposal_id).where(
        CoAuthor.user_id == user.id, CoAuthor.accepted_at.is_not(None)
    )
    return (
        select(Proposal)
        .options(selectinload(Proposal.round), selectinload(Proposal.neighbourhood))
        .where(or_(Proposal.submitter_id == user.id, Proposal.id.in_(coauthored)))
        .order_by(Proposal.created_at.desc(), Proposal.id.desc())
    )


def load_proposal(proposal_id: int) -> Proposal | None:
    return db.session.scalar(
        select(Proposal)
        .options(
            selectinload(Proposal.cost_lines),
            selectinload(Proposal.images),
            selectinload(Proposal.coauthors),
            selectinload(Proposal.events),
            selectinload(Proposal.duplicates),
        )
        .where(Proposal.id == proposal_id)
    )


def supported_ids(user: User | None, proposal_ids: list[int]) -> set[int]:
    if user is None or not user.is_authenticated or not proposal_ids:
        return set()
    return set(
        db.session.scalars(
            select(Support.proposal_id).where(
                Support.user_id == user.id, Support.proposal_id.in_(proposal_ids)
            )
        )
    )
