"""Voting use cases: check a ballot against the round's rules, cast it (one per person, by the
database), receipts, printed codes, paper batches with a second board member's confirmation,
and turnout. Board actions are audit-logged; no log line links a ballot to a voter."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from .. import permissions
from ..accounts.models import User
from ..audit.operations import record
from ..extensions import db, utcnow
from ..money import format_cents
from ..neighbourhoods.models import Area
from ..pagecache import note_write
from ..proposals.models import Proposal
from ..rounds.models import BallotType, Eligibility, Phase, Round
from .codes import (
    code_hash,
    derive_code,
    group,
    new_receipt,
    normalise_code,
    receipt_hash,
)
from .models import (
    AlreadyVoted,
    Ballot,
    BallotChoice,
    Channel,
    CodeBatch,
    PaperBatch,
    Participation,
    VotingCode,
    VotingError,
    new_ballot_id,
)
from .queries import BallotItem, ballot_costs, sheets_entered

MAX_BATCH = 20_000


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
    if not permissions.takes_part(user, rnd):
        if rnd.workers_eligible:
            return _(
                "Alleen bewoners van wijk %(wijk)s, en in deze ronde ook mensen die er werken, "
                "kunnen met een bevestigd account stemmen.",
                wijk=rnd.neighbourhood.name,
            )
        return _(
            "Alleen bevestigde bewoners van wijk %(wijk)s kunnen stemmen.",
            wijk=rnd.neighbourhood.name,
        )
    if not rnd.is_old_enough(user):
        return _("Voor deze ronde moet je minstens %(age)d jaar zijn.", age=rnd.min_age)
    return None


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


def find_code(rnd: Round | None, text: str) -> VotingCode | None:
    """A usable code (not used, not revoked), with its batch, round and wijk (one query). Wrong,
    used and revoked codes all give None, so the answer to the person is the same for each."""
    code = db.session.scalar(_code_by_hash_query(), {"code_hash": code_hash(normalise_code(text))})
    if code is None or code.used or code.revoked_at or code.batch.revoked_at:
        return None
    if rnd is not None and code.round_id != rnd.id:
        return None
    return code


# --- casting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CastStatements:
    lock_round: Any
    participation: Any
    use_code: Any
    ballot: Any
    choice: Any


@cache
def _cast_statements() -> _CastStatements:
    """The statements of a cast, built once (building one costs about as much as running it)."""
    code = VotingCode.__table__.c
    return _CastStatements(
        lock_round=select(Round.phase, Round.result_opens)
        .where(Round.id == bindparam("round_id"))
        .with_for_update(read=True),
        participation=insert(Participation.__table__),
        use_code=update(VotingCode.__table__)
        .where(code.id == bindparam("code"), code.used.is_(False))
        .values(used=True),
        ballot=insert(Ballot.__table__),
        choice=insert(BallotChoice.__table__),
    )


def cast(
    rnd: Round,
    selection: dict[int, int],
    *,
    user: User | None = None,
    code: VotingCode | None = None,
    channel: Channel,
    paper_batch: PaperBatch | None = None,
) -> str | None:
    """Check and store one ballot and the fact that this person voted, in one transaction.

    Returns the receipt code (online only). The unique constraints on participation make a second
    ballot by the same account or code fail, whichever channel and however concurrent."""
    # a shared lock on the round (PostgreSQL): closing the vote waits until this ballot is in,
    # and a ballot that comes after the close sees the round out of voting
    # (what says whether the round is open is read again under the lock: a close that committed
    # meanwhile shows; the rest of the round does not change once the voting has begun)
    statements = _cast_statements()
    locked = db.session.execute(statements.lock_round, {"round_id": rnd.id}).one()
    set_committed_value(rnd, "phase", locked.phase)
    set_committed_value(rnd, "result_opens", locked.result_opens)  # when voting ends
    proposals = ballot_costs(rnd, selection)
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
    # written with plain statements on the session's connection (same transaction) rather than
    # through the ORM: the cast is the busiest write of a vote, and these rows never change
    connection = db.session.connection()
    note_write(db.session)  # for the page cache (a ballot cast online then commits quietly)
    receipt = new_receipt() if paper_batch is None else None
    already = _("Je hebt al gestemd in deze ronde. Er telt één stem per persoon.")
    try:
        connection.execute(
            statements.participation,
            {
                "round_id": rnd.id,
                "user_id": user.id if user is not None else None,
                "code_id": code.id if code is not None else None,
                "channel": channel,
                "area_id": area_id,
                "paper_batch_id": paper_batch.id if paper_batch is not None else None,
            },
        )
    except IntegrityError as error:
        # the whole transaction is undone: nothing of this ballot stays
        db.session.rollback()
        raise AlreadyVoted(already) from error
    # the guard against a code used twice, also when two requests race
    if code is not None:
        marked = connection.execute(statements.use_code, {"code": code.id})
        if marked.rowcount != 1:
            db.session.rollback()
            raise AlreadyVoted(already)
    ballot_id = new_ballot_id()
    connection.execute(
        statements.ballot,
        {
            "id": ballot_id,
            "round_id": rnd.id,
            "receipt_hash": receipt_hash(receipt) if receipt else None,
            "counted": paper_batch is None,
            "paper_batch_id": paper_batch.id if paper_batch is not None else None,
        },
    )
    if selection:
        connection.execute(
            statements.choice,
            [
                {"ballot_id": ballot_id, "proposal_id": pid, "points": points}
                for pid, points in sorted(selection.items())
            ],
        )
    return receipt


# --- printed codes ------------------------------------------------------------------------------


def _board(board: User, rnd: Round) -> None:
    if not permissions.is_board(board, rnd.neighbourhood):
        raise VotingError(_("Alleen het bestuur van de wijk kan dit doen."))


def generate_codes(
    board: User, rnd: Round, count: int, *, area: Area | None = None, label: str = ""
) -> CodeBatch:
    _board(board, rnd)
    if rnd.has_reached(Phase.RESULT):
        raise VotingError(_("Het stemmen is voorbij: er kunnen geen codes meer bij."))
    if not 1 <= count <= MAX_BATCH:
        raise VotingError(_("Maak tussen 1 en %(max)d codes tegelijk.", max=MAX_BATCH))
    if area is not None and area.neighbourhood_id != rnd.neighbourhood_id:
        raise VotingError(_("Kies een buurt van deze wijk."))
    batch = CodeBatch(
        round_id=rnd.id,
        area_id=area.id if area else None,
        size=count,
        label=label.strip() or _("Stemcodes"),
        seed=secrets.token_hex(32),
        created_by_id=board.id,
    )
    db.session.add(batch)
    db.session.flush()
    rows = [
        {
            "batch_id": batch.id,
            "round_id": rnd.id,
            "code_hash": code_hash(derive_code(batch.seed, i)),
            "used": False,
        }
        for i in range(count)
    ]
    db.session.execute(VotingCode.__table__.insert(), rows)
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
    """The codes of a batch, grouped for reading, while the letters have not been printed."""
    if batch.seed is None:
        raise VotingError(_("Deze codes zijn al geprint en kunnen niet opnieuw getoond worden."))
    return [group(derive_code(batch.seed, i)) for i in range(batch.size)]


def mark_printed(board: User, batch: CodeBatch, rnd: Round) -> None:
    _board(board, rnd)
    batch.seed = None
    record("codes.printed", actor=board, role="board", obj=batch, neighbourhood=rnd.neighbourhood)


def revoke_batch(board: User, batch: CodeBatch, rnd: Round) -> None:
    _board(board, rnd)
    batch.revoked_at = utcnow()
    batch.seed = None
    record(
        "codes.revoke_batch", actor=board, role="board", obj=batch, neighbourhood=rnd.neighbourhood
    )


def revoke_code(board: User, rnd: Round, text: str) -> None:
    _board(board, rnd)
    code = db.session.scalar(
        select(VotingCode)
        .where(VotingCode.code_hash == code_hash(normalise_code(text)))
        .options(joinedload(VotingCode.batch))
    )
    if code is None or code.round_id != rnd.id:
        raise VotingError(_("Deze code hoort niet bij deze ronde."))
    code.revoked_at = utcnow()
    record("codes.revoke", actor=board, role="board", obj=code, neighbourhood=rnd.neighbourhood)


def issue_walk_in_code(board: User, rnd: Round) -> str:
    """One code on the spot, for someone at the table without a letter or account."""
    batch = generate_codes(board, rnd, 1, label=_("Ter plekke uitgegeven"))
    code = batch_codes(batch)[0]
    batch.seed = None
    record("codes.walk_in", actor=board, role="board", obj=batch, neighbourhood=rnd.neighbourhood)
    return code


# --- paper ballots --------------------------------------------------------------------------------


def open_paper_batch(board: User, rnd: Round, label: str, declared: int) -> PaperBatch:
    _board(board, rnd)
    if rnd.phase != Phase.VOTING:
        raise VotingError(_("Papieren stemmen invoeren kan alleen tijdens het stemmen."))
    if declared < 1:
        raise VotingError(_("Vul in hoeveel stembiljetten er op de telstaat staan."))
    batch = PaperBatch(
        round_id=rnd.id,
        label=label.strip() or _("Papieren stemmen"),
        declared_count=declared,
        created_by_id=board.id,
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


def enter_sheet(
    board: User, rnd: Round, batch: PaperBatch, identifier: str, selection: dict[int, int]
) -> None:
    """One paper ballot: the voter's code (or, with accounts, their e-mail) and the choices."""
    _board(board, rnd)
    if not batch.is_open:
        raise VotingError(_("Deze stapel is al afgesloten."))
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
    try:
        cast(rnd, selection, user=user, code=code, channel=Channel.PAPER, paper_batch=batch)
    except AlreadyVoted:
        # the sheet was undone; the conflict itself is kept for the board (the caller commits)
        record(
            "paper.conflict",
            actor=board,
            role="board",
            obj=batch,
            neighbourhood=rnd.neighbourhood_id,
            after={"stembiljet": "al gestemd"},
        )
        raise


def confirm_paper_batch(board: User, rnd: Round, batch: PaperBatch) -> None:
    """The second pair of eyes: only another board member, and only when the count matches."""
    _board(board, rnd)
    if not batch.is_open:
        raise VotingError(_("Deze stapel is al afgesloten."))
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
        update(Ballot)
        .where(Ballot.paper_batch_id == batch.id)
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


def discard_paper_batch(board: User, rnd: Round, batch: PaperBatch) -> None:
    _board(board, rnd)
    if not batch.is_open:
        raise VotingError(_("Deze stapel is al afgesloten."))
    codes = select(Participation.code_id).where(Participation.paper_batch_id == batch.id)
    db.session.execute(
        update(VotingCode)
        .where(VotingCode.id.in_(codes))
        .values(used=False)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(delete(Ballot).where(Ballot.paper_batch_id == batch.id))
    db.session.execute(delete(Participation).where(Participation.paper_batch_id == batch.id))
    batch.discarded_at = utcnow()
    record("paper.discard", actor=board, role="board", obj=batch, neighbourhood=rnd.neighbourhood)
