"""The board's review in public: admit a proposal to the ballot, reject it (naming the round's
criteria or a reason), send it back for changes, estimate its cost and mark it as a duplicate.
Every decision goes into the proposal's history and the audit log, and the authors get a mail
after the commit. Locks as ``base`` says: the round, the proposal (and another by id)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ...accounts.models import User
from ...audit.operations import record
from ...extensions import db
from ...usecase import Conflict, lock_or_gone, use_case
from ..models import Action, Proposal, ProposalError, ProposalEvent, State
from .base import locked, money, tell_authors


def _decide(
    board: User,
    proposal: Proposal,
    action: Action,
    to_state: State,
    message: str,
    subject: Any,
    criteria: list[str] | None = None,
) -> ProposalEvent:
    """Locks: the round (lock_round: reviewing is for the phases before voting, by the dates)
    and the proposal (its state). The same decision twice is a 409: it was just taken."""
    proposal = locked(proposal)
    if proposal.state == to_state and proposal.who_refusal(action, board) is None:
        raise Conflict(
            _("Dit besluit is net al genomen. Kijk in de geschiedenis van het voorstel.")
        )
    proposal.check(action, board)
    before = proposal.state
    event = proposal.add_event(
        action.value,
        board,
        "board",
        to_state=to_state,
        message=message,
        criteria=criteria,
    )
    record(
        f"proposal.{action.value}",
        actor=board,
        role="board",
        obj=proposal,
        neighbourhood=proposal.neighbourhood_id,
        before={"status": before.value},
        after={"status": to_state.value, "reden": message or None},
    )
    db.session.flush()
    tell_authors(proposal, event, subject)
    return event


@use_case
def admit(board: User, proposal: Proposal, message: str = "") -> None:
    """The board admits the proposal: it fits the round's rules. It is on the ballot once
    voting opens, unless the support threshold drops it first (the mail says which:
    ``proposals.status.admitted_explained``). Locks: see _decide."""
    _decide(
        board,
        proposal,
        Action.ADMIT,
        State.ADMITTED,
        message.strip(),
        _l("Je voorstel is toegelaten"),
    )


@use_case
def reject(board: User, proposal: Proposal, criterion_ids: list[int], reason: str) -> None:
    """The board rejects, naming the round's criteria or a reason. Locks: see _decide."""
    chosen = [c.text for c in proposal.round.criteria if c.id in set(criterion_ids)]
    if not chosen and not reason.strip():
        raise ProposalError(
            _("Kies de regel waar het voorstel niet aan voldoet, of schrijf waarom.")
        )
    if len(chosen) != len(set(criterion_ids)):
        raise ProposalError(_("Kies alleen regels van deze ronde."))
    _decide(
        board,
        proposal,
        Action.REJECT,
        State.REJECTED,
        reason.strip(),
        _l("Besluit over je voorstel"),
        criteria=chosen,
    )


@use_case
def request_changes(board: User, proposal: Proposal, message: str) -> None:
    """The board sends the proposal back to its authors. Locks: see _decide."""
    if not message.strip():
        raise ProposalError(_("Schrijf wat er anders moet."))
    _decide(
        board,
        proposal,
        Action.REQUEST_CHANGES,
        State.CHANGES_REQUESTED,
        message.strip(),
        _l("Het bestuur vraagt een aanpassing van je voorstel"),
    )


@use_case
def set_estimate(board: User, proposal: Proposal, cents: int | None, note: str) -> None:
    """The board's own estimate of the cost (None: the authors' cost again). Never once voting
    has begun: judged under the lock, so an estimate racing the move to voting happens strictly
    before it or is refused. The same estimate twice changes nothing.

    Locks: the round (lock_round: the phase by the dates) and the proposal."""
    proposal = locked(proposal)
    proposal.check(Action.ESTIMATE, board)
    if proposal.round.rules_locked:
        raise ProposalError(_("Het stemmen is begonnen: de kosten liggen vast."))
    if cents is not None and not note.strip():
        raise ProposalError(_("Leg uit waarom de kosten anders zijn. Dit is openbaar."))
    before = proposal.board_cost_cents
    new_note = note.strip() if cents is not None else ""
    if before == cents and proposal.board_cost_note == new_note:
        return
    proposal.board_cost_cents = cents
    proposal.board_cost_note = new_note
    message = (
        _("Het bestuur schat de kosten op %(cost)s. %(note)s", cost=money(cents), note=note.strip())
        if cents is not None
        else _("Het bestuur gaat weer uit van de kosten van de indieners.")
    )
    event = proposal.add_event("estimate", board, "board", message=message)
    record(
        "proposal.estimate",
        actor=board,
        role="board",
        obj=proposal,
        neighbourhood=proposal.neighbourhood_id,
        before={"schatting": before},
        after={"schatting": cents},
    )
    db.session.flush()
    tell_authors(proposal, event, _l("Het bestuur schat de kosten van je voorstel anders"))


@use_case
def mark_duplicate(board: User, proposal: Proposal, original: Proposal | None, note: str) -> None:
    """The board marks the proposal as looking like ``original`` (None: not any more). The same
    mark twice changes nothing.

    Locks: the round (lock_round), then both proposals in the order of their ids (two board
    members marking A as B's duplicate and B as A's at once: the second is refused)."""
    if original is not None and (
        original.id == proposal.id or original.round_id != proposal.round_id
    ):
        raise ProposalError(_("Kies een ander voorstel uit dezelfde ronde."))
    ids = sorted({proposal.id} | ({original.id} if original is not None else set()))
    held = {
        pid: (locked(pid) if i == 0 else lock_or_gone(Proposal, pid)) for i, pid in enumerate(ids)
    }
    proposal = held[proposal.id]
    original = held[original.id] if original is not None else None
    proposal.check(Action.MARK_DUPLICATE, board)
    if original is not None and original.duplicate_of_id == proposal.id:
        raise ProposalError(_("Dat voorstel staat al als dubbel van dit voorstel."))
    if proposal.duplicate_of_id == (original.id if original is not None else None):
        return
    proposal.duplicate_of = original
    message = (
        _(
            "Lijkt op voorstel #%(id)d: %(title)s. %(note)s",
            id=original.id,
            title=original.title,
            note=note.strip(),
        )
        if original is not None
        else _("Niet meer gemarkeerd als dubbel.")
    )
    event = proposal.add_event("duplicate", board, "board", message=message.strip())
    record(
        "proposal.duplicate",
        actor=board,
        role="board",
        obj=proposal,
        neighbourhood=proposal.neighbourhood_id,
        after={"dubbel_van": original.id if original else None},
    )
    db.session.flush()
    tell_authors(proposal, event, _l("Je voorstel lijkt op een ander voorstel"))
