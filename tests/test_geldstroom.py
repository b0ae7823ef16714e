"""The money from end to end: income recorded and confirmed with four eyes, the wijk's pot, a
round's budget drawn from it, what the result leaves flowing back, a project's expense and its
remainder back — every step a ledger entry, and the geldstroom page's totals the ledger's."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from wijkbudget.accounts.models import Role
from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db, utcnow
from wijkbudget.money import format_cents
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Phase
from wijkbudget.spending import flow, operations, queries
from wijkbudget.spending.models import (
    EntryKind,
    FundedProject,
    Income,
    IncomeState,
    LedgerEntry,
    NotAllowed,
    PayeeType,
    ProjectStatus,
    SpendingError,
)
from wijkbudget.usecase import Conflict


@pytest.fixture
def scene(make_wijk, make_user, make_round):
    wijk = make_wijk("Noord")
    other = make_wijk("Zuid", postcodes=((3581, 3585),), areas=("Wittevrouwen",))
    people = {
        "initiator": make_user("initiatief@example.org", wijk=wijk),
        "board": make_user("bestuur@example.org", wijk=wijk, roles=((Role.BOARD, wijk),)),
        "board2": make_user("bestuur2@example.org", wijk=wijk, roles=((Role.BOARD, wijk),)),
        "board_other": make_user("zuid@example.org", wijk=other, roles=((Role.BOARD, other),)),
    }
    rnd = make_round(wijk, Phase.VOTING, budget=1_000_000)
    return wijk, other, rnd, people


def income_form(amount: str = "45.000,00", **overrides: str) -> dict[str, str]:
    data = {
        "amount": amount,
        "source": "Gemeente Utrecht",
        "received_on": "2026-01-15",
        "purpose": "Wijkbudget 2026",
    }
    data.update(overrides)
    return data


def ledger_sums(wijk_id: int) -> dict[str, int]:
    """The ledger's own sums by kind, straight from its rows (corrections folded in by hand)."""
    entries = list(
        db.session.scalars(select(LedgerEntry).where(LedgerEntry.neighbourhood_id == wijk_id))
    )
    by_id = {e.id: e for e in entries}
    sums: dict[str, int] = {}
    for e in entries:
        kind = by_id[e.corrects_id].kind if e.corrects_id else e.kind
        sums[str(kind)] = sums.get(str(kind), 0) + e.amount_cents
    return sums


def shown(page: str, name: str) -> str:
    match = re.search(rf'data-sum="{name}">(?:<strong>)?([^<]*)<', page)
    assert match, name
    return match.group(1).strip()


def test_a_euro_followed_from_income_to_an_expense_and_back(scene, make_client, make_proposal):
    wijk, _other, rnd, people = scene
    henk, anouk = make_client(), make_client()
    henk.login(people["board"].email)
    anouk.login(people["board2"].email)
    board_page = f"/wijk/{wijk.slug}/bestuur/geld"

    # 1. income: recorded by one board member, not counted until a second one confirms it
    response = henk.post(f"{board_page}/inkomsten", income_form(), page=board_page)
    assert response.status_code == 303
    income = db.session.scalar(select(Income))
    assert income.state == IncomeState.PENDING and income.amount_cents == 4_500_000
    assert queries.wijk_available(wijk) == 0
    assert "Je hebt deze inkomsten zelf ingevoerd" in henk.get(board_page).get_data(as_text=True)
    refused = henk.post(f"{board_page}/inkomsten/{income.id}/bevestigen", {}, page=board_page)
    assert refused.status_code == 403
    confirmed = anouk.post(f"{board_page}/inkomsten/{income.id}/bevestigen", {}, page=board_page)
    assert confirmed.status_code == 303
    db.session.expire_all()
    assert income.state == IncomeState.CONFIRMED and income.confirmed_by_id == people["board2"].id
    assert income.entry.kind == EntryKind.INCOME and income.entry.amount_cents == 4_500_000
    assert queries.wijk_available(wijk) == 4_500_000

    # 2. the round's budget drawn from the pot
    response = henk.post(f"{board_page}/rondes/{rnd.id}/budget", {}, page=board_page)
    assert response.status_code == 303
    draw = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.DRAW))
    assert (draw.round_id, draw.amount_cents) == (rnd.id, 1_000_000)
    assert queries.wijk_available(wijk) == 3_500_000

    # 3. the result: the chosen projects take 5.000 of the 10.000; the rest flows back
    benches = make_proposal(rnd, people["initiator"], State.CHOSEN, title="Bankjes", cost=300_000)
    garden = make_proposal(rnd, people["initiator"], State.CHOSEN, title="Moestuin", cost=200_000)
    operations.grant_chosen(people["board"], rnd, [benches, garden], utcnow())
    back = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.ROUND_RETURN))
    assert (back.round_id, back.amount_cents) == (rnd.id, 500_000)
    assert queries.wijk_available(wijk) == 4_000_000

    # 4. an expense of a project, approved with four eyes; the project closes, its rest back
    project = db.session.scalar(
        select(FundedProject).where(FundedProject.proposal_id == benches.id)
    )
    data = operations.ExpenseData(
        spent_on=date.today(), amount_cents=120_000, payee="Bouwmarkt Noord",
        payee_type=PayeeType.COMPANY, description="Hout",
    )  # fmt: skip
    expense = operations.record_expense(people["initiator"], project, data, None)
    operations.approve_expense(people["board"], expense)
    operations.close_project(people["board2"], project, ProjectStatus.DONE, "Klaar")
    assert queries.wijk_available(wijk) == 4_000_000 + 180_000

    # the ledger holds each step, in order, and verifies
    kinds = list(
        db.session.scalars(
            select(LedgerEntry.kind)
            .where(LedgerEntry.neighbourhood_id == wijk.id)
            .order_by(LedgerEntry.seq)
        )
    )
    assert kinds == [
        EntryKind.INCOME, EntryKind.DRAW, EntryKind.GRANT, EntryKind.GRANT,
        EntryKind.ROUND_RETURN, EntryKind.EXPENSE, EntryKind.RETURN,
    ]  # fmt: skip
    assert operations.verify(wijk.id).ok

    # the geldstroom's totals are the ledger's and add up to the pot
    sums = ledger_sums(wijk.id)
    money = flow.wijk_flow(wijk)
    assert money.income == sums["income"] == 4_500_000
    assert money.drawn == sums["draw"] == 1_000_000
    assert money.rounds_back == sums["round_return"] == 500_000
    assert money.projects_back == sums["return"] == 180_000
    assert money.extra == sums.get("reallocation", 0) == 0
    assert (
        money.pot
        == queries.wijk_available(wijk)
        == (sums["income"] - sums["draw"] + sums["round_return"] + sums["return"])
    )
    (round_flow,) = money.rounds
    assert round_flow.drawn == round_flow.granted + round_flow.left_back == sums["draw"]
    assert round_flow.granted == sums["grant"] == 500_000
    assert round_flow.spent == sums["expense"] == 120_000
    assert round_flow.with_projects == 500_000 - 120_000 - 180_000

    page = make_client().get(f"/wijk/{wijk.slug}/geld/geldstroom").get_data(as_text=True)
    assert shown(page, "income") == "+ " + format_cents(sums["income"])
    assert shown(page, "drawn") == "− " + format_cents(sums["draw"])
    assert shown(page, "rounds-back") == "+ " + format_cents(sums["round_return"])
    assert shown(page, "projects-back") == "+ " + format_cents(sums["return"])
    assert shown(page, "pot") == format_cents(money.pot)
    assert "Gemeente Utrecht" in page and "Bankjes" in page and "Moestuin" in page
    assert f"/projecten/{project.id}#uitgaven" in page

    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"income.record", "income.confirm", "round.draw_budget"} <= actions


def test_four_eyes_and_an_income_counted_once(scene):
    wijk, _other, _rnd, people = scene
    data = operations.IncomeData(2_500_00, "Sponsor BV", date(2026, 2, 1), "Bankjes")
    income = operations.record_income(people["board"], wijk, data)
    with pytest.raises(NotAllowed):
        operations.confirm_income(people["board"], income)
    with pytest.raises(NotAllowed):
        operations.confirm_income(people["board_other"], income)
    operations.confirm_income(people["board2"], income)
    with pytest.raises(Conflict):
        operations.confirm_income(people["board2"], income)
    assert db.session.scalar(select(func.count()).where(LedgerEntry.kind == EntryKind.INCOME)) == 1
    # the database holds four eyes too: the recorder as confirmer is refused
    with pytest.raises(IntegrityError):
        db.session.execute(
            update(Income).where(Income.id == income.id).values(confirmed_by_id=people["board"].id)
        )
        db.session.flush()
    db.session.rollback()


def test_a_draw_is_refused_when_the_pot_holds_too_little(scene, make_client):
    wijk, _other, rnd, people = scene
    income = operations.record_income(
        people["board"], wijk, operations.IncomeData(600_000, "Gemeente", date(2026, 1, 1), "Pot")
    )
    operations.confirm_income(people["board2"], income)
    client = make_client()
    client.login(people["board"].email)
    board_page = f"/wijk/{wijk.slug}/bestuur/geld"
    response = client.post(f"{board_page}/rondes/{rnd.id}/budget", {}, page=board_page)
    assert response.status_code == 422
    assert "Er zit te weinig in de pot" in response.get_data(as_text=True)
    assert queries.wijk_available(wijk) == 600_000
    # with more money in the pot it goes; a second draw of the same budget is a conflict
    more = operations.record_income(
        people["board2"], wijk, operations.IncomeData(400_000, "Sponsor", date(2026, 1, 2), "Pot")
    )
    operations.confirm_income(people["board"], more)
    drawn = client.post(f"{board_page}/rondes/{rnd.id}/budget", {}, page=board_page)
    assert drawn.status_code == 303
    again = client.post(f"{board_page}/rondes/{rnd.id}/budget", {}, page=board_page)
    assert again.status_code == 409
    assert queries.wijk_available(wijk) == 0


def test_a_raised_budget_draws_the_difference_and_a_counted_round_draws_nothing(scene):
    wijk, _other, rnd, people = scene
    income = operations.record_income(
        people["board"], wijk, operations.IncomeData(2_000_000, "Gemeente", date(2026, 1, 1), "P")
    )
    operations.confirm_income(people["board2"], income)
    operations.draw_budget(people["board"], rnd)
    rnd.budget_cents = 1_200_000
    db.session.commit()
    entry = operations.draw_budget(people["board"], rnd)
    assert entry.amount_cents == 200_000
    assert operations.drawn_for_round(rnd.id) == 1_200_000
    # nothing chosen: the whole draw flows back once the result is final
    operations.grant_chosen(people["board"], rnd, [], utcnow())
    assert queries.wijk_available(wijk) == 2_000_000


def test_the_board_page_and_its_form(scene, make_client):
    wijk, other, _rnd, people = scene
    client = make_client()
    client.login(people["board"].email)
    board_page = f"/wijk/{wijk.slug}/bestuur/geld"
    assert client.get(board_page).status_code == 200
    response = client.post(
        f"{board_page}/inkomsten", income_form(amount="", source=""), page=board_page
    )
    assert response.status_code == 422
    assert "Vul in van wie het geld komt." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Income.id))) == 0
    # another wijk's income is not found through this wijk's board
    foreign = operations.record_income(
        people["board_other"], other, operations.IncomeData(100, "X", date(2026, 1, 1), "Y")
    )
    response = client.post(f"{board_page}/inkomsten/{foreign.id}/bevestigen", {}, page=board_page)
    assert response.status_code == 404


def test_verify_finds_income_booked_without_an_income(scene):
    wijk, _other, _rnd, people = scene
    operations.append(wijk.id, EntryKind.INCOME, 1_000, actor=people["board"], reason="?")
    db.session.commit()
    result = operations.verify(wijk.id)
    assert not result.ok and "Boeking 1 is inkomsten" in result.problem


def test_a_pending_income_is_shown_but_not_counted(scene, make_client):
    wijk, _other, _rnd, people = scene
    operations.record_income(
        people["board"], wijk, operations.IncomeData(1_000_000, "Fonds", date(2026, 3, 1), "Pot")
    )
    page = make_client().get(f"/wijk/{wijk.slug}/geld/geldstroom").get_data(as_text=True)
    assert shown(page, "pot") == format_cents(0)
    assert "wacht op bevestiging" in page


def test_the_record_refuses_an_empty_source(scene):
    wijk, _other, _rnd, people = scene
    with pytest.raises(SpendingError):
        operations.record_income(
            people["board"], wijk, operations.IncomeData(100, "  ", date(2026, 1, 1), "Pot")
        )


@pytest.mark.parametrize(
    "data",
    [
        {"amount": "abc", "received_on": "9999-99-99"},
        {"amount": "-5", "source": "x" * 161},
        {"amount": "99999999999999999999", "purpose": "y" * 301},
        {"amount": "0,00", "received_on": "1900-01-01"},
        {"amount": "=1+1", "source": "\x00"},
    ],
)
def test_odd_income_input_is_refused_with_a_message(scene, make_client, data):
    wijk, _other, _rnd, people = scene
    client = make_client()
    client.login(people["board"].email)
    board_page = f"/wijk/{wijk.slug}/bestuur/geld"
    response = client.post(f"{board_page}/inkomsten", income_form(**data), page=board_page)
    assert response.status_code in (400, 422)
    assert db.session.scalar(select(func.count(Income.id))) == 0
    assert (
        client.post(f"{board_page}/inkomsten/999999/bevestigen", {}, page=board_page).status_code
        == 404
    )
    assert client.post(f"{board_page}/rondes/999999/budget", {}, page=board_page).status_code == 404


def test_a_waiting_income_can_be_withdrawn_a_confirmed_one_not(scene, make_client):
    wijk, _other, _rnd, people = scene
    data = operations.IncomeData(4_500_000_00, "Gemeente", date(2026, 1, 1), "Een nul te veel")
    wrong = operations.record_income(people["board"], wijk, data)
    wrong_id = wrong.id
    client = make_client()
    client.login(people["board"].email)
    board_page = f"/wijk/{wijk.slug}/bestuur/geld"
    response = client.post(f"{board_page}/inkomsten/{wrong_id}/intrekken", {}, page=board_page)
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Income, wrong_id) is None
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "income.withdraw", AuditEvent.object_id == wrong_id
            )
        )
        == 1
    )
    assert queries.wijk_available(wijk) == 0
    right = operations.record_income(
        people["board"], wijk, operations.IncomeData(100_00, "Gemeente", date(2026, 1, 1), "Pot")
    )
    operations.confirm_income(people["board2"], right)
    refused = client.post(f"{board_page}/inkomsten/{right.id}/intrekken", {}, page=board_page)
    assert refused.status_code == 409
    assert queries.wijk_available(wijk) == 100_00


def test_verify_finds_a_round_return_that_does_not_add_up(scene, make_round):
    wijk, _other, rnd, people = scene
    income = operations.record_income(
        people["board"], wijk, operations.IncomeData(2_000_000, "Gemeente", date(2026, 1, 1), "P")
    )
    operations.confirm_income(people["board2"], income)
    operations.draw_budget(people["board"], rnd)
    operations.grant_chosen(people["board"], rnd, [], utcnow())
    assert operations.verify(wijk.id).ok  # all 10.000 back: drawn minus nothing granted
    # money "back" from a round that never drew any: made out of nothing
    undrawn = make_round(wijk, Phase.RESULT, title="Zonder pot")
    operations.append(
        wijk.id, EntryKind.ROUND_RETURN, 500, actor=people["board"], round_id=undrawn.id
    )
    db.session.commit()
    result = operations.verify(wijk.id)
    assert not result.ok and f"ronde {undrawn.id} terugging" in result.problem
