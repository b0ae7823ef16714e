"""Races of the conversation after the vote, against the real PostgreSQL: the first question
about a funded project (or an expense) makes its thread, so N people asking at the same instant
must make ONE thread holding all N questions (the project's lock, and the unique
thread.project_id / thread.expense_id), and no request gets a 5xx."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, func, select

from tests.concurrency import count, fresh, postgres_only, press_at_once, repeat
from wijkbudget.accounts.models import Role
from wijkbudget.dialogue.models import Comment, PendingNotice, Thread
from wijkbudget.extensions import db, utcnow
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Phase
from wijkbudget.spending import operations as spending
from wijkbudget.spending.models import FundedProject, PayeeType

pytestmark = postgres_only

N = 6


@pytest.fixture
def scene(make_wijk, make_user, make_round, make_proposal):
    wijk = make_wijk("Noord")
    initiator = make_user("initiatief@example.org", wijk=wijk)
    board = make_user("bestuur@example.org", wijk=wijk, roles=((Role.BOARD, wijk),))
    residents = [make_user(f"buur{i}@example.org", wijk=wijk) for i in range(N)]
    rnd = make_round(wijk, Phase.RESULT, budget=1_000_000)
    chosen = make_proposal(rnd, initiator, State.CHOSEN, title="Bankjes", cost=300_000)
    spending.grant_chosen(board, rnd, [chosen], utcnow())
    db.session.commit()
    project = db.session.scalar(select(FundedProject))
    data = spending.ExpenseData(
        spent_on=date.today(), amount_cents=5_000, payee="Houthandel",
        payee_type=PayeeType.COMPANY, description="Hout",
    )  # fmt: skip
    expense = spending.record_expense(initiator, project, data, None)
    return wijk.slug, project.id, expense.id, residents


def _forget_threads() -> None:
    db.session.execute(delete(PendingNotice))
    db.session.execute(delete(Comment))
    db.session.execute(delete(Thread))
    db.session.commit()


@pytest.mark.parametrize("about", ["project", "expense"])
def test_first_questions_at_once_make_one_thread(scene, clients, about):
    slug, project_id, expense_id, residents = scene
    tabs = clients(*(r.email for r in residents))
    if about == "project":
        url = f"/wijk/{slug}/projecten/{project_id}/gesprek"
        column = Thread.project_id
        subject = project_id
    else:
        url = f"/wijk/{slug}/projecten/{project_id}/uitgaven/{expense_id}/gesprek"
        column = Thread.expense_id
        subject = expense_id
    for _attempt in repeat():
        _forget_threads()
        responses = press_at_once(tabs, url, lambda i: {"body": f"Vraag {i}"})
        assert [r.status_code for r in responses] == [303] * N
        fresh()
        assert count(Thread) == 1
        thread = db.session.scalar(select(Thread).where(column == subject))
        assert thread is not None
        assert count(Comment, Comment.thread_id == thread.id) == N
        assert thread.comment_count == N and thread.participant_count == N
        # everyone's question is their first turn in the thread
        turns = db.session.scalars(select(Comment.author_turn)).all()
        assert sorted(turns) == [1] * N
        assert db.session.scalar(select(func.count(func.distinct(Comment.author_id)))) == N
