"""Use cases of the verantwoording: grants from a result, expenses with four eyes, reallocations,
closing a project, progress updates, and the hash-chained ledger every money event goes into.

Each use case is one transaction (:func:`~wijkbudget.usecase.use_case`). The locks are always
taken in one order, so two use cases never wait for each other in a circle:

    project (``funded_project``) → expense → wijk (``neighbourhood``, taken by :func:`append`)

A guard that reads a project's money (its grant, what is spent and pending) reads it under the
project's lock, one that reads the wijk's free money under the wijk's lock: the use cases that
change those sums take the same lock first, so a guard never judges by a sum that is changing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from .. import images, permissions
from ..accounts.models import User
from ..audit.operations import record
from ..extensions import db, utcnow
from ..money import format_cents
from ..neighbourhoods.models import Neighbourhood
from ..proposals.models import Proposal
from ..rounds.models import Round
from ..usecase import Conflict, lock_or_gone, use_case
from . import queries, receipts
from .models import (
    GENESIS,
    EntryKind,
    Expense,
    ExpenseState,
    FundedProject,
    LedgerEntry,
    NotAllowed,
    PayeeType,
    ProgressPhoto,
    ProgressUpdate,
    ProjectStatus,
    SpendingError,
)

REASON_MAX = 1000
VERIFY_BATCH = 1000


def _plain(text: str) -> str:
    """One line of plain text (Jinja escapes it on the way out)."""
    return " ".join(text.split())


# --- the ledger -----------------------------------------------------------------------------


def append(
    wijk_id: int,
    kind: EntryKind,
    amount_cents: int,
    *,
    actor: User | None,
    round_id: int | None = None,
    project: FundedProject | None = None,
    expense: Expense | None = None,
    corrects: LedgerEntry | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> LedgerEntry:
    """Add one entry at the head of the wijk's chain, inside the caller's use case (it does not
    commit). The wijk's row is locked first (on PostgreSQL), so appends of one wijk queue up and
    every entry hangs on the one before; the unique (wijk, prev_hash) and (wijk, seq)
    constraints hold the line on any database.

    Locks: the wijk (``neighbourhood``), always the last lock a use case of this area takes."""
    db.session.execute(
        select(Neighbourhood.id).where(Neighbourhood.id == wijk_id).with_for_update(key_share=True)
    )
    head = db.session.execute(
        select(LedgerEntry.seq, LedgerEntry.hash)
        .where(LedgerEntry.neighbourhood_id == wijk_id)
        .order_by(LedgerEntry.seq.desc())
        .limit(1)
    ).first()
    for obj in (project, expense):
        if obj is not None and obj.id is None:
            db.session.flush()
    entry = LedgerEntry(
        neighbourhood_id=wijk_id,
        seq=(head.seq + 1) if head else 1,
        prev_hash=head.hash if head else GENESIS,
        kind=kind,
        amount_cents=amount_cents,
        round_id=round_id if round_id is not None else (project.round_id if project else None),
        project_id=project.id if project else None,
        expense_id=expense.id if expense else None,
        corrects_id=corrects.id if corrects else None,
        actor_id=actor.id if actor else None,
        reason=reason,
        created_at=now or utcnow(),
    )
    entry.hash = entry.compute_hash()
    db.session.add(entry)
    db.session.flush()
    return entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    count: int
    head: str
    broken_id: int | None = None  # the first entry where the chain breaks
    wijk_id: int | None = None
    #: the chain is intact, but the ledger and the expenses disagree: what (in the person's
    #: language) and about which expense or entry
    problem: str = ""
    expense_id: int | None = None
    entry_id: int | None = None


def verify(wijk_id: int) -> Verification:
    """Recompute one wijk's chain from the first entry: every ``seq`` follows the one before,
    every ``prev_hash`` is the hash before it, every ``hash`` is what the entry says. Then check
    that the ledger says what the expenses say (:func:`_bookings_problem`): an intact chain
    with an expense booked twice is not a ledger that is right.

    Locks: nothing (it only reads; the desk pages and ``flask ledger verify`` call it)."""
    chain = verify_chain(wijk_id)
    if not chain.ok:
        return chain
    return _bookings_problem(wijk_id, chain) or chain


def verify_chain(wijk_id: int) -> Verification:
    """Only the hashes: every ``seq`` follows the one before, every ``prev_hash`` is the hash
    before it, every ``hash`` is what the entry says (the public ledger page, checkpoints)."""
    prev, count = GENESIS, 0
    while True:  # in batches by seq, so a long ledger never sits in memory at once
        batch = list(
            db.session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.neighbourhood_id == wijk_id, LedgerEntry.seq > count)
                .order_by(LedgerEntry.seq)
                .limit(VERIFY_BATCH)
            )
        )
        for entry in batch:
            if (
                entry.seq != count + 1
                or entry.prev_hash != prev
                or entry.compute_hash() != entry.hash
            ):
                return Verification(False, count, prev, entry.id, wijk_id)
            prev, count = entry.hash, count + 1
        if len(batch) < VERIFY_BATCH:
            break
    return Verification(True, count, prev, None, wijk_id)


#: how many entries of kind (expense, correction) an expense in each state has in the ledger
EXPECTED_BOOKINGS = {
    ExpenseState.PENDING: (0, 0),
    ExpenseState.REJECTED: (0, 0),
    ExpenseState.APPROVED: (1, 0),
    ExpenseState.REVERSED: (1, 1),
}


def _bookings_problem(wijk_id: int, chain: Verification) -> Verification | None:
    """What an auditor checks besides the hashes, in two queries: every expense of the wijk
    has the entries its state calls for (approved: one expense entry; reversed: that one and
    one correction; pending or rejected: none), each for its amount and its project; every
    expense entry belongs to an expense; every correction reverses an entry of the wijk for
    the opposite amount. The first disagreement, or None."""
    is_expense = LedgerEntry.kind == EntryKind.EXPENSE
    is_correction = LedgerEntry.kind == EntryKind.CORRECTION

    def total(when: Any, value: Any = 1) -> Any:
        return func.coalesce(func.sum(case((when, value), else_=0)), 0)

    expected_entries = case(
        (Expense.state.in_((ExpenseState.APPROVED, ExpenseState.REVERSED)), 1), else_=0
    )
    expected_corrections = case((Expense.state == ExpenseState.REVERSED, 1), else_=0)
    entries, entry_sum = total(is_expense), total(is_expense, LedgerEntry.amount_cents)
    corrections = total(is_correction)
    correction_sum = total(is_correction, LedgerEntry.amount_cents)
    elsewhere = total(  # an entry of this expense on another project or wijk, or of a kind
        and_(  # that no expense has
            LedgerEntry.id.is_not(None),
            or_(
                LedgerEntry.project_id.is_(None),
                LedgerEntry.project_id != Expense.project_id,
                LedgerEntry.neighbourhood_id != Expense.neighbourhood_id,
                ~LedgerEntry.kind.in_((EntryKind.EXPENSE, EntryKind.CORRECTION)),
            ),
        )
    )
    row = db.session.execute(
        select(Expense.id, Expense.state, Expense.amount_cents, entries, corrections)
        .outerjoin(LedgerEntry, LedgerEntry.expense_id == Expense.id)
        .where(Expense.neighbourhood_id == wijk_id)
        .group_by(Expense.id, Expense.state, Expense.amount_cents)
        .having(
            or_(
                entries != expected_entries,
                corrections != expected_corrections,
                entry_sum != expected_entries * Expense.amount_cents,
                correction_sum != -expected_corrections * Expense.amount_cents,
                elsewhere > 0,
            )
        )
        .order_by(Expense.id)
        .limit(1)
    ).first()
    if row is not None:
        expense_id, state, amount, found, found_corrections = row
        want, want_corrections = EXPECTED_BOOKINGS[ExpenseState(state)]
        if (found, found_corrections) != (want, want_corrections):
            problem = _(
                "Uitgave %(id)d (%(state)s, %(amount)s) staat %(found)d keer als uitgave en "
                "%(corrections)d keer als correctie in het grootboek. Dat hoort %(want)d en "
                "%(want_corrections)d keer te zijn.",
                id=expense_id,
                state=queries.expense_state_label(state),
                amount=format_cents(amount),
                found=found,
                corrections=found_corrections,
                want=want,
                want_corrections=want_corrections,
            )
        else:
            problem = _(
                "De boekingen van uitgave %(id)d kloppen niet met de uitgave: een ander bedrag, "
                "project of wijk.",
                id=expense_id,
            )
        return _mismatch(chain, problem, expense_id=expense_id)

    corrected = aliased(LedgerEntry)
    entry = db.session.execute(
        select(LedgerEntry.id, LedgerEntry.seq, LedgerEntry.kind)
        .outerjoin(corrected, corrected.id == LedgerEntry.corrects_id)
        .where(
            LedgerEntry.neighbourhood_id == wijk_id,
            or_(
                and_(is_expense, LedgerEntry.expense_id.is_(None)),
                and_(
                    is_correction,
                    or_(
                        corrected.id.is_(None),
                        corrected.neighbourhood_id != LedgerEntry.neighbourhood_id,
                        corrected.amount_cents != -LedgerEntry.amount_cents,
                    ),
                ),
                and_(~is_correction, LedgerEntry.corrects_id.is_not(None)),
            ),
        )
        .order_by(LedgerEntry.seq)
        .limit(1)
    ).first()
    if entry is None:
        return None
    entry_id, seq, kind = entry
    if kind == EntryKind.EXPENSE:
        problem = _("Boeking %(seq)d is een uitgave, maar er hoort geen uitgave bij.", seq=seq)
    else:
        problem = _("Boeking %(seq)d past niet bij de boeking die hij zou terugdraaien.", seq=seq)
    return _mismatch(chain, problem, entry_id=entry_id)


def _mismatch(chain: Verification, problem: str, **about: int) -> Verification:
    return Verification(
        False, chain.count, chain.head, None, chain.wijk_id, problem=problem, **about
    )


def verify_all(wijk_ids: list[int]) -> Verification:
    """Every wijk's chain; the first broken one, or ok with the total count. The head printed
    for several wijken is the SHA-256 of their heads in wijk order."""
    heads, total = [], 0
    for wijk_id in wijk_ids:
        result = verify(wijk_id)
        if not result.ok:
            return result
        total += result.count
        heads.append(result.head)
    if len(heads) == 1:
        return Verification(True, total, heads[0], None, wijk_ids[0])
    combined = hashlib.sha256("".join(heads).encode()).hexdigest() if heads else GENESIS
    return Verification(True, total, combined)


# --- grants -----------------------------------------------------------------------------------


@use_case
def grant_chosen(board: User, rnd: Round, proposals: list[Proposal], now: datetime) -> None:
    """The result is final: every chosen proposal becomes a funded project with its admitted
    cost as grant, each grant a ledger entry (in the order the rule chose them).

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


# --- expenses ---------------------------------------------------------------------------------


@dataclass
class ExpenseData:
    spent_on: date
    amount_cents: int
    payee: str
    payee_type: PayeeType
    description: str
    cost_line_id: int | None = None
    vat_cents: int | None = None


def _check_room(project: FundedProject, amount: int, *, with_pending: bool) -> None:
    """The grant is the ceiling. Call it only with the project locked: the sums it reads are
    written by use cases that lock the project first."""
    money = queries.project_money(project)
    used = money.spent + (money.pending if with_pending else 0)
    if used + amount > money.granted:
        raise SpendingError(
            _(
                "Deze uitgave past niet in het geld van het project: er is nog %(left)s over "
                "(toegekend %(granted)s, uitgegeven of aangevraagd %(used)s). Vraag het bestuur "
                "eerst om extra geld.",
                left=format_cents(money.granted - used),
                granted=format_cents(money.granted),
                used=format_cents(used),
            )
        )


def _positive(amount_cents: int) -> None:
    if amount_cents <= 0:
        raise SpendingError(_("Het bedrag moet groter zijn dan nul."))


@use_case
def record_expense(user: User, project: FundedProject, data: ExpenseData, upload: Any) -> Expense:
    """An initiator or the treasurer records what was paid, with the receipt. Pending and spent
    money together stay within the grant.

    Locks: the project (its status and its money, granted, spent and pending, are read under
    it), so expenses recorded at the same time cannot together pass the grant. The receipt is
    checked before the lock and written to disk last; if the use case fails after that, the file
    is deleted again."""
    _positive(data.amount_cents)
    if data.spent_on > utcnow().date():
        raise SpendingError(_("De datum van de uitgave ligt in de toekomst."))
    if data.vat_cents is not None and data.vat_cents > data.amount_cents:
        raise SpendingError(_("De btw kan niet hoger zijn dan het bedrag."))
    checked = None
    if upload is not None and getattr(upload, "filename", ""):
        checked = receipts.check_upload(upload)
    project = lock_or_gone(FundedProject, project)
    if not project.is_initiator(user):
        raise NotAllowed(_("Alleen de initiatiefnemers en de penvoerder voeren uitgaven in."))
    if project.is_closed:
        raise SpendingError(_("Dit project is afgesloten. Er kunnen geen uitgaven meer bij."))
    if data.cost_line_id is not None and data.cost_line_id not in {
        line.id for line in project.proposal.cost_lines
    }:
        raise SpendingError(_("Deze kostenpost hoort niet bij dit project."))
    _check_room(project, data.amount_cents, with_pending=True)
    directory = receipts.receipt_dir(current_app)
    receipt_name = None
    try:
        if checked is not None:
            receipt_name = receipts.store(checked, directory)
        expense = Expense(
            project_id=project.id,
            neighbourhood_id=project.neighbourhood_id,
            cost_line_id=data.cost_line_id,
            spent_on=data.spent_on,
            amount_cents=data.amount_cents,
            vat_cents=data.vat_cents,
            payee=_plain(data.payee),
            payee_type=data.payee_type,
            description=_plain(data.description),
            receipt_name=receipt_name,
            receipt_type=checked.content_type if checked is not None else None,
            recorded_by_id=user.id,
            recorded_at=utcnow(),
        )
        db.session.add(expense)
        if project.status == ProjectStatus.NOT_STARTED:
            project.status = ProjectStatus.IN_PROGRESS
        db.session.flush()
        record(
            "expense.record",
            actor=user,
            role=permissions.acting_role(user, project.neighbourhood),
            obj=project,  # filed under the project, so its audit trail is one list
            neighbourhood=project.neighbourhood_id,
            after={"uitgave": expense.id, "bedrag": expense.amount_cents},
        )
        db.session.flush()  # every constraint checked here, while the file can still go
    except BaseException:
        if receipt_name:
            receipts.delete(directory, receipt_name)
        raise
    return expense


def _lock_decision(expense: Expense) -> tuple[FundedProject, Expense]:
    """The project, then the expense, locked and read afresh: the board's decisions on one
    expense queue up, and after the first the others see its new state."""
    project = lock_or_gone(FundedProject, expense.project_id)
    return project, lock_or_gone(Expense, expense)


def _refuse(board: User, expense: Expense) -> None:
    refusal = expense.approval_refusal(board)
    if refusal is not None:
        raise NotAllowed(refusal)


def _already_decided(expense: Expense) -> Conflict:
    return Conflict(
        _(
            "Over deze uitgave is al besloten: hij is %(state)s. Kijk op de pagina hoe het nu "
            "staat.",
            state=queries.expense_state_label(expense.state),
        )
    )


def _expense_entry(expense: Expense) -> LedgerEntry | None:
    return db.session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.expense_id == expense.id, LedgerEntry.kind == EntryKind.EXPENSE
        )
    )


@use_case(conflict=_l("Deze uitgave staat al in het grootboek."))
def approve_expense(board: User, expense: Expense) -> LedgerEntry:
    """Four eyes: never the person who recorded it, never an initiator of the project. Only an
    approved expense counts as spent, and it goes into the ledger, once. The same board member
    approving again (a double click) is told it is done; after another's decision: 409.

    Locks: the project (spent and granted are read under it), then the expense (its state
    decides), then the wijk (:func:`append`). The database allows one expense entry per
    expense (``uq_ledger_entry_expense``)."""
    project, expense = _lock_decision(expense)
    _refuse(board, expense)
    if expense.state == ExpenseState.APPROVED and expense.decided_by_id == board.id:
        entry = _expense_entry(expense)
        if entry is not None:
            return entry
    if expense.state != ExpenseState.PENDING:
        raise _already_decided(expense)
    _check_room(project, expense.amount_cents, with_pending=False)
    expense.state = ExpenseState.APPROVED
    expense.decided_by_id = board.id
    expense.decided_at = utcnow()
    entry = append(
        project.neighbourhood_id,
        EntryKind.EXPENSE,
        expense.amount_cents,
        actor=board,
        project=project,
        expense=expense,
        reason=expense.description,
    )
    record(
        "expense.approve",
        actor=board,
        role="board",
        obj=project,  # filed under the project, so its audit trail is one list
        neighbourhood=project.neighbourhood_id,
        after={"uitgave": expense.id, "bedrag": expense.amount_cents, "boeking": entry.seq},
    )
    return entry


def _reason(reason: str) -> str:
    text = _plain(reason or "")
    if not text:
        raise SpendingError(_("Geef een reden op."))
    if len(text) > REASON_MAX:
        raise SpendingError(_("De reden is te lang (hoogstens %(n)d tekens).", n=REASON_MAX))
    return text


@use_case
def reject_expense(board: User, expense: Expense, reason: str) -> None:
    """Four eyes, as approving; a rejected expense is not spent and never in the ledger. The
    same board member rejecting again is told it is done; after another's decision: 409.

    Locks: the project, then the expense (its state decides)."""
    _project, expense = _lock_decision(expense)
    _refuse(board, expense)
    if expense.state == ExpenseState.REJECTED and expense.decided_by_id == board.id:
        return
    if expense.state != ExpenseState.PENDING:
        raise _already_decided(expense)
    expense.state = ExpenseState.REJECTED
    expense.decided_by_id = board.id
    expense.decided_at = utcnow()
    expense.decision_reason = _reason(reason)
    db.session.flush()
    record(
        "expense.reject",
        actor=board,
        role="board",
        obj=expense.project,  # filed under the project, so its audit trail is one list
        neighbourhood=expense.neighbourhood_id,
        after={"uitgave": expense.id, "reden": expense.decision_reason},
    )


@use_case(conflict=_l("Deze uitgave is al teruggedraaid."))
def reverse_expense(board: User, expense: Expense, reason: str) -> LedgerEntry:
    """An approved expense turned out wrong: a correction entry takes it back (the original
    entry stays, as everything in the ledger does). The same board member turning it back
    again is told it is done; after another's: 409.

    Locks: the project (its spent money changes), then the expense (its state decides), then
    the wijk (:func:`append`). The database allows one correction per entry
    (``uq_ledger_entry_corrects_id``)."""
    _project, expense = _lock_decision(expense)
    _refuse(board, expense)
    original = _expense_entry(expense)
    if expense.state == ExpenseState.REVERSED:
        done = (
            db.session.scalar(select(LedgerEntry).where(LedgerEntry.corrects_id == original.id))
            if original is not None
            else None
        )
        if done is not None and done.actor_id == board.id:
            return done
        raise Conflict(_("Deze uitgave is al teruggedraaid."))
    if expense.state != ExpenseState.APPROVED:
        raise SpendingError(_("Alleen een goedgekeurde uitgave kan worden teruggedraaid."))
    if original is None:  # pragma: no cover - an approved expense always has its entry
        raise SpendingError(_("De boeking van deze uitgave is niet gevonden."))
    text = _reason(reason)
    expense.state = ExpenseState.REVERSED
    expense.decision_reason = text
    entry = append(
        expense.neighbourhood_id,
        EntryKind.CORRECTION,
        -original.amount_cents,
        actor=board,
        project=expense.project,
        expense=expense,
        corrects=original,
        reason=text,
    )
    record(
        "expense.reverse",
        actor=board,
        role="board",
        obj=expense.project,  # filed under the project, so its audit trail is one list
        neighbourhood=expense.neighbourhood_id,
        after={"uitgave": expense.id, "boeking": entry.seq, "reden": text},
    )
    return entry


# --- the board: money and status ------------------------------------------------------------


def _board_guard(board: User, project: FundedProject) -> None:
    if not project.can_manage(board):
        raise NotAllowed(_("Alleen het bestuur van de wijk kan dit doen."))


@use_case
def reallocate(board: User, project: FundedProject, amount_cents: int, reason: str) -> LedgerEntry:
    """Extra money for a project from the wijk's unspent money, with a reason: itself a ledger
    entry, after which a larger expense fits. The wijk's free money never goes below zero.

    Locks: the project (closed?), then the wijk (its free money is read under that lock, so two
    reallocations at once cannot together give out more than there is; :func:`append` locks
    the same row)."""
    project = lock_or_gone(FundedProject, project)
    _board_guard(board, project)
    if project.is_closed:
        raise SpendingError(_("Dit project is afgesloten."))
    _positive(amount_cents)
    text = _reason(reason)
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
    _board_guard(board, project)
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


@use_case
def close_project(board: User, project: FundedProject, status: ProjectStatus, note: str) -> None:
    """Afgerond or gestopt. Pending expenses must be decided first; the unspent remainder goes
    back to the wijk as a ledger entry ("besparingen vloeien terug naar de wijk"). Closing
    twice: 409.

    Locks: the project (its status and money are read under it, so no expense is recorded or
    approved in between), then the wijk (:func:`append`)."""
    project = lock_or_gone(FundedProject, project)
    _board_guard(board, project)
    if status not in (ProjectStatus.DONE, ProjectStatus.STOPPED):
        raise SpendingError(_("Kies afgerond of gestopt."))
    if project.is_closed:
        raise Conflict(_("Dit project is al afgesloten."))
    money = queries.project_money(project)
    if money.pending:
        raise SpendingError(_("Er wachten nog uitgaven op goedkeuring. Besluit daar eerst over."))
    text = _reason(note)
    project.status = status
    project.closed_at = utcnow()
    if status == ProjectStatus.DONE:
        project.percent_done = 100
    remainder = money.granted - money.spent
    seq = None
    if remainder > 0:
        seq = append(
            project.neighbourhood_id,
            EntryKind.RETURN,
            remainder,
            actor=board,
            project=project,
            reason=text,
        ).seq
    db.session.add(
        ProgressUpdate(
            project_id=project.id,
            author_id=board.id,
            milestone=True,
            body=text,
            percent_done=project.percent_done,
            created_at=utcnow(),
        )
    )
    project.last_update_at = utcnow()
    db.session.flush()
    record(
        "project.close",
        actor=board,
        role="board",
        obj=project,
        neighbourhood=project.neighbourhood_id,
        after={"status": status.value, "terug": remainder, "boeking": seq},
    )


# --- progress ---------------------------------------------------------------------------------


MAX_PHOTOS = 3


@use_case
def add_update(
    user: User,
    project: FundedProject,
    body: str,
    percent: int | None,
    *,
    photos: list[Any] = (),  # type: ignore[assignment]
    alt: str = "",
) -> ProgressUpdate:
    """Initiators tell how it goes, with up to three photos; the board adds milestones.

    Locks: the project (closed? its percentage and status change). The photos are checked
    before the lock and written to disk last; if the use case fails after that, they are
    deleted again."""
    text = (body or "").strip()
    if not text:
        raise SpendingError(_("Schrijf wat er is gebeurd."))
    if len(text) > 5000:
        raise SpendingError(_("Het bericht is te lang (hoogstens 5000 tekens)."))
    if percent is not None and not 0 <= percent <= 100:
        raise SpendingError(_("Het percentage moet tussen 0 en 100 liggen."))
    if not project.can_post_update(user):
        raise NotAllowed(_("Alleen de initiatiefnemers schrijven een voortgangsbericht."))
    uploads = [f for f in photos if f is not None and getattr(f, "filename", "")]
    if len(uploads) > MAX_PHOTOS:
        raise SpendingError(_("Hoogstens %(n)d foto's bij een bericht.", n=MAX_PHOTOS))
    processed = [
        images.process_upload(receipts.rewound(f), max_bytes=current_app.config["UPLOAD_MAX_BYTES"])
        for f in uploads
    ]
    project = lock_or_gone(FundedProject, project)
    if not project.can_post_update(user):
        raise NotAllowed(_("Alleen de initiatiefnemers schrijven een voortgangsbericht."))
    if project.is_closed:
        raise SpendingError(_("Dit project is afgesloten."))
    milestone = project.update_is_milestone(user)
    update = ProgressUpdate(
        project_id=project.id,
        author_id=user.id,
        milestone=milestone,
        body=text,
        percent_done=percent,
        created_at=utcnow(),
    )
    directory = images.upload_dir(current_app)
    stored: list[str] = []
    try:
        for photo in processed:
            stored.append(images.store(photo, directory))
            update.photos.append(
                ProgressPhoto(
                    filename=stored[-1],
                    content_type=photo.content_type,
                    width=photo.width,
                    height=photo.height,
                    alt=_plain(alt)[:200],
                )
            )
        db.session.add(update)
        if percent is not None:
            project.percent_done = percent
        if project.status == ProjectStatus.NOT_STARTED:
            project.status = ProjectStatus.IN_PROGRESS
        project.last_update_at = update.created_at
        db.session.flush()
        if milestone:
            record(
                "project.milestone",
                actor=user,
                role="board",
                obj=project,
                neighbourhood=project.neighbourhood_id,
                after={"percentage": percent},
            )
            db.session.flush()  # every constraint checked here, while the files can still go
    except BaseException:
        for name in stored:
            images.delete(directory, name)
        raise
    return update
