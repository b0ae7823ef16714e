"""Paper ballots: a batch with its count sheet, each sheet entered as a cast, and a second board
member's confirmation (four eyes) before the batch counts — or the batch discarded, and nothing
of it counts."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update

from ...accounts.models import User
from ...audit.operations import record
from ...extensions import db, utcnow
from ...rounds import operations as rounds
from ...rounds.models import Phase, Round
from ...usecase import Conflict, lock_or_gone, use_case
from .. import queries, register
from ..models import (
    Channel,
    PaperBatch,
    PaperSheet,
    Participation,
    SealedBallot,
    VotingCode,
    VotingError,
)
from ..queries import sheets_entered
from ..register import board_only
from .ballot import eligibility_refusal
from .cast import cast


@use_case(
    conflict=_l("Deze stapel is net al begonnen (twee keer op de knop gedrukt?). Kijk in de lijst.")
)
def open_paper_batch(
    board: User, rnd: Round, label: str, declared: int, *, form_token: str | None = None
) -> PaperBatch:
    """A new batch of paper ballots, with the number on its count sheet. ``form_token``: the
    same form sent twice (a double click) gets the batch the first opened.

    Locks: the round (``rounds.lock_round``, ``FOR UPDATE``: voting by its dates; closing the
    vote, which refuses while a batch is open, cannot overlap); a second batch from the same
    form: refused by the unique ``form_token`` (409), or found."""
    board_only(board, rnd)
    if declared < 1:
        raise VotingError(_("Vul in hoeveel stembiljetten er op de telstaat staan."))
    if form_token:
        opened = db.session.scalar(select(PaperBatch).where(PaperBatch.form_token == form_token))
        if opened is not None and opened.round_id == rnd.id:
            return opened  # the same form again: the batch it opened the first time
    rnd = rounds.lock_round(rnd)
    if rnd.phase != Phase.VOTING:
        raise VotingError(_("Papieren stemmen invoeren kan alleen tijdens het stemmen."))
    batch = PaperBatch(
        round_id=rnd.id,
        label=label.strip() or _("Papieren stemmen"),
        declared_count=declared,
        created_by_id=board.id,
        form_token=form_token or None,
    )
    db.session.add(batch)
    db.session.flush()
    record(
        "paper.open",
        actor=board,
        role="board",
        obj=batch,
        neighbourhood=rnd.neighbourhood,
        after={"label": batch.label, "aantal": declared},
    )
    return batch


def _lock_open_batch(batch: PaperBatch) -> PaperBatch:
    """The batch, locked (``FOR UPDATE``) and still open. Entering a sheet, confirming and
    discarding all start here, so they happen one after the other: a batch ends either
    confirmed with all its ballots or discarded with none."""
    batch = lock_or_gone(PaperBatch, batch)
    if batch.confirmed_at is not None:
        raise Conflict(_("Deze stapel is al bevestigd."))
    if batch.discarded_at is not None:
        raise Conflict(_("Deze stapel is al weggegooid."))
    return batch


@use_case
def enter_sheet(
    board: User, rnd: Round, batch: PaperBatch, identifier: str, selection: dict[int, int]
) -> None:
    """One paper ballot: the voter's code (or, with accounts, their e-mail) and the choices.
    Someone who already voted: :class:`AlreadyVoted` (409), and nothing of the sheet stays; the
    view then keeps the conflict for the board (:func:`record_paper_conflict`).

    Locks: the batch (``FOR UPDATE``, see :func:`_lock_open_batch`), then what the cast locks
    (the round ``FOR SHARE``, the code's row)."""
    board_only(board, rnd)
    batch = _lock_open_batch(batch)
    identifier = identifier.strip()
    user = code = None
    if "@" in identifier:
        if not rnd.eligibility.allows_accounts:
            raise VotingError(_("In deze ronde staat op elk stembiljet een stemcode."))
        user = db.session.scalar(select(User).where(User.email == identifier.lower()))
        refusal = (
            eligibility_refusal(rnd, user, code_ok=False)
            if user is not None
            else _("Geen account met dit e-mailadres.")
        )
        if refusal:
            raise VotingError(refusal)
    else:
        code = queries.code_by_text(identifier)
        if code is None or not code.is_valid_in(rnd.id):
            raise VotingError(_("Deze stemcode is niet geldig."))
    number = (
        db.session.scalar(
            select(func.max(PaperSheet.number)).where(PaperSheet.batch_id == batch.id)
        )
        or 0
    ) + 1  # (the batch is locked: no other sheet takes this number meanwhile)
    cast(
        rnd,
        selection,
        user=user,
        code=code,
        channel=Channel.PAPER,
        paper_batch=batch,
        sheet_number=number,
        entered_by=board,
    )


@use_case
def record_paper_conflict(board: User, rnd: Round, batch: PaperBatch) -> None:
    """A sheet was refused because that person had already voted: the board sees the number
    of such sheets with the batch (the audit log keeps them).

    Locks: nothing: an audit line is a new row."""
    board_only(board, rnd)
    record(
        "paper.conflict",
        actor=board,
        role="board",
        obj=batch,
        neighbourhood=rnd.neighbourhood_id,
        after={"stembiljet": "al gestemd"},
    )


@use_case
def confirm_paper_batch(board: User, rnd: Round, batch: PaperBatch) -> None:
    """The second pair of eyes: only another board member, and only when the count matches;
    then the batch's ballots count. A second confirmation: 409.

    Locks: the batch (``FOR UPDATE``, see :func:`_lock_open_batch`): no sheet comes in while
    the sheets are counted, and a discard waits and then finds the batch confirmed."""
    board_only(board, rnd)
    batch = _lock_open_batch(batch)
    if batch.created_by_id == board.id:
        raise VotingError(_("Een ander bestuurslid moet de stapel bevestigen (vier ogen)."))
    entered = sheets_entered(batch)
    if entered != batch.declared_count:
        raise VotingError(
            _(
                "Er zijn %(entered)d stembiljetten ingevoerd, maar op de telstaat staan er "
                "%(declared)d.",
                entered=entered,
                declared=batch.declared_count,
            )
        )
    db.session.execute(
        update(SealedBallot)
        .where(SealedBallot.paper_batch_id == batch.id)
        .values(counted=True)
        .execution_options(synchronize_session=False)
    )
    batch.confirmed_by_id = board.id
    batch.confirmed_at = utcnow()
    record(
        "paper.confirm",
        actor=board,
        role="board",
        obj=batch,
        neighbourhood=rnd.neighbourhood,
        after={"aantal": entered},
    )


@use_case
def discard_paper_batch(board: User, rnd: Round, batch: PaperBatch) -> None:
    """Nothing of the batch counts: its ballots and participations go, its codes can vote
    again. A second discard: 409.

    Locks: the batch (``FOR UPDATE``, see :func:`_lock_open_batch`): a sheet being entered is
    in before this starts (and goes with the rest), or comes after and finds the batch
    discarded; a confirmation waits and then finds it discarded."""
    board_only(board, rnd)
    batch = _lock_open_batch(batch)
    codes = select(Participation.code_id).where(Participation.paper_batch_id == batch.id)
    db.session.execute(
        update(VotingCode)
        .where(VotingCode.id.in_(codes))
        .values(used=False)
        .execution_options(synchronize_session=False)
    )
    register.release_batch(batch.id)  # the places its sheets took at their addresses
    db.session.execute(delete(SealedBallot).where(SealedBallot.paper_batch_id == batch.id))
    db.session.execute(delete(Participation).where(Participation.paper_batch_id == batch.id))
    batch.discarded_at = utcnow()
    record("paper.discard", actor=board, role="board", obj=batch, neighbourhood=rnd.neighbourhood)
