"""Projects and their money: the grants a final result gives, extra money from the wijk
(reallocation), the penvoerder and the planning.

Locks, in the area's order (see the package): project → wijk."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _

from ...accounts.models import User
from ...audit.operations import record
from ...extensions import db
from ...money import format_cents
from ...neighbourhoods.models import Neighbourhood
from ...proposals.models import Proposal
from ...rounds.models import Round
from ...usecase import lock_or_gone, use_case
from .. import queries
from ..models import (
    EntryKind,
    FundedProject,
    LedgerEntry,
    NotAllowed,
    SpendingError,
)
from .common import check_board, check_positive, clean_reason
from .ledger import append
from .pot import return_leftover


@use_case
def grant_chosen(board: User, rnd: Round, proposals: list[Proposal], now: datetime) -> None:
    """The result is final: every chosen proposal becomes a funded project with its admitted
    cost as grant, each grant a ledger entry (in the order the rule chose them); what they leave
    of the budget drawn from the wijk's pot flows back to the pot (:func:`return_leftover`).

    Locks: the wijk's row (through :func:`append`); the new projects are rows no one else sees
    yet, and a proposal is funded once (``funded_project.proposal_id`` is unique). Called by
    closing the vote, whose use case it joins (that one has locked the round and commits)."""
    for proposal in proposals:
        project = FundedProject(
            proposal_id=proposal.id,
            round_id=rnd.id,
            neighbourhood_id=rnd.neighbourhood_id,
            granted_cents=proposal.effective_cost_cents,
            created_at=now,
        )
        db.session.add(project)
        db.session.flush()
        append(
            rnd.neighbourhood_id,
            EntryKind.GRANT,
            project.granted_cents,
            actor=board,
            project=project,
            reason=proposal.title,
            now=now,
        )
    # what the chosen projects leave of the budget drawn from the pot flows back to it
    return_leftover(board, rnd, sum(p.effective_cost_cents for p in proposals), now)


@use_case
def reallocate(board: User, project: FundedProject, amount_cents: int, reason: str) -> LedgerEntry:
    """Extra money for a project from the wijk's unspent money, with a reason: itself a ledger
    entry, after which a larger expense fits. The wijk's free money never goes below zero.

    Locks: the project (closed?), then the wijk (its free money is read under that lock, so two
    reallocations at once cannot together give out more than there is; :func:`append` locks
    the same row)."""
    project = lock_or_gone(FundedProject, project)
    check_board(board, project)
    if project.is_closed:
        raise SpendingError(_("Dit project is afgesloten."))
    check_positive(amount_cents)
    text = clean_reason(reason)
    wijk = lock_or_gone(Neighbourhood, project.neighbourhood_id)
    available = queries.wijk_available(wijk)
    if amount_cents > available:
        raise SpendingError(
            _(
                "Zoveel vrij geld heeft de wijk niet: er is %(available)s beschikbaar.",
                available=format_cents(available),
            )
        )
    entry = append(
        project.neighbourhood_id,
        EntryKind.REALLOCATION,
        amount_cents,
        actor=board,
        project=project,
        reason=text,
    )
    record(
        "ledger.reallocate",
        actor=board,
        role="board",
        obj=project,
        neighbourhood=project.neighbourhood_id,
        after={"bedrag": amount_cents, "reden": text, "boeking": entry.seq},
    )
    return entry


@use_case
def set_treasurer(board: User, project: FundedProject, treasurer: User | None) -> None:
    """The board names the penvoerder (or none).

    Locks: the project, so the audit entry's before is what the change replaced."""
    project = lock_or_gone(FundedProject, project)
    check_board(board, project)
    before = project.treasurer_id
    project.treasurer_id = treasurer.id if treasurer else None
    db.session.flush()
    record(
        "project.treasurer",
        actor=board,
        role="board",
        obj=project,
        neighbourhood=project.neighbourhood_id,
        before={"penvoerder": before},
        after={"penvoerder": project.treasurer_id},
    )


@use_case
def set_plan(user: User, project: FundedProject, start: date | None, end: date | None) -> None:
    """The planned start and end (initiators and the board).

    Locks: the project (a plain edit of two dates, the last one counts; the lock only keeps it
    in line with the other use cases of the project)."""
    project = lock_or_gone(FundedProject, project)
    if not (project.is_initiator(user) or project.can_manage(user)):
        raise NotAllowed(_("Alleen de initiatiefnemers en het bestuur plannen het project."))
    if start and end and end < start:
        raise SpendingError(_("De einddatum ligt voor de begindatum."))
    project.planned_start, project.planned_end = start, end
    db.session.flush()
