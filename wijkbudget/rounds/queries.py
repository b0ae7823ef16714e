"""Read queries for rounds, shared by pages (and later the API). Nothing here writes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db, utcnow
from ..neighbourhoods.models import Neighbourhood
from ..proposals.models import Proposal, State
from ..voting.fast import round_by_slug_query  # built once: the ballot and the cast use it
from .models import PHASES, Eligibility, Phase, Round


def rounds_of(wijk: Neighbourhood, *, include_concepts: bool) -> Select[Round]:
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


def round_by_slug(slug: str, round_id: int) -> Round | None:
    return db.session.scalar(round_by_slug_query(), {"slug": slug, "round_id": round_id})


def state_counts(rnd: Round) -> dict[str, int]:
    rows = db.session.execute(
        select(Proposal.state, func.count(Proposal.id))
        .where(Proposal.round_id == rnd.id)
        .group_by(Proposal.state)
    ).all()
    return {str(state): int(n) for state, n in rows}


# --- the phase by the dates, without writing ---------------------------------------------------


def _proposal_counts(rnd: Round) -> dict[Any, int]:
    rows = db.session.execute(
        select(Proposal.state, func.count(Proposal.id))
        .where(Proposal.round_id == rnd.id)
        .group_by(Proposal.state)
    ).all()
    return {state: int(n) for state, n in rows}


def transition_problem(
    rnd: Round, target: Phase, counts: dict[Any, int] | None = None
) -> str | None:
    """Why the round cannot move forward to ``target`` now (None: it can). ``counts`` are the
    round's proposals per state when the caller has them already (one query otherwise)."""
    if counts is None:
        counts = _proposal_counts(rnd)
    past_review = PHASES.index(target) > PHASES.index(Phase.REVIEW)
    if past_review and counts.get(State.SUBMITTED, 0):
        return _(
            "Er wachten nog %(n)d voorstellen op toetsing. Neem eerst over elk voorstel een "
            "besluit.",
            n=counts[State.SUBMITTED],
        )
    if target == Phase.VOTING and not counts.get(State.ADMITTED, 0):
        return _("Er staat nog geen enkel toegelaten voorstel op het stembiljet.")
    return None


def phase_by_dates(rnd: Round, now: datetime | None = None) -> Phase:
    """The phase the round's dates put it in at ``now``: where ``operations.sync_phase`` would
    move it (it stops where a move is not possible yet, e.g. proposals still unreviewed), worked
    out without changing anything. No query unless a date has passed (then one count)."""
    now = now or utcnow()
    phase = rnd.phase
    counts: dict[Any, int] | None = None
    while (target := rnd.due_phase(now, phase)) is not None:
        if counts is None:
            counts = _proposal_counts(rnd)
        if transition_problem(rnd, target, counts) is not None:
            break
        phase = target
    return phase


def as_of_now(rnd: Round, now: datetime | None = None) -> Round:
    """The round as a page shows it: in the phase its dates imply now, even when the ``tick``
    command has not written that move yet. The phase is set as the round's loaded state
    (``set_committed_value``), so no flush ever writes it: a GET stays a read, and every rule
    that reads ``rnd.phase`` (``proposal_refusal``, ``voting_open``, the templates) answers as
    the dates say. A write takes the round with ``operations.lock_round`` instead, which reads
    the stored row afresh and moves it for real.

    What the page does not show before the move is written: the support threshold's effect
    (proposals below it leave the ballot when the move to voting is written) and the timeline
    entry of the move."""
    phase = phase_by_dates(rnd, now)
    if phase != rnd.phase:
        set_committed_value(rnd, "phase", phase)
    return rnd


def all_as_of_now(rounds: Iterable[Round], now: datetime | None = None) -> None:
    now = now or utcnow()
    for rnd in rounds:
        as_of_now(rnd, now)


def codes_vote_now(now: datetime | None = None) -> list[Round]:
    """The rounds in voting (as stored) where a code from a letter votes, until their voting
    end date: the home page points holders of a letter to the code page. At most a handful,
    with their wijk."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Round)
            .options(joinedload(Round.neighbourhood))
            .where(
                Round.phase == Phase.VOTING,
                Round.eligibility != Eligibility.ACCOUNTS,
                or_(Round.result_opens.is_(None), Round.result_opens > now),
            )
            .order_by(Round.id)
            .limit(20)
        )
    )
