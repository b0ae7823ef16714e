"""Reading the geldstroom: the wijk's money from end to end, all from its ledger — what came in,
the pot, each round's draw and what it gave its projects, what they spent, and what flowed back.

The sums are the ledger's own (by kind, a correction counted as the kind it reverses), so the
page's totals add up: the pot is income − draws + returns of rounds and projects − extra money
(plus what rounds from before the pot left; see :func:`queries.left_outside_pot`). A fixed
number of queries, however many rounds and projects."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..neighbourhoods.models import Neighbourhood
from ..rounds.models import Round
from . import queries
from .models import EntryKind, FundedProject, Income, IncomeState, LedgerEntry

#: how many confirmed incomes the page lists (newest first); the ledger has them all
INCOME_ROWS = 50


@dataclass
class ProjectFlow:
    project: FundedProject
    money: queries.Money


@dataclass
class RoundFlow:
    round: Round
    drawn: int = 0  # from the pot
    granted: int = 0  # to its projects when the vote was counted
    left_back: int = 0  # what the result left of the draw, back to the pot
    extra: int = 0  # extra money from the pot for its projects
    spent: int = 0  # approved expenses of its projects
    returned: int = 0  # what its closed projects gave back to the pot
    projects: list[ProjectFlow] = field(default_factory=list)

    @property
    def with_projects(self) -> int:
        """What its projects still hold: granted and extra, minus spent and given back."""
        return self.granted + self.extra - self.spent - self.returned

    @property
    def from_pot(self) -> bool:
        return self.drawn > 0


@dataclass
class Flow:
    income: int  # confirmed income (the ledger's income entries)
    drawn: int  # the rounds' draws
    rounds_back: int  # what rounds left of their draws
    projects_back: int  # what closed projects gave back
    extra: int  # extra money given to projects
    outside: int  # left by counted rounds from before the pot (not in the ledger)
    pending_income: int  # recorded, waiting for a second board member: not counted yet
    incomes: list[Income]
    rounds: list[RoundFlow]

    @property
    def pot(self) -> int:
        return (
            self.outside
            + self.income
            - self.drawn
            + self.rounds_back
            + self.projects_back
            - self.extra
        )


def wijk_flow(wijk: Neighbourhood) -> Flow:
    totals = queries.pot_totals(wijk.id)
    incomes = list(
        db.session.scalars(
            select(Income)
            .where(Income.neighbourhood_id == wijk.id, Income.state == IncomeState.CONFIRMED)
            .options(selectinload(Income.entry))
            .order_by(Income.received_on.desc(), Income.id.desc())
            .limit(INCOME_ROWS)
        )
    )
    pending = db.session.scalar(
        select(func.coalesce(func.sum(Income.amount_cents), 0)).where(
            Income.neighbourhood_id == wijk.id, Income.state == IncomeState.PENDING
        )
    )
    return Flow(
        income=totals[EntryKind.INCOME],
        drawn=totals[EntryKind.DRAW],
        rounds_back=totals[EntryKind.ROUND_RETURN],
        projects_back=totals[EntryKind.RETURN],
        extra=totals[EntryKind.REALLOCATION],
        outside=queries.left_outside_pot(wijk.id),
        pending_income=int(pending or 0),
        incomes=incomes,
        rounds=round_flows(wijk),
    )


def round_flows(wijk: Neighbourhood) -> list[RoundFlow]:
    """Every round of the wijk with money in the ledger (a draw or funded projects), newest
    first, with its projects."""
    round_ids = [
        rid
        for rid in db.session.scalars(
            select(LedgerEntry.round_id)
            .where(LedgerEntry.neighbourhood_id == wijk.id, LedgerEntry.round_id.is_not(None))
            .distinct()
        )
        if rid is not None
    ]
    rounds = {r.id: r for r in db.session.scalars(select(Round).where(Round.id.in_(round_ids)))}
    sums = queries.by_round_and_kind(round_ids)
    flows = {
        rid: RoundFlow(
            rounds[rid],
            drawn=k[EntryKind.DRAW],
            granted=k[EntryKind.GRANT],
            left_back=k[EntryKind.ROUND_RETURN],
            extra=k[EntryKind.REALLOCATION],
            spent=k[EntryKind.EXPENSE],
            returned=k[EntryKind.RETURN],
        )
        for rid, k in sums.items()
    }
    projects = queries.projects_of(wijk, selectinload(FundedProject.proposal))
    money = queries.money_by_project([p.id for p in projects])
    for project in projects:
        if project.round_id in flows:
            flows[project.round_id].projects.append(ProjectFlow(project, money[project.id]))
    return sorted(flows.values(), key=lambda f: f.round.id, reverse=True)
