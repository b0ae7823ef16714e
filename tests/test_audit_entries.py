"""What the audit log says about the money and the moderation: the entry's action, role, object,
wijk and summary, for each decision (the operations write them through one helper each)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from wijkbudget.accounts.models import Role
from wijkbudget.audit.models import AuditEvent
from wijkbudget.dialogue import operations as dialogue
from wijkbudget.dialogue.models import Report
from wijkbudget.extensions import db, utcnow
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Phase
from wijkbudget.spending import operations
from wijkbudget.spending.models import FundedProject, PayeeType


def _entries(action: str) -> list[tuple[str, str, int | None, int | None, str, str]]:
    return [
        (e.actor_role, e.object_type or "", e.object_id, e.neighbourhood_id, e.before, e.after)
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    ]


@pytest.fixture
def project(make_wijk, make_user, make_round, make_proposal):
    wijk = make_wijk("Noord")
    initiator = make_user("initiatief@example.org", wijk=wijk)
    board = make_user("bestuur@example.org", wijk=wijk, roles=((Role.BOARD, wijk),))
    rnd = make_round(wijk, Phase.RESULT, budget=1_000_000)
    chosen = make_proposal(rnd, initiator, State.CHOSEN, title="Bankjes", cost=300_000)
    operations.grant_chosen(board, rnd, [chosen], utcnow())
    db.session.commit()
    return db.session.scalars(select(FundedProject)).one(), initiator, board


def _expense(initiator, project, amount: int):
    return operations.record_expense(
        initiator,
        project,
        operations.ExpenseData(
            spent_on=date.today() - timedelta(days=1),
            amount_cents=amount,
            payee="Bouwmarkt Noord",
            payee_type=PayeeType.COMPANY,
            description="Hout",
        ),
        None,
    )


def test_expense_decisions_are_filed_under_the_project(project):
    project, initiator, board = project
    wijk_id = project.neighbourhood_id
    first = _expense(initiator, project, 12_000)
    second = _expense(initiator, project, 3_000)
    entry = operations.approve_expense(board, first)
    operations.reject_expense(board, second, "Geen bon")
    correction = operations.reverse_expense(board, first, "Dubbel geboekt")

    on_project = ("funded_project", project.id, wijk_id, "")
    assert _entries("expense.record") == [
        ("resident", *on_project, f"uitgave={first.id}, bedrag=12000"),
        ("resident", *on_project, f"uitgave={second.id}, bedrag=3000"),
    ]
    assert _entries("expense.approve") == [
        ("board", *on_project, f"uitgave={first.id}, bedrag=12000, boeking={entry.seq}")
    ]
    assert _entries("expense.reject") == [
        ("board", *on_project, f"uitgave={second.id}, reden=Geen bon")
    ]
    assert _entries("expense.reverse") == [
        (
            "board",
            *on_project,
            f"uitgave={first.id}, boeking={correction.seq}, reden=Dubbel geboekt",
        )
    ]


def test_each_moderation_decision_handles_the_open_reports_and_is_logged(
    west, board, make_user, make_round, make_proposal
):
    people = [make_user(f"p{i}@example.org", wijk=west) for i in range(3)]
    rnd = make_round(west, Phase.REVIEW)
    thread = dialogue.thread_for_proposal(make_proposal(rnd, people[0], State.SUBMITTED))
    comment = dialogue.post_comment(people[0], thread, "Onaardig", now=utcnow() - timedelta(1))

    def report(who) -> None:
        dialogue.report_comment(who, comment, "Naar")

    def open_reports() -> int:
        db.session.expire_all()
        reports = db.session.scalars(select(Report).where(Report.comment_id == comment.id))
        return sum(1 for r in reports if r.handled_at is None)

    report(people[1])
    dialogue.hide_comment(board, comment, "persoonlijke aanval")
    assert open_reports() == 0 and comment.report_count == 0
    dialogue.restore_comment(board, comment)
    report(people[2])
    assert open_reports() == 1
    dialogue.dismiss_reports(board, comment)
    assert open_reports() == 0 and comment.report_count == 0

    on_comment = ("board", "comment", comment.id, west.id)
    assert _entries("comment.hide") == [(*on_comment, "", "reden=persoonlijke aanval")]
    assert _entries("comment.restore") == [(*on_comment, "reden=persoonlijke aanval", "")]
    assert _entries("comment.dismiss_reports") == [(*on_comment, "meldingen=1", "")]
