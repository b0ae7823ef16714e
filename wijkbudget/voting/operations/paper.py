"""Paper ballots: a batch with its count sheet, each sheet entered as a cast (numbered in its
batch), a sheet entered wrongly struck out with a reason, and a second board member's
confirmation (four eyes) before the batch counts — with a reason when the sheets entered differ
from the count sheet — or the batch discarded with a reason, and nothing of it counts.

Every act on a batch starts by locking it (:func:`_lock_open_batch`), so entering, striking,
confirming and discarding one batch happen one after the other."""

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


#: a reason (striking a sheet, a count that differs, a discard): a few words, at most a column
REASON_MIN = 10
REASON_MAX = 500


def clean_reason(reason: str | None) -> str:
    """The reason on one line, or :class:`VotingError` when it is missing, too short to say
    anything (fewer than :data:`REASON_MIN` characters) or too long for its column."""
    text = " ".join((reason or "").split())
    if not text:
        raise VotingError(_("Schrijf op waarom."))
    if len(text) < REASON_MIN:
        raise VotingError(
            _("Schrijf in een paar woorden waarom (minstens %(n)d tekens).", n=REASON_MIN)
        )
    if len(text) > REASON_MAX:
        raise VotingError(_("De reden is te lang (hoogstens %(n)d tekens).", n=REASON_MAX))
    return text


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
def strike_sheet(board: User, rnd: Round, batch: PaperBatch, number: int, reason: str) -> bool:
    """Strike out sheet ``number`` of an open batch, with a reason: its sealed ballot and its
    participation go (the code can vote again, the address's place is free again, an account's
    mailbox fingerprint goes with the participation), the sheet stays, marked struck by whom,
    when and why, and no longer counts. Returns True; False when this board member had struck
    it already (a double click: nothing more happens). Struck already by another: 409.

    Locks: the batch (``FOR UPDATE``, see :func:`_lock_open_batch`): a confirmation or a
    discard waits and then sees the sheet struck (a confirmation counts without it), or comes
    first and this finds the batch closed (409); two strikes of one sheet: the second finds it
    struck. Then the code's row and the address's row (conditional updates), as a discard
    does: batch → code."""
    board_only(board, rnd)
    reason = clean_reason(reason)
    batch = _lock_open_batch(batch)
    sheet = db.session.scalar(
        select(PaperSheet)
        .where(PaperSheet.batch_id == batch.id, PaperSheet.number == number)
        .execution_options(populate_existing=True)
    )
    if sheet is None:
        raise VotingError(_("Stembiljet %(n)d staat niet in deze stapel.", n=number))
    if sheet.struck_at is not None:
        if sheet.struck_by_id == board.id:
            return False  # the same member again (a double click): it is struck
        raise Conflict(
            _(
                "Stembiljet %(n)d is al doorgestreept door een ander bestuurslid: %(reason)s",
                n=number,
                reason=sheet.struck_reason or "",
            )
        )
    participation_id, ballot_id = sheet.participation_id, sheet.sealed_ballot_id
    if participation_id is not None:
        db.session.execute(
            update(VotingCode)
            .where(
                VotingCode.id.in_(
                    select(Participation.code_id).where(Participation.id == participation_id)
                )
            )
            .values(used=False)
            .execution_options(synchronize_session=False)
        )
        register.release_sheet(participation_id)  # the place it took at its address
    sheet.participation_id = sheet.sealed_ballot_id = None
    sheet.struck_at = utcnow()
    sheet.struck_by_id = board.id
    sheet.struck_reason = reason
    db.session.flush()
    if ballot_id is not None:
        db.session.execute(
            delete(SealedBallot).where(
                SealedBallot.id == ballot_id, SealedBallot.paper_batch_id == batch.id
            )
        )
    if participation_id is not None:
        # (its mailbox fingerprint goes with it: ON DELETE CASCADE)
        db.session.execute(
            delete(Participation).where(
                Participation.id == participation_id, Participation.paper_batch_id == batch.id
            )
        )
    record(
        "paper.strike",
        actor=board,
        role="board",
        obj=batch,
        neighbourhood=rnd.neighbourhood,
        after={"stembiljet": number, "reden": reason},
    )
    return True


def four_eyes_refusal(board: User, batch: PaperBatch) -> str | None:
    """Why ``board`` may not confirm the batch, or None: the second pair of eyes is someone
    who did not begin the batch, enter any of its sheets or strike any out. (Read under the
    batch's lock by the confirmation; sheets change only under it.)"""
    if batch.created_by_id == board.id:
        return str(_("Een ander bestuurslid moet de stapel bevestigen (vier ogen)."))
    struck = db.session.scalar(
        select(PaperSheet.id)
        .where(PaperSheet.batch_id == batch.id, PaperSheet.struck_by_id == board.id)
        .limit(1)
    )
    if struck is not None:
        return str(
            _(
                "Je hebt een stembiljet van deze stapel doorgestreept. Een ander bestuurslid "
                "moet de stapel bevestigen (vier ogen)."
            )
        )
    entered = db.session.scalar(
        select(PaperSheet.id)
        .where(PaperSheet.batch_id == batch.id, PaperSheet.entered_by_id == board.id)
        .limit(1)
    )
    if entered is not None:
        return str(
            _(
                "Je hebt stembiljetten van deze stapel ingevoerd. Een ander bestuurslid moet de "
                "stapel bevestigen (vier ogen)."
            )
        )
    return None


@use_case
def confirm_paper_batch(
    board: User, rnd: Round, batch: PaperBatch, reason: str | None = None
) -> None:
    """The second pair of eyes (:func:`four_eyes_refusal`); then the batch's ballots count.
    When the sheets entered (struck ones not counted) differ from the count sheet, only with a
    reason (kept in ``mismatch_reason`` and the audit line); without one, a refusal that says
    both numbers. A reason given when the numbers agree is not needed and not kept. The sheets
    lose their links to their participations and sealed ballots: a confirmed sheet says no
    more than that it was entered (docs/ballot-secrecy.md). A second confirmation: 409.

    Locks: the batch (``FOR UPDATE``, see :func:`_lock_open_batch`): no sheet comes in or is
    struck while the sheets are counted, and a discard waits and then finds the batch
    confirmed."""
    board_only(board, rnd)
    batch = _lock_open_batch(batch)
    refusal = four_eyes_refusal(board, batch)
    if refusal:
        raise VotingError(refusal)
    entered = sheets_entered(batch)
    kept_reason = None
    if entered != batch.declared_count:
        if not (reason or "").strip():
            raise VotingError(
                _(
                    "Er zijn %(entered)d stembiljetten ingevoerd, maar op de telstaat staan er "
                    "%(declared)d. Bevestig de stapel alleen als je weet waarom dat verschilt, "
                    "en schrijf de reden op.",
                    entered=entered,
                    declared=batch.declared_count,
                )
            )
        kept_reason = clean_reason(reason)
    db.session.execute(
        update(SealedBallot)
        .where(SealedBallot.paper_batch_id == batch.id)
        .values(counted=True)
        .execution_options(synchronize_session=False)
    )
    # ballot secrecy: a confirmed sheet is no longer linked to its rows
    db.session.execute(
        update(PaperSheet)
        .where(PaperSheet.batch_id == batch.id)
        .values(participation_id=None, sealed_ballot_id=None)
        .execution_options(synchronize_session=False)
    )
    batch.confirmed_by_id = board.id
    batch.confirmed_at = utcnow()
    batch.mismatch_reason = kept_reason
    after: dict[str, object] = {"aantal": entered, "telstaat": batch.declared_count}
    if kept_reason:
        after["reden"] = kept_reason
    record(
        "paper.confirm",
        actor=board,
        role="board",
        obj=batch,
        neighbourhood=rnd.neighbourhood,
        after=after,
    )


@use_case
def discard_paper_batch(board: User, rnd: Round, batch: PaperBatch, reason: str) -> None:
    """Nothing of the batch counts: its ballots and participations go, its codes can vote
    again, the places at its addresses are free again. Only with a reason (kept in
    ``discard_reason`` and the audit line); the page asks to confirm first. A second
    discard: 409.

    Locks: the batch (``FOR UPDATE``, see :func:`_lock_open_batch`): a sheet being entered is
    in before this starts (and goes with the rest), or comes after and finds the batch
    discarded; a confirmation or a strike waits and then finds it discarded."""
    board_only(board, rnd)
    reason = clean_reason(reason)
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
    batch.discard_reason = reason
    record(
        "paper.discard",
        actor=board,
        role="board",
        obj=batch,
        neighbourhood=rnd.neighbourhood,
        after={"reden": reason},
    )
