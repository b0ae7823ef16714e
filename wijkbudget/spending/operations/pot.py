"""The wijk's pot: money that comes in (recorded by one board member, confirmed by another),
each round's budget drawn from it, and what a round's result leaves of that budget flowing back.
Every step is a ledger entry, so a euro can be followed from the wijk's income to a round, a
project, an expense and back (docs/spending.md, "Geld dat binnenkomt en de pot").

Locks, in the area's order (see the package): income or round → wijk. The pot is read under
the wijk's lock, the same row :func:`append` and a reallocation lock, so two draws at once
cannot together take more than the pot holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from ... import permissions
from ...accounts.models import User
from ...audit.operations import record
from ...extensions import db, utcnow
from ...money import format_cents
from ...neighbourhoods.models import Neighbourhood
from ...results.models import Result
from ...rounds.models import Round
from ...usecase import Conflict, lock_or_gone, use_case
from .. import queries
from ..models import EntryKind, Income, IncomeState, LedgerEntry, NotAllowed, SpendingError
from .common import check_positive, plain
from .ledger import append

SOURCE_MAX = 160
PURPOSE_MAX = 300


@dataclass(frozen=True)
class IncomeData:
    amount_cents: int
    source: str  # the paying organisation
    received_on: date
    purpose: str


def _check_board(user: User, wijk: Neighbourhood) -> None:
    if not permissions.is_board(user, wijk):
        raise NotAllowed(_("Alleen het bestuur van de wijk kan dit doen."))


@use_case
def record_income(board: User, wijk: Neighbourhood, data: IncomeData) -> Income:
    """A board member records money that came in. It counts (in the pot and the ledger) only
    once another board member confirms it.

    Locks: nothing (a new row no one else sees yet)."""
    _check_board(board, wijk)
    check_positive(data.amount_cents)
    source, purpose = plain(data.source), plain(data.purpose)
    if not source:
        raise SpendingError(_("Vul in van wie het geld komt."))
    if not purpose:
        raise SpendingError(_("Schrijf kort waarvoor het geld is."))
    if len(source) > SOURCE_MAX or len(purpose) > PURPOSE_MAX:
        raise SpendingError(_("Deze tekst is te lang."))
    income = Income(
        neighbourhood_id=wijk.id,
        amount_cents=data.amount_cents,
        source=source,
        received_on=data.received_on,
        purpose=purpose,
        state=IncomeState.PENDING,
        recorded_by_id=board.id,
        recorded_at=utcnow(),
    )
    db.session.add(income)
    db.session.flush()
    record(
        "income.record",
        actor=board,
        role="board",
        obj=income,
        neighbourhood=wijk.id,
        after={"bedrag": data.amount_cents, "van": source, "waarvoor": purpose},
    )
    return income


@use_case
def confirm_income(board: User, income: Income, now: datetime | None = None) -> LedgerEntry:
    """A second board member confirms an income: it goes into the pot as a ledger entry.
    Confirming twice (two tabs, two board members at once): the second gets 409.

    Locks: the income (its state is read under it), then the wijk (:func:`append`)."""
    income = lock_or_gone(Income, income)
    refusal = income.confirm_refusal(board)
    if refusal:
        raise NotAllowed(refusal)
    if income.is_confirmed:
        raise Conflict(_("Deze inkomsten zijn al bevestigd."))
    now = now or utcnow()
    entry = append(
        income.neighbourhood_id,
        EntryKind.INCOME,
        income.amount_cents,
        actor=board,
        reason=f"{income.source}: {income.purpose}",
        now=now,
    )
    income.state = IncomeState.CONFIRMED
    income.confirmed_by_id = board.id
    income.confirmed_at = now
    income.entry_id = entry.id
    db.session.flush()
    record(
        "income.confirm",
        actor=board,
        role="board",
        obj=income,
        neighbourhood=income.neighbourhood_id,
        after={"bedrag": income.amount_cents, "boeking": entry.seq},
    )
    return entry


@use_case
def withdraw_income(board: User, income: Income) -> None:
    """A board member takes back income that waits for confirmation (a wrong amount, recorded
    twice): it never counted, so it goes, with a line in the audit log. Confirmed income stays
    (409): the ledger keeps it.

    Locks: the income (its state is read under it; a confirmation at the same moment waits)."""
    income = lock_or_gone(Income, income)
    _check_board(board, income.neighbourhood)
    if income.is_confirmed:
        raise Conflict(_("Deze inkomsten zijn al bevestigd."))
    record(
        "income.withdraw",
        actor=board,
        role="board",
        obj=income,
        neighbourhood=income.neighbourhood_id,
        before={"bedrag": income.amount_cents, "van": income.source, "waarvoor": income.purpose},
    )
    db.session.delete(income)
    db.session.flush()


def drawn_for_round(round_id: int) -> int:
    """What was drawn from the pot for this round (corrections included)."""
    return queries.by_round_and_kind([round_id])[round_id][EntryKind.DRAW]


@use_case
def draw_budget(board: User, rnd: Round, now: datetime | None = None) -> LedgerEntry:
    """The board takes the round's budget from the wijk's pot (a ledger entry). A budget raised
    after an earlier draw draws the difference. Refused when the budget is drawn already or the
    vote is counted (409), or when the pot holds too little (422).

    Locks: the round (its budget is read under it), then the wijk (the pot is read under it,
    and :func:`append` takes the same row)."""
    rnd = lock_or_gone(Round, rnd)
    wijk = lock_or_gone(Neighbourhood, rnd.neighbourhood_id)
    _check_board(board, wijk)
    if db.session.scalar(select(Result.id).where(Result.round_id == rnd.id)) is not None:
        raise Conflict(_("De stemming van deze ronde is al geteld."))
    amount = rnd.budget_cents - drawn_for_round(rnd.id)
    if amount <= 0:
        raise Conflict(_("Het budget van deze ronde is al uit de pot gehaald."))
    pot = queries.wijk_available(wijk)
    if amount > pot:
        raise SpendingError(
            _(
                "Er zit te weinig in de pot: %(pot)s. De ronde heeft %(need)s nodig.",
                pot=format_cents(pot),
                need=format_cents(amount),
            )
        )
    entry = append(
        wijk.id,
        EntryKind.DRAW,
        amount,
        actor=board,
        round_id=rnd.id,
        reason=rnd.title,
        now=now,
    )
    record(
        "round.draw_budget",
        actor=board,
        role="board",
        obj=rnd,
        neighbourhood=wijk.id,
        after={"bedrag": amount, "boeking": entry.seq},
    )
    return entry


def return_leftover(
    board: User | None, rnd: Round, granted_cents: int, now: datetime
) -> LedgerEntry | None:
    """The result is final: what the chosen projects do not take of the budget drawn for the
    round flows back to the pot, as one ledger entry (none for a round not drawn from the pot,
    or one that uses all of it). Called by :func:`grant_chosen`, inside closing the vote.

    Locks: the wijk (:func:`append`); once per round (a partial unique index)."""
    left = drawn_for_round(rnd.id) - granted_cents
    if left <= 0:
        return None
    return append(
        rnd.neighbourhood_id,
        EntryKind.ROUND_RETURN,
        left,
        actor=board,
        round_id=rnd.id,
        reason=rnd.title,
        now=now,
    )
