"""The hash-chained ledger every money event goes into: :func:`append` (inside the caller's use
case; the wijk's row is always the last lock), and the checks an auditor runs — the chain of
hashes (:func:`verify_chain`) and whether the ledger says what the expenses say
(:func:`verify`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from ...accounts.models import User
from ...extensions import db, utcnow
from ...money import format_cents
from ...neighbourhoods.models import Neighbourhood
from .. import queries
from ..models import (
    GENESIS,
    EntryKind,
    Expense,
    ExpenseState,
    FundedProject,
    Income,
    IncomeState,
    LedgerEntry,
)

VERIFY_BATCH = 1000


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
    return _bookings_problem(wijk_id, chain) or _income_problem(wijk_id, chain) or chain


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


def _income_problem(wijk_id: int, chain: Verification) -> Verification | None:
    """Money in: every income entry belongs to one confirmed income of the wijk, for its amount,
    and every confirmed income is booked as an income entry. The first disagreement, or None."""
    entry = db.session.execute(
        select(LedgerEntry.seq)
        .outerjoin(Income, Income.entry_id == LedgerEntry.id)
        .where(
            LedgerEntry.neighbourhood_id == wijk_id,
            LedgerEntry.kind == EntryKind.INCOME,
            or_(
                Income.id.is_(None),
                Income.state != IncomeState.CONFIRMED,
                Income.amount_cents != LedgerEntry.amount_cents,
                Income.neighbourhood_id != wijk_id,
            ),
        )
        .order_by(LedgerEntry.seq)
        .limit(1)
    ).scalar()
    if entry is not None:
        problem = _("Boeking %(seq)d is inkomsten, maar er horen geen inkomsten bij.", seq=entry)
        return _mismatch(chain, problem)
    income = db.session.scalar(
        select(Income.id)
        .outerjoin(LedgerEntry, LedgerEntry.id == Income.entry_id)
        .where(
            Income.neighbourhood_id == wijk_id,
            Income.state == IncomeState.CONFIRMED,
            or_(LedgerEntry.id.is_(None), LedgerEntry.kind != EntryKind.INCOME),
        )
        .limit(1)
    )
    if income is not None:
        problem = _("Inkomsten %(id)d zijn bevestigd, maar staan niet in het grootboek.", id=income)
        return _mismatch(chain, problem)
    return _round_return_problem(wijk_id, chain)


def _round_return_problem(wijk_id: int, chain: Verification) -> Verification | None:
    """What flowed back from a round is what was drawn for it minus what its projects were
    granted (grants and draws are never corrected). The first round where not, or None."""

    def kind_sum(kind: EntryKind) -> Any:
        return func.coalesce(
            func.sum(case((LedgerEntry.kind == kind, LedgerEntry.amount_cents), else_=0)), 0
        )

    back = kind_sum(EntryKind.ROUND_RETURN)
    expected = kind_sum(EntryKind.DRAW) - kind_sum(EntryKind.GRANT)
    round_id = db.session.scalar(
        select(LedgerEntry.round_id)
        .where(
            LedgerEntry.neighbourhood_id == wijk_id,
            LedgerEntry.round_id.is_not(None),
            LedgerEntry.kind.in_((EntryKind.DRAW, EntryKind.GRANT, EntryKind.ROUND_RETURN)),
        )
        .group_by(LedgerEntry.round_id)
        .having(back != 0, back != expected)
        .order_by(LedgerEntry.round_id)
        .limit(1)
    )
    if round_id is None:
        return None
    problem = _(
        "Wat van ronde %(id)d terugging naar de pot, is niet wat uit de pot kwam min wat de "
        "projecten kregen.",
        id=round_id,
    )
    return _mismatch(chain, problem)


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
