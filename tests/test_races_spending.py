"""Races in the verantwoording, against the real PostgreSQL: N requests at the same instant on one
expense, one project or one wijk's free money, repeated with fresh data; afterwards the money is
right (one booking per approved expense, spent and pending within the grant, free money never
below zero, one decision per expense, a closed project with nothing pending) and no request got
a 5xx."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from pypdf import PdfWriter
from sqlalchemy import func, select

from tests.concurrency import (
    BoardScene,
    assert_no_server_errors,
    audits,
    board_scene,
    fresh,
    postgres_only,
    race,
    repeat,
    send,
    statuses,
)
from wijkbudget.accounts.models import User
from wijkbudget.extensions import db, utcnow
from wijkbudget.neighbourhoods.models import Neighbourhood
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Phase, Round
from wijkbudget.spending import operations, queries, receipts
from wijkbudget.spending.models import (
    EntryKind,
    Expense,
    ExpenseState,
    FundedProject,
    LedgerEntry,
    PayeeType,
    ProjectStatus,
)

pytestmark = postgres_only

N = 8


@dataclass
class Scene(BoardScene):
    rnd: Round
    initiator: User


@pytest.fixture
def scene(make_wijk, make_user, make_round) -> Scene:
    base = board_scene(make_wijk, make_user)
    return Scene(
        **base,
        rnd=make_round(base["wijk"], Phase.RESULT, budget=100_000_000),
        initiator=make_user("initiatief@example.org", wijk=base["wijk"]),
    )


@pytest.fixture
def new_project(scene, make_proposal):
    """A fresh funded project of ``granted`` cents (its grant in the ledger), for one attempt."""

    def make(granted: int) -> FundedProject:
        proposal = make_proposal(scene.rnd, scene.initiator, State.CHOSEN, cost=granted)
        operations.grant_chosen(scene.board, scene.rnd, [proposal], utcnow())
        return db.session.scalars(
            select(FundedProject).where(FundedProject.proposal_id == proposal.id)
        ).one()

    return make


def both_board_members(n: int = N) -> list[str]:
    return ["bestuur@example.org" if i % 2 == 0 else "bestuur2@example.org" for i in range(n)]


def pending(scene: Scene, project: FundedProject, cents: int) -> Expense:
    data = operations.ExpenseData(
        spent_on=date.today() - timedelta(days=1), amount_cents=cents, payee="Bouwmarkt",
        payee_type=PayeeType.COMPANY, description="Hout",
    )  # fmt: skip
    return operations.record_expense(scene.initiator, project, data, None)


def decide(client: Any, token: str, slug: str, expense_id: int, what: str) -> Any:
    data = {} if what == "goedkeuren" else {"reason": "Dubbel ingevoerd"}
    return send(client, token, f"/wijk/{slug}/bestuur/uitgaven/{expense_id}/{what}", data)


def entries(expense_id: int, kind: EntryKind) -> int:
    return db.session.scalar(
        select(func.count(LedgerEntry.id)).where(
            LedgerEntry.expense_id == expense_id, LedgerEntry.kind == kind
        )
    )


def audit_count(action: str, project: FundedProject) -> int:
    return audits(action, project.id, "funded_project")


def pdf_bytes() -> bytes:
    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.write(out)
    return out.getvalue()


PDF = pdf_bytes()


def test_board_members_approving_one_expense_at_once_book_it_once(scene, new_project, clients):
    board = clients(*both_board_members())
    for _ in repeat():
        project = new_project(100_000)
        expense_id = pending(scene, project, 25_000).id
        fresh()

        def contender(i: int, expense_id: int = expense_id) -> Any:  # the attempt's data, bound now
            client, token = board[i]
            return lambda: decide(client, token, scene.slug, expense_id, "goedkeuren")

        responses = race(N, contender)
        assert_no_server_errors(responses)
        codes = Counter(statuses(responses))
        assert set(codes) <= {303, 409} and codes[303] >= 1, codes
        fresh()
        assert db.session.get(Expense, expense_id).state == ExpenseState.APPROVED
        assert entries(expense_id, EntryKind.EXPENSE) == 1
        assert audit_count("expense.approve", project) == 1
        assert queries.project_money(project).spent == 25_000
        assert operations.verify(scene.wijk.id).ok


def test_expenses_recorded_and_approved_at_once_stay_within_the_grant(
    scene, new_project, clients, app
):
    """Two expenses wait (60.000 of a 100.000 grant) while the board approves them and the
    initiators record six more of 30.000: one more fits, never two."""
    board = clients("bestuur@example.org", "bestuur2@example.org")
    initiators = clients(*["initiatief@example.org"] * (N - 2))
    attempts = 0
    for _ in repeat():
        attempts += 1
        project = new_project(100_000)
        waiting = [pending(scene, project, 30_000).id for _ in range(2)]
        project_id = project.id
        fresh()

        def contender(
            i: int, waiting: list[int] = waiting, project_id: int = project_id
        ) -> Any:  # the attempt's data, bound now
            if i < 2:
                client, token = board[i]
                return lambda: decide(client, token, scene.slug, waiting[i], "goedkeuren")
            client, token = initiators[i - 2]
            form = {
                "csrf_token": token,
                "spent_on": (date.today() - timedelta(days=1)).isoformat(),
                "amount": "300,00",
                "payee": "Bouwmarkt",
                "payee_type": "company",
                "description": "Meer hout",
                "receipt": (io.BytesIO(PDF), "bon.pdf"),
            }
            return lambda: client.raw.post(
                f"/projecten/{project_id}/uitgaven/nieuw",
                data=form,
                content_type="multipart/form-data",
            )

        responses = race(N, contender)
        assert_no_server_errors(responses)
        codes = statuses(responses)
        assert codes[:2] == [303, 303], codes  # the approvals
        assert sorted(codes[2:]) == [303] + [422] * (N - 3), codes  # one recording fits
        fresh()
        money = queries.project_money(db.session.get(FundedProject, project_id))
        assert (money.spent, money.pending, money.granted) == (60_000, 30_000, 100_000)
        recorded = list(db.session.scalars(select(Expense).where(Expense.project_id == project_id)))
        assert len(recorded) == 3
        # a refused recording left no receipt on disk: one file per expense that has one
        stored = {p.name for p in receipts.receipt_dir(app).iterdir()}
        assert {e.receipt_name for e in recorded if e.receipt_name} <= stored
    assert len(list(receipts.receipt_dir(app).iterdir())) == attempts  # one fitted each time


def test_approvals_at_once_never_spend_more_than_the_grant(scene, new_project, clients):
    """Eight expenses of 30.000 wait on a 100.000 grant (written straight into the database, as
    a path that skipped the recording's check would): approved at once, three fit, never more."""
    board = clients(*both_board_members())
    for _ in repeat():
        project = new_project(100_000)
        for _ in range(N):
            db.session.add(
                Expense(
                    project_id=project.id,
                    neighbourhood_id=project.neighbourhood_id,
                    spent_on=date.today(),
                    amount_cents=30_000,
                    payee="Bouwmarkt",
                    payee_type=PayeeType.COMPANY,
                    description="Hout",
                    recorded_by_id=scene.initiator.id,
                )  # fmt: skip
            )
        db.session.commit()
        project_id = project.id
        waiting = list(
            db.session.scalars(select(Expense.id).where(Expense.project_id == project_id))
        )
        fresh()

        def contender(i: int, waiting: list[int] = waiting) -> Any:  # the attempt's data, bound now
            client, token = board[i]
            return lambda: decide(client, token, scene.slug, waiting[i], "goedkeuren")

        responses = race(N, contender)
        assert_no_server_errors(responses)
        assert sorted(statuses(responses)) == [303] * 3 + [422] * (N - 3)
        fresh()
        money = queries.project_money(db.session.get(FundedProject, project_id))
        assert money.spent == 90_000 and money.spent <= money.granted
        assert operations.verify(scene.wijk.id).ok


def test_reallocations_at_once_never_take_the_free_money_below_zero(scene, new_project, clients):
    board = clients(*both_board_members())
    for _ in repeat():
        # a project that stopped gives its 50.000 back: the wijk's free money grows
        stopped = new_project(50_000)
        operations.close_project(scene.board, stopped, ProjectStatus.STOPPED, "Gaat niet door")
        target = new_project(10_000)
        available = queries.wijk_available(scene.wijk)
        amount = available * 2 // 5  # two fit, a third does not
        target_id = target.id
        fresh()
        amount_text = f"{amount // 100},{amount % 100:02d}"

        def contender(
            i: int, target_id: int = target_id, amount_text: str = amount_text
        ) -> Any:  # the attempt's data, bound now
            client, token = board[i]
            url = f"/wijk/{scene.slug}/bestuur/projecten/{target_id}/extra-geld"
            form = {"csrf_token": token, "amount": amount_text, "reason": "Duurder hout"}
            return lambda: client.raw.post(url, data=form)

        responses = race(N, contender)
        assert_no_server_errors(responses)
        assert sorted(statuses(responses)) == [303] * 2 + [422] * (N - 2)
        fresh()
        left = queries.wijk_available(db.session.get(Neighbourhood, scene.wijk.id))
        assert left == available - 2 * amount and left >= 0
        assert queries.project_money(db.session.get(FundedProject, target_id)).granted == (
            10_000 + 2 * amount
        )
        assert operations.verify(scene.wijk.id).ok


@pytest.mark.parametrize("what", ["afwijzen", "terugdraaien", "goedkeuren-of-afwijzen"])
def test_one_decision_wins_when_the_board_decides_one_expense_at_once(
    scene, new_project, clients, what
):
    board = clients(*both_board_members())
    for _ in repeat():
        project = new_project(100_000)
        expense = pending(scene, project, 20_000)
        if what == "terugdraaien":
            operations.approve_expense(scene.board, expense)
        expense_id = expense.id
        fresh()

        def contender(i: int, expense_id: int = expense_id) -> Any:  # the attempt's data, bound now
            client, token = board[i]
            action = what if what != "goedkeuren-of-afwijzen" else ("goedkeuren", "afwijzen")[i % 2]
            return lambda: decide(client, token, scene.slug, expense_id, action)

        responses = race(N, contender)
        assert_no_server_errors(responses)
        codes = Counter(statuses(responses))
        assert set(codes) <= {303, 409} and codes[303] >= 1, codes
        fresh()
        state = db.session.get(Expense, expense_id).state
        decisions = sum(
            audit_count(action, project)
            for action in ("expense.approve", "expense.reject", "expense.reverse")
        )
        if what == "afwijzen":
            assert state == ExpenseState.REJECTED and decisions == 1
            assert entries(expense_id, EntryKind.EXPENSE) == 0
        elif what == "terugdraaien":
            assert state == ExpenseState.REVERSED and decisions == 2  # approved, then reversed
            assert entries(expense_id, EntryKind.EXPENSE) == 1
            assert entries(expense_id, EntryKind.CORRECTION) == 1
        else:
            assert state in (ExpenseState.APPROVED, ExpenseState.REJECTED) and decisions == 1
            booked = 1 if state == ExpenseState.APPROVED else 0
            assert entries(expense_id, EntryKind.EXPENSE) == booked
        assert operations.verify(scene.wijk.id).ok


def test_closing_a_project_while_expenses_are_recorded_and_approved(scene, new_project, clients):
    """Three board members' requests close the project, two approve its waiting expense, three
    initiators record a new one. Whatever order the database gives them: a closed project has
    nothing waiting and gave back exactly what it did not spend, once."""
    board = clients(*both_board_members(5))
    initiators = clients(*["initiatief@example.org"] * 3)
    for _ in repeat():
        project = new_project(100_000)
        waiting_id = pending(scene, project, 40_000).id
        project_id = project.id
        fresh()

        def contender(
            i: int, project_id: int = project_id, waiting_id: int = waiting_id
        ) -> Any:  # the attempt's data, bound now
            if i < 3:
                client, token = board[i]
                url = f"/wijk/{scene.slug}/bestuur/projecten/{project_id}/afsluiten"
                form = {"csrf_token": token, "status": "done", "note": "Klaar"}
                return lambda: client.raw.post(url, data=form)
            if i < 5:
                client, token = board[i]
                return lambda: decide(client, token, scene.slug, waiting_id, "goedkeuren")
            client, token = initiators[i - 5]
            form = {
                "csrf_token": token,
                "spent_on": date.today().isoformat(),
                "amount": "100,00",
                "payee": "Winkel",
                "payee_type": "company",
                "description": "Verf",
            }
            return lambda: client.raw.post(f"/projecten/{project_id}/uitgaven/nieuw", data=form)

        responses = race(N, contender)
        assert_no_server_errors(responses)
        fresh()
        project = db.session.get(FundedProject, project_id)
        money = queries.project_money(project)
        returns = db.session.scalar(
            select(func.count(LedgerEntry.id)).where(
                LedgerEntry.project_id == project_id, LedgerEntry.kind == EntryKind.RETURN
            )
        )
        assert money.spent <= money.granted
        if project.is_closed:
            assert money.pending == 0
            assert money.spent + money.returned == money.granted
            assert returns == (1 if money.returned else 0)
            assert audit_count("project.close", project) == 1
        else:
            assert returns == 0
        assert operations.verify(scene.wijk.id).ok
