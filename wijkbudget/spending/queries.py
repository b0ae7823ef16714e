"""Reading the verantwoording: money per project, per round and per wijk (all from the ledger
and the expenses, in a fixed number of queries) and the ledger's pages. The councillor's flags
are in flags.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased, selectinload

from ..extensions import db
from ..neighbourhoods.models import Neighbourhood
from ..proposals.models import Proposal, State
from ..results.models import Result
from ..rounds.models import Round
from ..voting.queries import turnout
from .models import (
    EntryKind,
    Expense,
    ExpenseState,
    FundedProject,
    LedgerEntry,
    ProgressUpdate,
    ProjectStatus,
)


@dataclass
class Money:
    granted: int = 0  # grant plus reallocations (corrections included)
    spent: int = 0  # approved expenses (corrections included)
    returned: int = 0  # remainder given back to the wijk
    pending: int = 0  # recorded, waiting for approval

    @property
    def remaining(self) -> int:
        return self.granted - self.spent - self.returned

    @property
    def spent_percent(self) -> int:
        return round(100 * self.spent / self.granted) if self.granted else 0

    def add(self, other: Money) -> None:
        self.granted += other.granted
        self.spent += other.spent
        self.returned += other.returned
        self.pending += other.pending


_GRANTED = (EntryKind.GRANT, EntryKind.REALLOCATION)


def _effective_kind(scope: Callable[[Any], Any]) -> tuple[Any, Any, Any]:
    """A correction counts as the kind of entry it reverses: (the corrected entry, the join
    condition, the kind). A correction and the entry it corrects share the wijk's chain and the
    project, so ``scope`` puts the query's own filter on the corrected entry too: PostgreSQL then
    reads those entries by index instead of the ledger of every wijk."""
    corrected = aliased(LedgerEntry)
    on = (corrected.id == LedgerEntry.corrects_id) & scope(corrected)
    return corrected, on, func.coalesce(corrected.kind, LedgerEntry.kind)


def money_by_project(project_ids: list[int]) -> dict[int, Money]:
    """Two grouped queries, however many projects."""
    result = {pid: Money() for pid in project_ids}
    if not project_ids:
        return result
    corrected, on, kind = _effective_kind(lambda entry: entry.project_id.in_(project_ids))
    rows = db.session.execute(
        select(LedgerEntry.project_id, kind, func.sum(LedgerEntry.amount_cents))
        .outerjoin(corrected, on)
        .where(LedgerEntry.project_id.in_(project_ids))
        .group_by(LedgerEntry.project_id, kind)
    )
    for pid, k, total in rows:
        money = result[pid]
        if k in _GRANTED:
            money.granted += int(total)
        elif k == EntryKind.EXPENSE:
            money.spent += int(total)
        elif k == EntryKind.RETURN:
            money.returned += int(total)
    for pid, total in db.session.execute(
        select(Expense.project_id, func.sum(Expense.amount_cents))
        .where(Expense.project_id.in_(project_ids), Expense.state == ExpenseState.PENDING)
        .group_by(Expense.project_id)
    ):
        result[pid].pending = int(total)
    return result


def project_money(project: FundedProject) -> Money:
    return money_by_project([project.id])[project.id]


#: the ledger's kinds that fill the wijk's pot, and those that take from it
POT_IN = (EntryKind.INCOME, EntryKind.ROUND_RETURN, EntryKind.RETURN)
POT_OUT = (EntryKind.DRAW, EntryKind.REALLOCATION)


def pot_totals(wijk_id: int) -> dict[EntryKind, int]:
    """The sums of the wijk's ledger by kind for the kinds that fill or take from the pot (a
    correction counted as the kind it reverses); a kind without entries is 0."""
    corrected, on, kind = _effective_kind(lambda entry: entry.neighbourhood_id == wijk_id)
    rows = db.session.execute(
        select(kind, func.sum(LedgerEntry.amount_cents))
        .outerjoin(corrected, on)
        .where(LedgerEntry.neighbourhood_id == wijk_id, kind.in_(POT_IN + POT_OUT))
        .group_by(kind)
    ).all()
    totals = dict.fromkeys(POT_IN + POT_OUT, 0)
    for k, total in rows:
        totals[EntryKind(k)] = int(total or 0)
    return totals


def left_outside_pot(wijk_id: int) -> int:
    """What counted rounds whose budget was not drawn from the pot (rounds from before the pot)
    left unspent: free money, as before there was a pot, though no ledger entry says so."""
    drawn = select(LedgerEntry.id).where(
        LedgerEntry.round_id == Round.id, LedgerEntry.kind == EntryKind.DRAW
    )
    left = db.session.scalar(
        select(func.coalesce(func.sum(Result.budget_cents - Result.cost_cents), 0))
        .join(Round, Round.id == Result.round_id)
        .where(Round.neighbourhood_id == wijk_id, ~drawn.exists())
    )
    return int(left or 0)


def pot_balance(totals: dict[EntryKind, int], outside: int) -> int:
    return outside + sum(totals[k] for k in POT_IN) - sum(totals[k] for k in POT_OUT)


def by_round_and_kind(round_ids: list[int]) -> dict[int, dict[EntryKind, int]]:
    """Per round, the sums of its ledger entries by kind (a correction counted as the kind it
    reverses): its draw and what flowed back, and its projects' grants, expenses and returns.
    One grouped query, however many rounds."""
    result = {rid: dict.fromkeys(EntryKind, 0) for rid in round_ids}
    if not round_ids:
        return result
    corrected, on, kind = _effective_kind(lambda entry: entry.round_id.in_(round_ids))
    for rid, k, total in db.session.execute(
        select(LedgerEntry.round_id, kind, func.sum(LedgerEntry.amount_cents))
        .outerjoin(corrected, on)
        .where(LedgerEntry.round_id.in_(round_ids))
        .group_by(LedgerEntry.round_id, kind)
    ):
        result[rid][EntryKind(k)] = int(total or 0)
    return result


def wijk_available(wijk: Neighbourhood) -> int:
    """Money the wijk may still give out, its pot: confirmed income, what rounds left of their
    drawn budget and closed projects gave back, minus the rounds' draws and the extra money
    given out; plus what counted rounds from before the pot left unspent."""
    return pot_balance(pot_totals(wijk.id), left_outside_pot(wijk.id))


@dataclass
class RoundMoney:
    round: Round
    money: Money = field(default_factory=Money)
    projects: int = 0
    done: int = 0


def projects_of(wijk: Neighbourhood, *load: Any) -> list[FundedProject]:
    """The wijk's funded projects, oldest first, with what ``load`` loads alongside
    (``selectinload`` options)."""
    return list(
        db.session.scalars(
            select(FundedProject)
            .where(FundedProject.neighbourhood_id == wijk.id)
            .options(*load)
            .order_by(FundedProject.id)
        )
    )


def wijk_overview(wijk: Neighbourhood) -> list[RoundMoney]:
    """Per round with funded projects: granted, spent, remaining, returned."""
    projects = projects_of(wijk, selectinload(FundedProject.round))
    money = money_by_project([p.id for p in projects])
    rounds: dict[int, RoundMoney] = {}
    for project in projects:
        entry = rounds.setdefault(project.round_id, RoundMoney(project.round))
        entry.money.add(money[project.id])
        entry.projects += 1
        entry.done += project.status == ProjectStatus.DONE
    return sorted(rounds.values(), key=lambda r: r.round.id, reverse=True)


def projects_query(wijk: Neighbourhood, round_id: int | None = None) -> Select[FundedProject]:
    query = (
        select(FundedProject)
        .where(FundedProject.neighbourhood_id == wijk.id)
        .options(selectinload(FundedProject.proposal))
        .order_by(FundedProject.round_id.desc(), FundedProject.id)
    )
    if round_id is not None:
        query = query.where(FundedProject.round_id == round_id)
    return query


def load_project(project_id: int) -> FundedProject | None:
    return db.session.scalar(
        select(FundedProject)
        .where(FundedProject.id == project_id)
        .options(
            selectinload(FundedProject.proposal).selectinload(Proposal.cost_lines),
            selectinload(FundedProject.proposal).selectinload(Proposal.coauthors),
            selectinload(FundedProject.neighbourhood),
            selectinload(FundedProject.round),
            selectinload(FundedProject.treasurer),
            selectinload(FundedProject.updates).selectinload(ProgressUpdate.photos),
        )
    )


def project_expenses_query(project: FundedProject) -> Any:
    return (
        select(Expense)
        .where(Expense.project_id == project.id)
        .options(selectinload(Expense.cost_line))
        .order_by(Expense.spent_on.desc(), Expense.id.desc())
    )


@dataclass
class CostLineMoney:
    description: str
    planned: int
    spent: int

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.spent / self.planned)) if self.planned else 0


def cost_lines(project: FundedProject) -> list[CostLineMoney]:
    """Plan against spending per cost line of the proposal (approved expenses only); expenses
    with no cost line under "overig"."""
    spent = dict(
        db.session.execute(
            select(Expense.cost_line_id, func.sum(Expense.amount_cents))
            .where(Expense.project_id == project.id, Expense.state == ExpenseState.APPROVED)
            .group_by(Expense.cost_line_id)
        ).all()
    )
    lines = [
        CostLineMoney(line.description, line.amount_cents, int(spent.pop(line.id, 0) or 0))
        for line in project.proposal.cost_lines
    ]
    other = sum(int(v or 0) for v in spent.values())
    if other:
        lines.append(CostLineMoney(_("Overig"), 0, other))
    return lines


def pending_for_board(wijk: Neighbourhood) -> Any:
    return (
        select(Expense)
        .where(Expense.neighbourhood_id == wijk.id, Expense.state == ExpenseState.PENDING)
        .options(selectinload(Expense.project).selectinload(FundedProject.proposal))
        .order_by(Expense.recorded_at)
    )


# --- the ledger ------------------------------------------------------------------------------


def ledger_query(wijk: Neighbourhood) -> Any:
    return (
        select(LedgerEntry)
        .where(LedgerEntry.neighbourhood_id == wijk.id)
        .options(selectinload(LedgerEntry.project).selectinload(FundedProject.proposal))
        .order_by(LedgerEntry.seq.desc())
    )


def ledger_head(wijk: Neighbourhood) -> tuple[int, str | None]:
    row = db.session.execute(
        select(LedgerEntry.seq, LedgerEntry.hash)
        .where(LedgerEntry.neighbourhood_id == wijk.id)
        .order_by(LedgerEntry.seq.desc())
        .limit(1)
    ).first()
    return (row.seq, row.hash) if row else (0, None)


ENTRY_KINDS = {
    EntryKind.GRANT: _l("Toekenning"),
    EntryKind.EXPENSE: _l("Uitgave"),
    EntryKind.CORRECTION: _l("Correctie"),
    EntryKind.REALLOCATION: _l("Extra geld"),
    EntryKind.RETURN: _l("Terug naar de wijk"),
    EntryKind.INCOME: _l("Inkomsten"),
    EntryKind.DRAW: _l("Budget van een ronde uit de pot"),
    EntryKind.ROUND_RETURN: _l("Niet besteed door de ronde, terug naar de pot"),
}
EXPENSE_STATES = {
    ExpenseState.PENDING: _l("wacht op goedkeuring"),
    ExpenseState.APPROVED: _l("goedgekeurd"),
    ExpenseState.REJECTED: _l("afgewezen"),
    ExpenseState.REVERSED: _l("teruggedraaid"),
}
PROJECT_STATUSES = {
    ProjectStatus.NOT_STARTED: _l("Nog niet gestart"),
    ProjectStatus.IN_PROGRESS: _l("Bezig"),
    ProjectStatus.DONE: _l("Afgerond"),
    ProjectStatus.STOPPED: _l("Gestopt"),
}


def entry_kind_label(kind: EntryKind | str) -> str:
    return str(ENTRY_KINDS[EntryKind(kind)])


def expense_state_label(state: ExpenseState | str) -> str:
    return str(EXPENSE_STATES[ExpenseState(state)])


def status_label(status: ProjectStatus | str) -> str:
    return str(PROJECT_STATUSES[ProjectStatus(status)])


@dataclass
class RoundSummary:
    round: Round
    budget: int
    proposals: int  # on the ballot
    submitted: int  # ever handed in
    funded: int
    done: int
    money: Money
    voters: int


def round_summary(rnd: Round) -> RoundSummary:
    """The one-screen summary of a round: from the result, the ledger and the proposals."""
    result = db.session.scalar(select(Result).where(Result.round_id == rnd.id))
    counts = dict(
        db.session.execute(
            select(Proposal.state, func.count(Proposal.id))
            .where(Proposal.round_id == rnd.id)
            .group_by(Proposal.state)
        ).all()
    )
    projects = list(
        db.session.scalars(select(FundedProject).where(FundedProject.round_id == rnd.id))
    )
    money = Money()
    for m in money_by_project([p.id for p in projects]).values():
        money.add(m)
    on_ballot = sum(
        n
        for state, n in counts.items()
        if state in (State.ADMITTED, State.CHOSEN, State.NOT_CHOSEN)
    )
    return RoundSummary(
        round=rnd,
        budget=rnd.budget_cents,
        proposals=on_ballot,
        submitted=sum(n for state, n in counts.items() if state != State.CONCEPT),
        funded=len(projects),
        done=sum(1 for p in projects if p.status == ProjectStatus.DONE),
        money=money,
        voters=result.ballots_counted if result else turnout(rnd).total,
    )
