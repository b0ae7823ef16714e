"""Residents write a proposal: make it (a concept, or submitted at once), change it, submit it
to the board and withdraw it. Each public function is one use case (``@use_case``); locks as
``base`` says: the round, then the proposal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from ...accounts.models import User
from ...dialogue.models import Thread
from ...extensions import db, utcnow
from ...rounds.models import Round
from ...rounds.operations import lock_round
from ...usecase import use_case
from ..models import Action, CostLine, Proposal, ProposalError, State
from .base import Forbidden, locked, money

MAX_COST_LINES = 20
#: the same form sent again this soon (a double click, a reload) finds the first proposal
REPLAY_WINDOW = timedelta(minutes=10)


@dataclass
class ProposalData:
    title: str
    summary: str
    description: str
    category_id: int | None
    area_id: int | None
    location: str = ""
    cost_lines: list[tuple[str, int]] = field(default_factory=list)


def _validate(rnd: Round, data: ProposalData) -> None:
    if not data.title.strip():
        raise ProposalError(_("Geef je voorstel een titel."))
    if data.category_id is not None and data.category_id not in {c.id for c in rnd.categories}:
        raise ProposalError(_("Kies een categorie van deze ronde."))
    if data.area_id is not None:
        area = next((a for a in rnd.neighbourhood.areas if a.id == data.area_id), None)
        if area is None or not rnd.area_in_scope(area):
            raise ProposalError(_("Deze buurt doet niet mee aan deze ronde."))
    if not data.cost_lines:
        raise ProposalError(_("Vul minstens één kostenpost in: wat kost het, en waaraan?"))
    if len(data.cost_lines) > MAX_COST_LINES:
        raise ProposalError(_("Gebruik hoogstens %(n)d kostenposten.", n=MAX_COST_LINES))
    total = sum(amount for _desc, amount in data.cost_lines)
    if total < rnd.min_cost_cents or total > rnd.max_cost_cents:
        raise ProposalError(
            _(
                "Je voorstel kost %(total)s. In deze ronde mag een voorstel tussen %(min)s en "
                "%(max)s kosten.",
                total=money(total),
                min=money(rnd.min_cost_cents),
                max=money(rnd.max_cost_cents),
            )
        )


def _apply(proposal: Proposal, data: ProposalData) -> None:
    proposal.title = data.title.strip()
    proposal.summary = data.summary.strip()
    proposal.description = data.description.strip()
    proposal.category_id = data.category_id
    proposal.area_id = data.area_id
    proposal.location = data.location.strip()
    proposal.cost_lines = [
        CostLine(position=i, description=desc.strip(), amount_cents=amount)
        for i, (desc, amount) in enumerate(data.cost_lines)
    ]
    proposal.cost_cents = sum(amount for _desc, amount in data.cost_lines)
    proposal.updated_at = utcnow()


def _replayed(user: User, rnd: Round, data: ProposalData) -> Proposal | None:
    """The proposal this person made from the same form a moment ago (a second press of the
    button, a reload that posts again), if any."""
    return db.session.scalar(
        select(Proposal)
        .where(
            Proposal.round_id == rnd.id,
            Proposal.submitter_id == user.id,
            Proposal.title == data.title.strip(),
            Proposal.summary == data.summary.strip(),
            Proposal.state.in_([State.CONCEPT, State.SUBMITTED]),
            Proposal.created_at > utcnow() - REPLAY_WINDOW,
        )
        .order_by(Proposal.id)
        .limit(1)
    )


@use_case
def create_proposal(user: User, rnd: Round, data: ProposalData, *, submit: bool) -> Proposal:
    """A new proposal (a concept, or submitted at once), with its conversation in the
    wijkdialoog. The same form sent twice gives the one proposal.

    Locks: the round (lock_round: whether proposals may come in is the phase by the dates; and
    two presses of the button find each other instead of making two proposals)."""
    rnd = lock_round(rnd)
    refusal = rnd.proposal_refusal(user)
    if refusal:
        raise Forbidden(refusal)
    _validate(rnd, data)
    replay = _replayed(user, rnd, data)
    if replay is not None:
        if submit and replay.state == State.CONCEPT:
            _submit(replay, user)
        return replay
    proposal = Proposal(
        round=rnd, neighbourhood_id=rnd.neighbourhood_id, submitter=user, state=State.CONCEPT
    )
    _apply(proposal, data)
    db.session.add(proposal)
    proposal.add_event("created", user, "resident")
    if submit:
        _submit(proposal, user)
    db.session.flush()
    db.session.add(Thread.about(proposal))  # its conversation in the wijkdialoog, made with it
    db.session.flush()
    return proposal


@use_case
def update_proposal(
    user: User, proposal: Proposal, data: ProposalData, *, submit: bool = False
) -> Proposal:
    """The authors change their proposal (and submit it, with ``submit``, when they may), in one
    go. No cost changes once voting has begun (the rule's phases, judged under the lock).

    Locks: the round (lock_round) and the proposal."""
    proposal = locked(proposal)
    proposal.check(Action.EDIT, user)
    _validate(proposal.round, data)
    _apply(proposal, data)
    proposal.add_event("edited", user, "resident")
    if submit and proposal.allows(Action.SUBMIT, user):
        _submit(proposal, user)
    db.session.flush()
    return proposal


def _submit(proposal: Proposal, user: User) -> None:
    proposal.submitted_at = proposal.submitted_at or utcnow()
    proposal.add_event("submitted", user, "resident", to_state=State.SUBMITTED)


@use_case
def submit(user: User, proposal: Proposal) -> None:
    """A concept (or a proposal the board sent back) goes to the board. Pressed twice: the
    second press finds it submitted and changes nothing.

    Locks: the round (lock_round: submitting a concept is for the phase 'indienen' by its
    dates) and the proposal (its state)."""
    proposal = locked(proposal)
    if proposal.state == State.SUBMITTED and proposal.is_author(user):
        return
    proposal.check(Action.SUBMIT, user)
    _validate(
        proposal.round,
        ProposalData(
            proposal.title,
            proposal.summary,
            proposal.description,
            proposal.category_id,
            proposal.area_id,
            proposal.location,
            [(line.description, line.amount_cents) for line in proposal.cost_lines],
        ),
    )
    _submit(proposal, user)
    db.session.flush()


@use_case
def withdraw(user: User, proposal: Proposal, reason: str) -> None:
    """The authors withdraw their proposal (before voting). Pressed twice: changes nothing.

    Locks: the round (lock_round: before voting, by the dates) and the proposal (its state)."""
    proposal = locked(proposal)
    if proposal.state == State.WITHDRAWN and proposal.is_author(user):
        return
    proposal.check(Action.WITHDRAW, user)
    proposal.add_event(
        "withdrawn", user, "resident", to_state=State.WITHDRAWN, message=reason.strip()
    )
    db.session.flush()
