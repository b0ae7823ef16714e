"""Voting use cases: check a ballot against the round's rules, cast it (one per person, by the
database), receipts, printed codes, paper batches with a second board member's confirmation,
and turnout. Board actions are audit-logged; no log line links a ballot to a voter.

Every operation that writes is a use case (``@use_case``): one transaction that it commits or
rolls back itself; its docstring says what it locks. Lock order: the paper batch, then the
round, then a code's row (a cast takes the round and then the code; entering a sheet takes its
batch first).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from limits import parse as parse_limit
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from .. import permissions, sealing
from ..accounts.models import User
from ..audit.models import AuditEvent
from ..audit.operations import record
from ..extensions import db, utcnow
from ..money import format_cents
from ..neighbourhoods.models import Area
from ..pagecache import note_write
from ..proposals.models import Proposal
from ..rounds import operations as rounds
from ..rounds.models import BallotType, Eligibility, Phase, Round
from ..usecase import Conflict, guarded, lock_or_gone, use_case
from . import register
from .addresses import MAX_PLACES
from .codes import (
    code_hash,
    derive_code,
    group,
    new_receipt,
    normalise_code,
    receipt_hash,
)
from .fingerprint import fingerprint
from .models import (
    AlreadyVoted,
    Ballot,
    BallotChoice,
    Channel,
    CodeBatch,
    PaperBatch,
    Participation,
    Receipt,
    SealedBallot,
    VoterFingerprint,
    VotingCode,
    VotingError,
    new_ballot_id,
)
from .queries import BallotItem, ballot_costs, sheets_entered

MAX_BATCH = 20_000
log = logging.getLogger(__name__)


# --- the rules of a ballot ----------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """What a selection adds up to, for the live bar and the review screen."""

    chosen: int
    cost_cents: int
    points: int
    budget_cents: int

    @property
    def left_cents(self) -> int:
        return self.budget_cents - self.cost_cents


def tally(
    rnd: Round, selection: dict[int, int], proposals: Sequence[Proposal | BallotItem]
) -> Tally:
    by_id = {p.id: p for p in proposals}
    cost = sum(by_id[i].effective_cost_cents for i in selection if i in by_id)
    return Tally(len(selection), cost, sum(selection.values()), rnd.budget_cents)


def problems(
    rnd: Round, selection: dict[int, int], proposals: Sequence[Proposal | BallotItem]
) -> list[str]:
    """Everything wrong with this selection, in plain Dutch (empty: the ballot is valid)."""
    found: list[str] = []
    if rnd.phase != Phase.VOTING:
        found.append(_("Het stemmen is niet open. Stemmen kan alleen in de fase 'Stemmen'."))
    elif not rnd.voting_open(utcnow()):
        found.append(_("De stemming is voorbij: stemmen kan niet meer."))
    by_id = {p.id: p for p in proposals}
    for proposal_id in selection:
        if proposal_id not in by_id:
            found.append(_("Voorstel #%(id)d staat niet op het stembiljet.", id=proposal_id))
    if any(points < 1 for points in selection.values()):
        found.append(_("Geef elk gekozen voorstel minstens 1 punt."))
    if not selection:
        found.append(_("Kies minstens één voorstel."))
        return found
    total = tally(rnd, selection, proposals)
    if rnd.ballot_type == BallotType.APPROVAL:
        if rnd.ballot_max_choices and total.chosen > rnd.ballot_max_choices:
            found.append(
                _(
                    "Je hebt %(n)d voorstellen gekozen; het mogen er hoogstens %(k)d zijn.",
                    n=total.chosen,
                    k=rnd.ballot_max_choices,
                )
            )
        if rnd.ballot_min_choices and total.chosen < rnd.ballot_min_choices:
            found.append(
                _(
                    "Kies minstens %(k)d voorstellen; je hebt er %(n)d gekozen.",
                    n=total.chosen,
                    k=rnd.ballot_min_choices,
                )
            )
    elif rnd.ballot_type == BallotType.KNAPSACK:
        if total.cost_cents > rnd.budget_cents:
            found.append(
                _(
                    "Je keuze kost %(cost)s: dat is %(over)s te veel.",
                    cost=format_cents(total.cost_cents),
                    over=format_cents(total.cost_cents - rnd.budget_cents),
                )
            )
        if (
            rnd.ballot_min_percent
            and total.cost_cents * 100 < rnd.budget_cents * rnd.ballot_min_percent
        ):
            found.append(
                _(
                    "Kies voor minstens %(p)d%% van het budget; je zit op %(cost)s.",
                    p=rnd.ballot_min_percent,
                    cost=format_cents(total.cost_cents),
                )
            )
    elif rnd.ballot_type == BallotType.CUMULATIVE:
        if total.points != rnd.ballot_points:
            found.append(
                _(
                    "Verdeel precies %(n)d punten; je hebt er nu %(given)d verdeeld.",
                    n=rnd.ballot_points or 0,
                    given=total.points,
                )
            )
        cap = rnd.ballot_max_points_each
        if cap and any(points > cap for points in selection.values()):
            found.append(_("Geef één voorstel hoogstens %(m)d punten.", m=cap))
    if rnd.ballot_type != BallotType.CUMULATIVE and any(p != 1 for p in selection.values()):
        found.append(_("Bij dit stembiljet kies je een voorstel, zonder punten."))
    return found


# --- who may vote ---------------------------------------------------------------------------------


def account_refusal(rnd: Round, user: User | None) -> str | None:
    """In accounts mode: why this account cannot vote in this round (None: it can)."""
    if user is None or not user.is_authenticated:
        return _("Log in om te stemmen.")
    refusal = rnd.take_part_refusal(user, "vote")
    if refusal is not None:
        return refusal
    if not rnd.is_old_enough(user):
        return _("Voor deze ronde moet je minstens %(age)d jaar zijn.", age=rnd.min_age)
    return None


# --- voting codes: what was typed --------------------------------------------------------------


@cache
def _code_by_hash_query() -> Any:
    return (
        select(VotingCode)
        .where(VotingCode.code_hash == bindparam("code_hash"))
        .options(
            joinedload(VotingCode.batch),
            joinedload(VotingCode.round).joinedload(Round.neighbourhood),
        )
    )


@dataclass(frozen=True)
class CodeLookup:
    """What a typed code turned out to be."""

    #: the code, if it can still vote (not used, not revoked), with its batch, round and wijk
    code: VotingCode | None
    #: something was typed and no code like it was ever made: the one kind of attempt the
    #: rate limits count (a used or revoked code is a real code, not a guess)
    unknown: bool


def look_up_code(text: str) -> CodeLookup:
    """The code someone typed (one query). Reads only."""
    typed = normalise_code(text)
    if not typed:
        return CodeLookup(None, unknown=False)
    code = db.session.scalar(_code_by_hash_query(), {"code_hash": code_hash(typed)})
    if code is None:
        return CodeLookup(None, unknown=True)
    if code.used or code.revoked_at or code.batch.revoked_at:
        return CodeLookup(None, unknown=False)
    return CodeLookup(code, unknown=False)


def find_code(rnd: Round | None, text: str) -> VotingCode | None:
    """A usable code (not used, not revoked), with its batch, round and wijk (one query). Wrong,
    used and revoked codes all give None, so the answer to the person is the same for each."""
    code = look_up_code(text).code
    if code is None or (rnd is not None and code.round_id != rnd.id):
        return None
    return code


@use_case
def note_many_wrong_codes(limit: str) -> bool:
    """The limit on wrong codes from everyone together was reached: the audit log says so, once
    per window of the limit (every refused attempt after it would say it again). Returns whether
    it wrote.

    Locks: nothing: no row decides; two requests at the very same moment may both write the
    line (harmless: the log says it twice)."""
    window = timedelta(seconds=parse_limit(limit).get_expiry())
    since = utcnow() - window
    said = db.session.scalar(
        select(AuditEvent.id)
        .where(AuditEvent.action == "codes.many_failures", AuditEvent.created_at >= since)
        .limit(1)
    )
    if said is not None:
        return False
    record("codes.many_failures", actor=None, role="system", after={"limiet": limit})
    return True


# --- casting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CastStatements:
    lock_round: Any
    stored_phase: Any
    participation: Any
    use_code: Any
    fingerprint: Any
    sealed: Any
    receipt: Any


@cache
def _cast_statements() -> _CastStatements:
    """The statements of a cast, built once (building one costs about as much as running it)."""
    code = VotingCode.__table__.c
    return _CastStatements(
        # a round whose stored phase is voting, locked FOR SHARE; any other gives no row and
        # takes no lock (see cast)
        lock_round=select(Round.phase, Round.result_opens)
        .where(Round.id == bindparam("round_id"), Round.phase == Phase.VOTING)
        .with_for_update(read=True),
        stored_phase=select(Round.phase).where(Round.id == bindparam("round_id")),
        participation=insert(Participation.__table__),
        # the code's own row: a cast and a revocation of that code meet here, one changes it
        use_code=update(VotingCode.__table__)
        .where(code.id == bindparam("code"), code.used.is_(False), code.revoked_at.is_(None))
        .values(used=True),
        fingerprint=insert(VoterFingerprint.__table__),
        sealed=insert(SealedBallot.__table__),
        receipt=insert(Receipt.__table__),
    )


def _lock_for_cast(rnd: Round) -> Round:
    """The round, locked for a cast and with the phase its dates give it.

    The common case, a round stored in voting: one statement, a shared lock (``FOR SHARE``) that
    every cast can hold at once; closing the vote takes the round ``FOR UPDATE`` and so waits
    until the ballots being cast are in, and a cast after the close finds no row here.

    Otherwise the stored phase may lag the dates (the vote opened by date and the ``tick``
    command has not written it yet): then, and only then, the round is taken ``FOR UPDATE`` by
    ``rounds.lock_round``, which writes that move in this transaction. A round closed or not yet
    due keeps its stored phase, and the ballot is refused for it."""
    statements = _cast_statements()
    locked = db.session.execute(statements.lock_round, {"round_id": rnd.id}).one_or_none()
    if locked is not None:
        # (only what can change once the voting has begun is read again: the rest of the round
        # is locked from then on)
        set_committed_value(rnd, "phase", locked.phase)
        set_committed_value(rnd, "result_opens", locked.result_opens)  # when voting ends
        return rnd
    stored = db.session.scalar(statements.stored_phase, {"round_id": rnd.id})
    if stored is None or rnd.due_phase(utcnow(), stored) is not None:
        return rounds.lock_round(rnd)  # (a round deleted meanwhile: a 409 from there)
    set_committed_value(rnd, "phase", stored)
    return rnd


@use_case(quiet=True)
def cast(
    rnd: Round,
    selection: dict[int, int],
    *,
    user: User | None = None,
    code: VotingCode | None = None,
    channel: Channel,
    paper_batch: PaperBatch | None = None,
    receipt: str | None = None,
) -> str | None:
    """Check and store one ballot and the fact that this person voted, as one use case.

    Returns the receipt code (online only): ``receipt`` when the page chose it beforehand (so
    a second click can show it), else a new one. The unique constraints on participation make
    a second ballot by the same account or code fail (409), whichever channel and however
    concurrent. It commits quietly (a ballot changes no cached public page; the turnout may lag
    a little); a paper ballot is part of entering its sheet (:func:`enter_sheet`), which
    commits.

    The ballot is stored sealed with the round's public key, and online a receipt whose box
    only the receipt opens (see sealing.py and :func:`unseal_ballots`): nothing written here
    tells a reader of the database what this person chose.

    Locks, in this order: the round ``FOR SHARE`` while it is stored in voting, else ``FOR
    UPDATE`` through ``rounds.lock_round`` when its dates have moved it on (see
    :func:`_lock_for_cast`); the participation's unique keys (round, account) and (round, code);
    for an account, the mailbox's fingerprint (primary key (round, fingerprint): a second
    account for the same mailbox, 409); the code with a conditional ``UPDATE … WHERE used IS
    false AND revoked_at IS NULL`` (a revocation or another cast of the same code at the same
    moment: one of the two changes the row); in a round with an address register, the
    address's place with ``UPDATE … WHERE used < capacity`` (register.claim: the last place
    goes to one cast, the others get 409)."""
    rnd = _lock_for_cast(rnd)
    statements = _cast_statements()
    proposals, room = ballot_costs(rnd, selection)  # room: the padding (sealing.encode)
    found = problems(rnd, selection, proposals)
    if found:
        raise VotingError(" ".join(found))
    if code is None and user is None:
        raise VotingError(_("Log in of vul je stemcode in om te stemmen."))
    if rnd.eligibility == Eligibility.CODES and code is None:
        raise VotingError(_("In deze ronde stem je met de code uit je brief."))
    if rnd.eligibility == Eligibility.ACCOUNTS and code is None:
        refusal = account_refusal(rnd, user)
        if refusal:
            raise VotingError(refusal)
    if code is not None and (code.round_id != rnd.id or code.revoked_at or code.batch.revoked_at):
        raise VotingError(_("Deze stemcode is niet (meer) geldig."))
    # the buurt the turnout counts this ballot under: the code's, or the account's own buurt
    # if it lies in this wijk (someone who only works here has none of its buurten)
    if code is not None:
        area_id = code.batch.area_id
    elif user is not None and user.neighbourhood_id == rnd.neighbourhood_id:
        area_id = user.area_id
    else:
        area_id = None
    # in a round with an address register: the address whose place this vote takes (register.py)
    address_id = register.address_for_cast(rnd, user=user, code=code)
    # written with plain statements on the session's connection (same transaction) rather than
    # through the ORM: the cast is the busiest write of a vote, and these rows never change
    connection = db.session.connection()
    note_write(db.session)  # for the page cache (a ballot cast online then commits quietly)
    receipt = (receipt or new_receipt()) if paper_batch is None else None
    try:
        inserted = connection.execute(
            statements.participation,
            {
                "round_id": rnd.id,
                "user_id": user.id if user is not None else None,
                "code_id": code.id if code is not None else None,
                "channel": channel,
                "area_id": area_id,
                "paper_batch_id": paper_batch.id if paper_batch is not None else None,
                "address_id": address_id,
            },
        )
    except IntegrityError as error:
        # the use case rolls the whole transaction back: nothing of this ballot stays
        raise AlreadyVoted(
            _("Je hebt al gestemd in deze ronde. Er telt één stem per persoon.")
        ) from error
    if code is None and user is not None and user.email:
        # a vote by an account: its mailbox's fingerprint, which outlives the account
        # (fingerprint.py); a second account for the same mailbox is refused here
        try:
            connection.execute(
                statements.fingerprint,
                {
                    "round_id": rnd.id,
                    "fingerprint": fingerprint(user.email),
                    "participation_id": inserted.inserted_primary_key[0],
                },
            )
        except IntegrityError as error:
            raise AlreadyVoted(
                _(
                    "Met dit e-mailadres is in deze ronde al gestemd, ook als dat met een "
                    "eerder account of een andere schrijfwijze van hetzelfde adres was. Er telt "
                    "één stem per persoon."
                )
            ) from error
    if code is not None:
        marked = connection.execute(statements.use_code, {"code": code.id})
        if marked.rowcount != 1:  # revoked a moment ago (a used one failed just above)
            raise Conflict(_("Deze stemcode is niet (meer) geldig."))
    if address_id is not None:
        register.claim(connection, address_id)  # one place of the address, or 409
    # the ballot sealed with the round's public key (only the close opens it), and the voter's
    # own copy that only the receipt opens: nothing readable links either to this participation
    # (checked against the round's private key: a public key put in by whoever can write the
    # database would seal the ballots for them)
    try:
        public_key = sealing.round_public_key(rnd.ballot_public_key, rnd.ballot_private_key)
    except sealing.SealError as error:
        log.error("round %s: no ballot sealed: %s", rnd.id, error)
        raise Conflict(
            _("Deze ronde kan nu geen stemmen aannemen. Probeer het later opnieuw.")
        ) from error
    connection.execute(
        statements.sealed,
        {
            "id": new_ballot_id(),
            "round_id": rnd.id,
            "counted": paper_batch is None,
            "paper_batch_id": paper_batch.id if paper_batch is not None else None,
            "box": sealing.seal(public_key, selection, room),
        },
    )
    if receipt:
        typed = normalise_code(receipt)
        connection.execute(
            statements.receipt,
            {
                "receipt_hash": receipt_hash(typed),
                "round_id": rnd.id,
                "box": sealing.seal_for_receipt(typed, selection, room),
            },
        )
    return receipt


# --- the close: the sealed ballots opened, in a random order -------------------------------------


def unseal_ballots(rnd: Round) -> int:
    """Part of closing the vote (``results.close_voting``, under its lock on the round): open
    every counted sealed ballot of the round with the round's private key, write them into
    ``ballot``/``ballot_choice`` in a random order with new random ids, delete the sealed rows
    and wipe the private key. Returns the number of ballots written.

    All in the close's transaction: the counted ballots share its ``xmin``, lie in random
    physical order, and from the commit on the database holds no key that opens a sealed
    ballot (an older backup does, sealed with the secret key: README). A key that does not
    open (the secret key changed during the vote) stops the close with a clear message, and
    nothing is lost."""
    sealed = db.session.scalars(
        select(SealedBallot.box).where(
            SealedBallot.round_id == rnd.id, SealedBallot.counted.is_(True)
        )
    ).all()
    if sealed and not rnd.ballot_private_key:
        raise VotingError(_("De sleutel van deze ronde ontbreekt: de stemmen kunnen niet open."))
    selections: list[dict[int, int]] = []
    if sealed:
        try:
            open_one = sealing.opener(rnd.ballot_private_key or b"")
            selections = [open_one(box) for box in sealed]
        except sealing.SealError as error:
            raise VotingError(
                _(
                    "De stemmen van deze ronde gaan niet open met de geheime sleutel van de "
                    "site. Is WIJKBUDGET_SECRET_KEY veranderd sinds het stemmen begon? Zet de "
                    "oude terug en sluit dan de stemming."
                )
            ) from error
    secrets.SystemRandom().shuffle(selections)
    ballots = []
    choices = []
    for selection in selections:
        ballot_id = new_ballot_id()
        ballots.append({"id": ballot_id, "round_id": rnd.id})
        choices.extend(
            {"ballot_id": ballot_id, "proposal_id": pid, "points": points}
            for pid, points in sorted(selection.items())
        )
    connection = db.session.connection()
    for start in range(0, len(ballots), 5000):
        connection.execute(insert(Ballot.__table__), ballots[start : start + 5000])
    for start in range(0, len(choices), 10000):
        connection.execute(insert(BallotChoice.__table__), choices[start : start + 10000])
    db.session.execute(
        delete(SealedBallot)
        .where(SealedBallot.round_id == rnd.id)
        .execution_options(synchronize_session=False)
    )
    rnd.ballot_private_key = None
    return len(ballots)


# --- printed codes ------------------------------------------------------------------------------


def _board(board: User, rnd: Round) -> None:
    if not permissions.is_board(board, rnd.neighbourhood):
        raise VotingError(_("Alleen het bestuur van de wijk kan dit doen."))


@use_case(
    conflict=_l(
        "Deze codes zijn net al gemaakt (twee keer op de knop gedrukt?). Kijk in de lijst "
        "hieronder."
    )
)
def generate_codes(
    board: User,
    rnd: Round,
    count: int,
    *,
    area: Area | None = None,
    label: str = "",
    form_token: str | None = None,
    addresses: Sequence[int] | None = None,
) -> CodeBatch:
    """A batch of ``count`` new codes for the round, stored as HMACs; they can be shown (for the
    letters) until the board says the letters are printed. ``form_token`` is the token of the
    form that asked: the same form sent twice (a double click) gets the batch the first made.

    Locks: the round ``FOR SHARE`` (its stored phase decides: no codes once the vote is closed,
    a phase no date moves a round to; closing the vote waits for this, casts are not held up);
    a second batch from the same form: refused by the unique ``form_token`` (409), or found."""
    _board(board, rnd)
    if addresses is not None and len(addresses) != count:
        raise ValueError("one address per code")
    if not 1 <= count <= (MAX_BATCH if addresses is None else MAX_PLACES):
        raise VotingError(_("Maak tussen 1 en %(max)d codes tegelijk.", max=MAX_BATCH))
    if area is not None and area.neighbourhood_id != rnd.neighbourhood_id:
        raise VotingError(_("Kies een buurt van deze wijk."))
    if form_token:
        made = db.session.scalar(select(CodeBatch).where(CodeBatch.form_token == form_token))
        if made is not None and made.round_id == rnd.id:
            return made  # the same form again: what it made the first time
    seed = secrets.token_hex(32)
    hashes = [code_hash(derive_code(seed, i)) for i in range(count)]  # before the lock
    rnd = lock_or_gone(Round, rnd, read=True)
    if rnd.has_reached(Phase.RESULT):
        raise VotingError(_("Het stemmen is voorbij: er kunnen geen codes meer bij."))
    if addresses is None and register.has_register(rnd):
        raise VotingError(
            _(
                "Deze ronde heeft een adressenlijst: elke code hoort bij een adres. Maak de codes "
                "uit de adressenlijst, of geef ter plekke een code uit voor een adres."
            )
        )
    batch = CodeBatch(
        round_id=rnd.id,
        area_id=area.id if area else None,
        size=count,
        label=label.strip() or _("Stemcodes"),
        seed=seed,
        created_by_id=board.id,
        form_token=form_token or None,
    )
    db.session.add(batch)
    db.session.flush()
    db.session.execute(
        VotingCode.__table__.insert(),
        [
            {
                "batch_id": batch.id,
                "round_id": rnd.id,
                "code_hash": h,
                "used": False,
                "address_id": addresses[i] if addresses is not None else None,
            }
            for i, h in enumerate(hashes)
        ],
    )
    record(
        "codes.generate",
        actor=board,
        role="board",
        obj=batch,
        neighbourhood=rnd.neighbourhood,
        after={"aantal": count, "buurt": area.name if area else None},
    )
    return batch


def batch_codes(batch: CodeBatch) -> list[str]:
    """The codes of a batch, grouped for reading, while the letters have not been printed.
    Reads only (the board's pages show them through :func:`show_codes`)."""
    if batch.seed is None:
        raise VotingError(_("Deze codes zijn al geprint en kunnen niet opnieuw getoond worden."))
    return [group(derive_code(batch.seed, i)) for i in range(batch.size)]


@use_case
def show_codes(board: User, rnd: Round, batch: CodeBatch) -> list[str]:
    """The codes of a batch for the letters or the list, and a line in the audit log that they
    were shown (and to whom).

    Locks: the batch ``FOR SHARE``: marking it printed or revoking it (``FOR UPDATE``) waits
    for this or comes first, and then nothing is shown (410)."""
    _board(board, rnd)
    batch = lock_or_gone(CodeBatch, batch, read=True)
    codes = batch_codes(batch)
    record("codes.shown", actor=board, role="board", obj=batch, neighbourhood=rnd.neighbourhood)
    return codes


@use_case
def mark_printed(board: User, batch: CodeBatch, rnd: Round) -> bool:
    """The letters are printed: the seed is wiped and the codes can never be shown again.
    Returns False when it was done already (a second click: nothing more happens).

    Locks: the batch (``FOR UPDATE``), so showing the codes (``FOR SHARE``) and this do not
    overlap."""
    _board(board, rnd)
    batch = lock_or_gone(CodeBatch, batch)
    if batch.seed is None:
        return False
    batch.seed = None
    record("codes.printed", actor=board, role="board", obj=batch, neighbourhood=rnd.neighbourhood)
    return True


@use_case
def revoke_batch(board: User, batch: CodeBatch, rnd: Round) -> bool:
    """Every unused code of the batch stops working. Returns False when the batch was revoked
    already (a second click: nothing more happens). A code that has voted keeps its vote.

    Locks: the batch (``FOR UPDATE``); its codes with a conditional ``UPDATE … WHERE used IS
    false AND revoked_at IS NULL``, which meets a cast with one of them on that code's row:
    either the cast came first (the code stays used, its ballot counts) or the revocation did
    (the cast changes no row and is refused)."""
    _board(board, rnd)
    batch = lock_or_gone(CodeBatch, batch)
    if batch.revoked_at is not None:
        return False
    now = utcnow()
    batch.revoked_at = now
    batch.seed = None
    db.session.execute(
        update(VotingCode)
        .where(
            VotingCode.batch_id == batch.id,
            VotingCode.used.is_(False),
            VotingCode.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    record(
        "codes.revoke_batch", actor=board, role="board", obj=batch, neighbourhood=rnd.neighbourhood
    )
    return True


@use_case
def revoke_code(board: User, rnd: Round, text: str) -> bool:
    """One code stops working. Returns False when it was revoked already (a second click).
    A code that has voted cannot be revoked: its vote counts, and nothing links it to the code
    (409).

    Locks: the code's row, by a conditional ``UPDATE … WHERE used IS false AND revoked_at IS
    NULL``: a cast with this code at the same moment updates the same row, and only one of the
    two changes it (either the ballot counts and the code is used, or the code is revoked and
    there is no ballot)."""
    _board(board, rnd)
    code = db.session.scalar(
        select(VotingCode).where(VotingCode.code_hash == code_hash(normalise_code(text)))
    )
    if code is None or code.round_id != rnd.id:
        raise VotingError(_("Deze code hoort niet bij deze ronde."))
    revoked = guarded(
        update(VotingCode)
        .where(
            VotingCode.id == code.id,
            VotingCode.used.is_(False),
            VotingCode.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    if not revoked:
        revoked_at = db.session.scalar(
            select(VotingCode.revoked_at).where(VotingCode.id == code.id)
        )
        if revoked_at is not None:
            return False
        raise Conflict(
            _("Met deze code is al gestemd. Die stem telt; de code intrekken kan niet meer.")
        )
    record("codes.revoke", actor=board, role="board", obj=code, neighbourhood=rnd.neighbourhood)
    return True


@use_case
def issue_walk_in_code(board: User, rnd: Round, *, address_id: int | None = None) -> str:
    """One code on the spot, for someone at the table without a letter or account; it is shown
    once. Every press makes a new code: one that nobody saw (a double click shows the second)
    can never be shown again and so never used. In a round with an address register the code
    is for the visitor's address (``address_id``, see register.walk_in_address).

    Locks: as :func:`generate_codes` (the round ``FOR SHARE``)."""
    batch = generate_codes(
        board,
        rnd,
        1,
        label=_("Ter plekke uitgegeven"),
        addresses=[address_id] if address_id is not None else None,
    )
    code = batch_codes(batch)[0]
    batch.seed = None
    record("codes.walk_in", actor=board, role="board", obj=batch, neighbourhood=rnd.neighbourhood)
    return code


# --- paper ballots --------------------------------------------------------------------------------


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
    _board(board, rnd)
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
    _board(board, rnd)
    batch = _lock_open_batch(batch)
    identifier = identifier.strip()
    user = code = None
    if "@" in identifier:
        if rnd.eligibility != Eligibility.ACCOUNTS:
            raise VotingError(_("In deze ronde staat op elk stembiljet een stemcode."))
        user = db.session.scalar(select(User).where(User.email == identifier.lower()))
        refusal = (
            account_refusal(rnd, user)
            if user is not None
            else _("Geen account met dit e-mailadres.")
        )
        if refusal:
            raise VotingError(refusal)
    else:
        code = db.session.scalar(
            select(VotingCode).where(VotingCode.code_hash == code_hash(normalise_code(identifier)))
        )
        if code is None or code.round_id != rnd.id or code.revoked_at or code.batch.revoked_at:
            raise VotingError(_("Deze stemcode is niet geldig."))
    cast(rnd, selection, user=user, code=code, channel=Channel.PAPER, paper_batch=batch)


@use_case
def record_paper_conflict(board: User, rnd: Round, batch: PaperBatch) -> None:
    """A sheet was refused because that person had already voted: the board sees the number
    of such sheets with the batch (the audit log keeps them).

    Locks: nothing: an audit line is a new row."""
    _board(board, rnd)
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
    _board(board, rnd)
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
    _board(board, rnd)
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
