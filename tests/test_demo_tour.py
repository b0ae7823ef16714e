"""The README's tour of the demo holds: every login its table names is one the demo makes and
prints, signs in (staff with the demo's second-factor key) and sees what the README says it
does; the demo has two board members per wijk, a closed round with a result and spending, and
a conversation after the vote."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from wijkbudget.accounts.models import Role, RoleAssignment
from wijkbudget.demo import DEMO_PASSWORD, seed_demo_data
from wijkbudget.dialogue.models import Comment, Thread
from wijkbudget.extensions import db
from wijkbudget.neighbourhoods.models import Neighbourhood
from wijkbudget.results.models import Result
from wijkbudget.rounds.models import Phase, Round
from wijkbudget.spending.models import Expense, ExpenseState, FundedProject

README = Path(__file__).resolve().parents[1] / "README.md"

#: per login of the README's table: a page and what it shows that login (as the tour says)
SEES = {
    "fatima@example.org": ("/mijn", "Bloembakken in de Kanaalstraat"),
    "priya@example.org": ("/account", "Oost"),
    "bestuur.west@example.org": ("/wijk/west/bestuur/uitgaven", "Vrijwilligersvergoeding"),
    "penningmeester.west@example.org": ("/wijk/west/bestuur/geld", "Wijkbudget West 2027"),
    "bestuur.oost@example.org": ("/wijk/oost/rondes", "Nieuwe ronde"),
    "penningmeester.oost@example.org": ("/wijk/oost/rondes", "Nieuwe ronde"),
    "raadslid@example.org": ("/controle", "Oost"),
    "beheer@example.org": ("/beheer/wijken", "Oost"),
}


def readme_logins() -> list[str]:
    return re.findall(r"^\| `([a-z.]+@example\.org)` \|", README.read_text(), re.M)


@pytest.fixture
def demo(app):
    return seed_demo_data()


def test_the_readme_names_every_printed_login(demo):
    named = readme_logins()
    assert len(named) == len(set(named)) >= 8
    assert set(named) == {login for login, _what in demo}
    assert set(named) == set(SEES), "a login in the README needs what it sees here"
    text = README.read_text()
    for step in ("Vragen over dit project", "Stuur de bevestigingsmail opnieuw", "PORT=8080"):
        assert step in text


def test_two_board_members_per_wijk_a_closed_round_and_its_spending(demo):
    for wijk in db.session.scalars(select(Neighbourhood)):
        members = db.session.scalar(
            select(func.count(RoleAssignment.id)).where(
                RoleAssignment.role == Role.BOARD, RoleAssignment.neighbourhood_id == wijk.id
            )
        )
        assert members == 2, wijk.name
    past = db.session.scalar(select(Round).where(Round.title == "Wijkbudget West 2026"))
    assert past.phase == Phase.RESULT
    assert db.session.scalar(select(Result).where(Result.round_id == past.id))
    projects = db.session.scalars(select(FundedProject).where(FundedProject.round_id == past.id))
    assert len(list(projects)) == 4
    states = set(db.session.scalars(select(Expense.state)))
    assert {ExpenseState.APPROVED, ExpenseState.PENDING} <= states
    thread = db.session.scalar(select(Thread).where(Thread.project_id.is_not(None)))
    assert thread is not None
    bodies = db.session.scalars(select(Comment).where(Comment.thread_id == thread.id)).all()
    assert len(bodies) == 2 and any(c.is_board_response for c in bodies)


def test_every_login_of_the_tour_signs_in_and_sees_what_the_readme_says(demo, make_client):
    for login in readme_logins():
        client = make_client()
        client.login(login, DEMO_PASSWORD)
        start = client.get("/mijn")
        assert start.status_code == 200, login
        page, shows = SEES[login]
        response = client.get(page)
        assert response.status_code == 200, (login, page)
        assert shows in response.get_data(as_text=True), (login, page, shows)


def test_the_question_after_the_vote_is_in_the_tour(demo, make_client):
    thread = db.session.scalar(select(Thread).where(Thread.project_id.is_not(None)))
    project = db.session.get(FundedProject, thread.project_id)
    client = make_client()
    page = client.get(f"/projecten/{project.id}").get_data(as_text=True)
    assert "Vragen over dit project" in page
    conversation = client.get(f"/gesprekken/{thread.id}").get_data(as_text=True)
    assert "Wanneer komen de bankjes er?" in conversation and "Het hout is binnen" in conversation
