"""Conversation after the vote (issue 22.7): a funded project and each of its expenses have a
wijkdialoog thread, with the same pace, moderation and notices as every other conversation,
open while the project runs and AFTER_CLOSE after the board closed it; another wijk's ids 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from tests.conftest import saved
from wijkbudget.accounts.models import Role, User
from wijkbudget.dialogue import operations as dialogue
from wijkbudget.dialogue.models import (
    AFTER_CLOSE,
    Comment,
    PendingNotice,
    PostingBlock,
    Thread,
    ThreadKind,
)
from wijkbudget.extensions import db, utcnow
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Phase
from wijkbudget.spending import operations as spending
from wijkbudget.spending.models import (
    Expense,
    FundedProject,
    PayeeType,
    ProjectStatus,
)


@dataclass
class Funded:
    wijk: object
    other: object
    project: FundedProject
    expense: Expense
    people: dict[str, User]

    @property
    def project_url(self) -> str:
        return f"/wijk/{self.wijk.slug}/projecten/{self.project.id}/gesprek"

    @property
    def expense_url(self) -> str:
        return f"/wijk/{self.wijk.slug}/projecten/{self.project.id}/uitgaven/{self.expense.id}"


@pytest.fixture
def funded(make_wijk, make_user, make_round, make_proposal) -> Funded:
    """A round with a result and one funded project with one expense (a private payee)."""
    wijk = make_wijk("Noord")
    other = make_wijk("Zuid", postcodes=((3581, 3585),), areas=("Wittevrouwen",))
    people = {
        "initiator": make_user("initiatief@example.org", wijk=wijk),
        "resident": make_user("bewoner@example.org", wijk=wijk),
        "resident2": make_user("buur@example.org", wijk=wijk),
        "outsider": make_user("zuid.bewoner@example.org", wijk=other),
        "board": make_user("bestuur@example.org", wijk=wijk, roles=((Role.BOARD, wijk),)),
    }
    rnd = make_round(wijk, Phase.RESULT, budget=1_000_000)
    benches = make_proposal(rnd, people["initiator"], State.CHOSEN, title="Bankjes", cost=300_000)
    spending.grant_chosen(people["board"], rnd, [benches], utcnow())
    db.session.commit()
    project = db.session.scalar(select(FundedProject))
    data = spending.ExpenseData(
        spent_on=date.today(), amount_cents=12_000, payee="Jan de Timmerman",
        payee_type=PayeeType.PRIVATE, description="Hout voor de bankjes",
    )  # fmt: skip
    expense = spending.record_expense(people["initiator"], project, data, None)
    return Funded(wijk, other, project, expense, people)


def threads() -> int:
    return db.session.scalar(select(func.count(Thread.id))) or 0


def test_a_resident_asks_about_a_funded_project(funded, make_client):
    client = make_client()
    client.login("bewoner@example.org")
    project_page = client.get(f"/projecten/{funded.project.id}").get_data(as_text=True)
    assert funded.project_url in project_page  # the project page leads to its conversation
    page = client.get(funded.project_url)
    assert page.status_code == 200 and "Nog geen vragen" in page.get_data(as_text=True)
    assert threads() == 0  # a GET makes no thread
    response = client.post(
        funded.project_url, {"body": "Wanneer komen de bankjes?"}, page=funded.project_url
    )
    assert response.status_code == 303
    thread = db.session.scalar(select(Thread).where(Thread.project_id == funded.project.id))
    assert thread is not None and thread.kind == ThreadKind.PROJECT
    assert thread.round_id == funded.project.round_id
    assert f"/gesprekken/{thread.id}#reactie-" in response.headers["Location"]
    shown = client.get(f"/gesprekken/{thread.id}").get_data(as_text=True)
    assert "Wanneer komen de bankjes?" in shown and f"/projecten/{funded.project.id}" in shown
    # from now on the project's conversation is that thread; a second question joins it
    assert client.get(funded.project_url).status_code == 303
    other = make_client()
    other.login("buur@example.org")
    second = other.post(funded.project_url, {"body": "Ook bij de speeltuin?"}, page="/")
    assert second.status_code == 303
    assert threads() == 1
    db.session.expire_all()
    assert db.session.get(Thread, thread.id).comment_count == 2
    # the initiator hears of it (their digest), as the author of a proposal does
    initiator = funded.people["initiator"].id
    assert (
        db.session.scalar(
            select(func.count(PendingNotice.id)).where(PendingNotice.user_id == initiator)
        )
        == 2
    )


def test_each_expense_has_a_page_and_a_conversation(funded, make_client):
    client = make_client()
    client.login("bewoner@example.org")
    project_page = client.get(f"/projecten/{funded.project.id}").get_data(as_text=True)
    assert funded.expense_url in project_page
    page = client.get(funded.expense_url)
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Hout voor de bankjes" in body and "120,00" in body
    assert "Jan de Timmerman" not in body and "particulier" in body  # a private payee stays so
    response = client.post(
        funded.expense_url + "/gesprek", {"body": "Waarom dit hout?"}, page=funded.expense_url
    )
    assert response.status_code == 303
    thread = db.session.scalar(select(Thread).where(Thread.expense_id == funded.expense.id))
    assert thread is not None and thread.kind == ThreadKind.EXPENSE and thread.project_id is None
    assert "Lees het gesprek (1 reactie)" in client.get(funded.expense_url).get_data(as_text=True)
    # the board sees the payee
    board = make_client()
    board.login("bestuur@example.org")
    assert "Jan de Timmerman" in board.get(funded.expense_url).get_data(as_text=True)


def test_another_wijks_ids_are_404(funded, make_client, make_proposal):
    client = make_client()
    client.login("bewoner@example.org")
    zuid = funded.other.slug
    for url in (
        f"/wijk/{zuid}/projecten/{funded.project.id}/gesprek",
        f"/wijk/{zuid}/projecten/{funded.project.id}/uitgaven/{funded.expense.id}",
        f"/wijk/{funded.wijk.slug}/projecten/{funded.project.id + 99}/gesprek",
        f"/wijk/{funded.wijk.slug}/projecten/{funded.project.id}/uitgaven/{funded.expense.id + 99}",
    ):
        assert client.get(url).status_code == 404, url
    posted = client.post(
        f"/wijk/{zuid}/projecten/{funded.project.id}/gesprek", {"body": "Hoi"}, page="/"
    )
    assert posted.status_code == 404
    posted = client.post(
        f"/wijk/{zuid}/projecten/{funded.project.id}/uitgaven/{funded.expense.id}/gesprek",
        {"body": "Hoi"},
        page="/",
    )
    assert posted.status_code == 404
    assert threads() == 0


def test_an_expense_of_another_project_is_404(funded, make_proposal, make_client):
    rnd = funded.project.round
    second = make_proposal(rnd, funded.people["resident"], State.CHOSEN, title="Moestuin")
    spending.grant_chosen(funded.people["board"], rnd, [second], utcnow())
    db.session.commit()
    other_project = db.session.scalar(
        select(FundedProject).where(FundedProject.proposal_id == second.id)
    )
    url = f"/wijk/{funded.wijk.slug}/projecten/{other_project.id}/uitgaven/{funded.expense.id}"
    assert make_client().get(url).status_code == 404
    own = url.replace(f"/{other_project.id}/", f"/{funded.project.id}/")
    assert make_client().get(own).status_code == 200


def test_the_same_rules_as_the_wijkdialoog(funded, make_client):
    """Only the wijk talks; the pace of one comment per 30 seconds; a block holds; a refused
    first question leaves no empty thread."""
    outsider = make_client()
    outsider.login("zuid.bewoner@example.org")
    page = outsider.get(funded.project_url).get_data(as_text=True)
    assert 'name="body"' not in page
    refused = outsider.post(funded.project_url, {"body": "Mag ik?"}, page="/")
    assert refused.status_code == 422 and threads() == 0
    client = make_client()
    client.login("bewoner@example.org")
    assert client.post(funded.project_url, {"body": "Eerste"}, page="/").status_code == 303
    thread = db.session.scalar(select(Thread).where(Thread.project_id == funded.project.id))
    too_fast = client.post(funded.expense_url + "/gesprek", {"body": "Tweede"}, page="/")
    assert too_fast.status_code == 429 and "30 seconden" in too_fast.get_data(as_text=True)
    assert (
        db.session.scalar(select(func.count(Thread.id)).where(Thread.expense_id.is_not(None))) == 0
    )
    saved(
        PostingBlock(
            neighbourhood_id=funded.wijk.id,
            user_id=funded.people["resident2"].id,
            until=utcnow() + timedelta(days=7),
            reason="Schelden",
            created_by_id=funded.people["board"].id,
        )
    )
    blocked = make_client()
    blocked.login("buur@example.org")
    response = blocked.post(f"/gesprekken/{thread.id}/reacties", {"body": "Hoi"}, page="/")
    assert response.status_code == 422 and "Schelden" in response.get_data(as_text=True)
    # moderation: a report by a resident, and the board hides it, as anywhere in the dialogue
    comment = db.session.scalar(select(Comment).where(Comment.thread_id == thread.id))
    dialogue.report_comment(funded.people["initiator"], comment, "Klopt niet")
    dialogue.hide_comment(funded.people["board"], comment, "Persoonlijke gegevens")
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).is_hidden


def test_a_visitor_reads_but_logs_in_to_ask(funded, make_client):
    client = make_client()
    page = client.get(funded.project_url).get_data(as_text=True)
    assert "Log in om mee te praten." in page and 'name="body"' not in page
    response = client.post(funded.project_url, {"body": "Hoi"}, page="/")
    assert response.status_code in (302, 303) and "/inloggen" in response.headers["Location"]


def close(project: FundedProject, days_ago: int) -> None:
    db.session.execute(
        update(FundedProject)
        .where(FundedProject.id == project.id)
        .values(status=ProjectStatus.DONE, closed_at=utcnow() - timedelta(days=days_ago))
    )
    db.session.commit()


def test_open_while_the_project_runs_and_a_while_after_it_closed(funded, make_client):
    client = make_client()
    client.login("bewoner@example.org")
    assert client.post(funded.project_url, {"body": "Loopt het?"}, page="/").status_code == 303
    thread = db.session.scalar(select(Thread).where(Thread.project_id == funded.project.id))
    db.session.execute(update(Comment).values(created_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    close(funded.project, days_ago=AFTER_CLOSE.days - 1)
    page = client.get(f"/gesprekken/{thread.id}").get_data(as_text=True)
    assert "gesloten" not in page
    assert "sluit op" in client.get(funded.expense_url).get_data(as_text=True)
    url = f"/gesprekken/{thread.id}/reacties"
    assert client.post(url, {"body": "Mooi gedaan"}, page="/").status_code == 303
    db.session.execute(update(Comment).values(created_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    close(funded.project, days_ago=AFTER_CLOSE.days + 1)
    response = client.post(url, {"body": "Nog een vraag"}, page="/")
    assert response.status_code == 422
    assert "het project is al een tijd afgerond" in response.get_data(as_text=True)
    closed_page = client.get(f"/gesprekken/{thread.id}").get_data(as_text=True)
    assert "Je kunt het nog wel lezen" in closed_page and "Nog een vraag" not in closed_page
    assert (
        client.post(funded.expense_url + "/gesprek", {"body": "En dit?"}, page="/").status_code
        == 422
    )
    assert db.session.scalar(select(func.count(Thread.id))) == 1


def test_a_thread_is_about_one_thing_at_most(funded):
    thread = Thread.about_project(funded.project)
    thread.expense_id = funded.expense.id
    db.session.add(thread)
    with pytest.raises(Exception):  # noqa: B017 - IntegrityError of the check constraint
        db.session.flush()
    db.session.rollback()
    assert saved(Thread.about_expense(funded.expense)).id is not None
