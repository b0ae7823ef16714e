"""Expenses with four eyes: an initiator records one with its receipt (pending and spent money
stay within the grant), a board member who was not involved approves it into the ledger, rejects
it, or turns an approved one back with a correction entry.

Locks, in the area's order (see the package): project → expense → wijk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ... import images, permissions
from ...accounts.models import User
from ...audit.operations import record
from ...extensions import db, utcnow
from ...money import format_cents
from ...usecase import Conflict, lock_or_gone, use_case
from .. import queries, receipts
from ..models import (
    EntryKind,
    Expense,
    ExpenseState,
    FundedProject,
    LedgerEntry,
    NotAllowed,
    PayeeType,
    ProjectStatus,
    SpendingError,
)
from .common import check_positive, clean_reason, plain
from .ledger import append


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


@use_case
def record_expense(user: User, project: FundedProject, data: ExpenseData, upload: Any) -> Expense:
    """An initiator or the treasurer records what was paid, with the receipt. Pending and spent
    money together stay within the grant.

    Locks: the project (its status and its money, granted, spent and pending, are read under
    it), so expenses recorded at the same time cannot together pass the grant. The receipt is
    checked before the lock and written to disk last; if the use case fails after that, the file
    is deleted again."""
    check_positive(data.amount_cents)
    if data.spent_on > utcnow().date():
        raise SpendingError(_("De datum van de uitgave ligt in de toekomst."))
    if data.vat_cents is not None and data.vat_cents > data.amount_cents:
        raise SpendingError(_("De btw kan niet hoger zijn dan het bedrag."))
    checked = None
    if upload is not None and getattr(upload, "filename", None):
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
            receipt_name = images.store(checked, directory)
        expense = Expense(
            project_id=project.id,
            neighbourhood_id=project.neighbourhood_id,
            cost_line_id=data.cost_line_id,
            spent_on=data.spent_on,
            amount_cents=data.amount_cents,
            vat_cents=data.vat_cents,
            payee=plain(data.payee),
            payee_type=data.payee_type,
            description=plain(data.description),
            receipt_name=receipt_name,
            receipt_type=checked.content_type if checked is not None else None,
            recorded_by_id=user.id,
            recorded_at=utcnow(),
        )
        db.session.add(expense)
        if project.status == ProjectStatus.NOT_STARTED:
            project.status = ProjectStatus.IN_PROGRESS
        db.session.flush()
        _audit(
            "expense.record",
            project,
            expense,
            actor=user,
            role=permissions.acting_role(user, project.neighbourhood),
            bedrag=expense.amount_cents,
        )
        db.session.flush()  # every constraint checked here, while the file can still go
    except BaseException:
        if receipt_name:
            receipts.delete(directory, receipt_name)
        raise
    return expense


def _audit(
    action: str,
    project: FundedProject,
    expense: Expense,
    *,
    actor: User,
    role: str = "board",
    **after: Any,
) -> None:
    """The audit entry of ``action`` on ``expense`` (by the board, unless ``role`` says
    otherwise): filed under its project, so the project's audit trail is one list; ``after``
    names the expense (``uitgave``) and then the rest."""
    record(
        action,
        actor=actor,
        role=role,
        obj=project,
        neighbourhood=project.neighbourhood_id,
        after={"uitgave": expense.id, **after},
    )


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
    _audit(
        "expense.approve",
        project,
        expense,
        actor=board,
        bedrag=expense.amount_cents,
        boeking=entry.seq,
    )
    return entry


@use_case
def reject_expense(board: User, expense: Expense, reason: str) -> None:
    """Four eyes, as approving; a rejected expense is not spent and never in the ledger. The
    same board member rejecting again is told it is done; after another's decision: 409.

    Locks: the project, then the expense (its state decides)."""
    project, expense = _lock_decision(expense)
    _refuse(board, expense)
    if expense.state == ExpenseState.REJECTED and expense.decided_by_id == board.id:
        return
    if expense.state != ExpenseState.PENDING:
        raise _already_decided(expense)
    expense.state = ExpenseState.REJECTED
    expense.decided_by_id = board.id
    expense.decided_at = utcnow()
    expense.decision_reason = clean_reason(reason)
    db.session.flush()
    _audit("expense.reject", project, expense, actor=board, reden=expense.decision_reason)


@use_case(conflict=_l("Deze uitgave is al teruggedraaid."))
def reverse_expense(board: User, expense: Expense, reason: str) -> LedgerEntry:
    """An approved expense turned out wrong: a correction entry takes it back (the original
    entry stays, as everything in the ledger does). The same board member turning it back
    again is told it is done; after another's: 409.

    Locks: the project (its spent money changes), then the expense (its state decides), then
    the wijk (:func:`append`). The database allows one correction per entry
    (``uq_ledger_entry_corrects_id``)."""
    project, expense = _lock_decision(expense)
    _refuse(board, expense)
    original = _expense_entry(expense)
    if expense.state == ExpenseState.REVERSED:
        done: LedgerEntry | None = (
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
    text = clean_reason(reason)
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
    _audit("expense.reverse", project, expense, actor=board, boeking=entry.seq, reden=text)
    return entry
