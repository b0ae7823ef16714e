"""Races on the wijk's pot, against the real PostgreSQL: draws at the same instant that together
ask more than the pot holds (some refused, the pot never below zero), one round's draw pressed
in many tabs (drawn once), and one income confirmed by many at once (counted once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from tests.concurrency import (
    BoardScene,
    assert_no_server_errors,
    audits,
    board_scene,
    count,
    fresh,
    postgres_only,
    race,
    repeat,
    statuses,
)
from wijkbudget.extensions import db
from wijkbudget.neighbourhoods.models import Neighbourhood
from wijkbudget.rounds.models import Phase
from wijkbudget.spending import operations, queries
from wijkbudget.spending.models import EntryKind, Income, IncomeState, LedgerEntry

pytestmark = postgres_only

N = 8


@dataclass
class Scene(BoardScene):
    pass


@pytest.fixture
def scene(make_wijk, make_user) -> Scene:
    return Scene(**board_scene(make_wijk, make_user))


def both_board_members(n: int = N) -> list[str]:
    return ["bestuur@example.org" if i % 2 == 0 else "bestuur2@example.org" for i in range(n)]


def fill_pot(scene: Scene, cents: int) -> None:
    """Income of ``cents`` recorded by one board member and confirmed by the other."""
    data = operations.IncomeData(cents, "Gemeente", date(2026, 1, 1), "Wijkbudget")
    operations.confirm_income(scene.board2, operations.record_income(scene.board, scene.wijk, data))


def pot(scene: Scene) -> int:
    """What the pot holds now, read afresh."""
    return queries.wijk_available(db.session.get(Neighbourhood, scene.wijk.id))


def test_draws_at_once_never_take_the_pot_below_zero(scene, make_round, clients):
    board = clients(*both_board_members())
    for attempt in repeat():
        budget = 1_000_000
        fill_pot(scene, 2 * budget + budget // 2 - pot(scene))  # two budgets fit, a third not
        before = pot(scene)
        rounds = [
            make_round(scene.wijk, Phase.VOTING, title=f"Ronde {attempt}-{i}", budget=budget)
            for i in range(N)
        ]
        round_ids = [r.id for r in rounds]
        fresh()

        def contender(i: int, round_ids: list[int] = round_ids) -> Any:
            client, token = board[i]
            url = f"/wijk/{scene.slug}/bestuur/geld/rondes/{round_ids[i]}/budget"
            return lambda: client.raw.post(url, data={"csrf_token": token})

        responses = race(N, contender)
        assert_no_server_errors(responses)
        assert sorted(statuses(responses)) == [303] * 2 + [422] * (N - 2)
        fresh()
        left = pot(scene)
        assert left == before - 2 * budget and left >= 0
        drawn = count(
            LedgerEntry, LedgerEntry.kind == EntryKind.DRAW, LedgerEntry.round_id.in_(round_ids)
        )
        assert drawn == 2
        assert operations.verify(scene.wijk.id).ok


def test_one_rounds_draw_pressed_in_many_tabs_is_drawn_once(scene, make_round, clients):
    board = clients(*both_board_members())
    for attempt in repeat():
        fill_pot(scene, 1_000_000)
        rnd = make_round(scene.wijk, Phase.SUBMISSION, title=f"Ronde {attempt}", budget=500_000)
        round_id = rnd.id
        before = pot(scene)
        fresh()

        def contender(i: int, round_id: int = round_id) -> Any:
            client, token = board[i]
            url = f"/wijk/{scene.slug}/bestuur/geld/rondes/{round_id}/budget"
            return lambda: client.raw.post(url, data={"csrf_token": token})

        responses = race(N, contender)
        assert_no_server_errors(responses)
        assert sorted(statuses(responses)) == [303] + [409] * (N - 1)
        fresh()
        assert operations.drawn_for_round(round_id) == 500_000
        assert pot(scene) == before - 500_000
        assert audits("round.draw_budget", round_id, "budget_round") == 1


def test_an_income_confirmed_at_once_is_counted_once(scene, clients):
    # the recorder cannot confirm: every contender is the second board member, in N tabs
    tabs = clients(*["bestuur2@example.org"] * N)
    for attempt in repeat():
        data = operations.IncomeData(250_000 + attempt, "Sponsor", date(2026, 2, 1), "Bankjes")
        income = operations.record_income(scene.board, scene.wijk, data)
        income_id = income.id
        before = pot(scene)
        fresh()

        def contender(i: int, income_id: int = income_id) -> Any:
            client, token = tabs[i]
            url = f"/wijk/{scene.slug}/bestuur/geld/inkomsten/{income_id}/bevestigen"
            return lambda: client.raw.post(url, data={"csrf_token": token})

        responses = race(N, contender)
        assert_no_server_errors(responses)
        assert sorted(statuses(responses)) == [303] + [409] * (N - 1)
        fresh()
        income = db.session.get(Income, income_id)
        assert income.state == IncomeState.CONFIRMED
        booked = db.session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.kind == EntryKind.INCOME, LedgerEntry.id == income.entry_id
            )
        ).all()
        assert len(booked) == 1 and booked[0].amount_cents == 250_000 + attempt
        assert count(LedgerEntry, LedgerEntry.kind == EntryKind.INCOME) == attempt + 1
        assert pot(scene) == before + 250_000 + attempt
        assert audits("income.confirm", income_id, "wijk_income") == 1
        assert operations.verify(scene.wijk.id).ok


def test_a_confirmation_and_a_withdrawal_at_once_one_wins(scene, clients):
    tabs = clients(*["bestuur2@example.org", "bestuur@example.org"] * (N // 2))
    for attempt in repeat():
        data = operations.IncomeData(100_000 + attempt, "Sponsor", date(2026, 2, 1), "Bankjes")
        income_id = operations.record_income(scene.board, scene.wijk, data).id
        before = pot(scene)
        fresh()

        def contender(i: int, income_id: int = income_id) -> Any:
            client, token = tabs[i]
            what = "bevestigen" if i % 2 == 0 else "intrekken"
            url = f"/wijk/{scene.slug}/bestuur/geld/inkomsten/{income_id}/{what}"
            return lambda: client.raw.post(url, data={"csrf_token": token})

        responses = race(N, contender)
        assert_no_server_errors(responses)
        codes = statuses(responses)
        # one wins; the others are told it was done (409), or, once withdrawn, gone (404)
        assert codes.count(303) == 1 and set(codes) <= {303, 404, 409}, codes
        fresh()
        income = db.session.get(Income, income_id)
        booked = count(
            LedgerEntry,
            LedgerEntry.kind == EntryKind.INCOME,
            LedgerEntry.amount_cents == 100_000 + attempt,
        )
        if income is None:  # withdrawn first: never counted
            assert booked == 0 and pot(scene) == before
        else:  # confirmed first: booked once, and it stays
            assert income.state == IncomeState.CONFIRMED and booked == 1
            assert pot(scene) == before + 100_000 + attempt
        assert operations.verify(scene.wijk.id).ok
