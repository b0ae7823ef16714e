"""Reads of notifications: whether someone follows a proposal, and the entries of a wijk's
Atom feed (public facts only: rounds' phase changes, results, project updates — no names)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..results.models import Result
from ..rounds.models import Phase, PhaseChange, Round
from ..spending.models import FundedProject, ProgressUpdate
from .models import Follow

#: entries in a feed (the newest)
FEED_SIZE = 50


def follows(user_id: int | None, proposal_id: int) -> bool:
    if user_id is None:
        return False
    found = db.session.scalar(
        select(Follow.id).where(Follow.user_id == user_id, Follow.proposal_id == proposal_id)
    )
    return found is not None


@dataclass(frozen=True)
class Entry:
    """One entry of the feed: ``key`` makes its stable id; ``what`` says which kind it is."""

    key: str
    what: str
    when: datetime
    round: Round
    phase: Phase | None = None
    update: ProgressUpdate | None = None
    project: FundedProject | None = None


def feed_entries(wijk_id: int) -> list[Entry]:
    """The newest phase changes of the wijk's published rounds, results and project updates,
    newest first. Three queries, each at most ``FEED_SIZE`` rows."""
    changes = db.session.execute(
        select(PhaseChange, Round)
        .join(Round, Round.id == PhaseChange.round_id)
        .where(Round.neighbourhood_id == wijk_id, PhaseChange.to_phase != Phase.CONCEPT)
        .order_by(PhaseChange.created_at.desc(), PhaseChange.id.desc())
        .limit(FEED_SIZE)
    )
    entries = [
        Entry(f"fase-{c.id}", "phase", c.created_at, rnd, phase=c.to_phase)
        for c, rnd in changes
        if rnd.phase != Phase.CONCEPT
    ]
    results = db.session.execute(
        select(Result, Round)
        .join(Round, Round.id == Result.round_id)
        .where(Round.neighbourhood_id == wijk_id)
        .order_by(Result.closed_at.desc())
        .limit(FEED_SIZE)
    )
    entries += [
        Entry(f"uitslag-{r.id}", "result", r.closed_at, rnd)
        for r, rnd in results
        if rnd.has_reached(Phase.RESULT)
    ]
    updates = db.session.execute(
        select(ProgressUpdate, FundedProject, Round)
        .join(FundedProject, FundedProject.id == ProgressUpdate.project_id)
        .join(Round, Round.id == FundedProject.round_id)
        .where(FundedProject.neighbourhood_id == wijk_id)
        .options(joinedload(FundedProject.proposal))
        .order_by(ProgressUpdate.created_at.desc(), ProgressUpdate.id.desc())
        .limit(FEED_SIZE)
    )
    entries += [
        Entry(f"project-{u.id}", "update", u.created_at, rnd, update=u, project=p)
        for u, p, rnd in updates
    ]
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries[:FEED_SIZE]
