"""The councillor's audit desk judges an approval by who was involved *when it was made*
(issue 22): a rejected expense is never "approved by someone involved", and an approval made
before the approver became treasurer is not flagged; an approval by the treasurer of that
moment, the recorder or an author is, also after the treasurer changed or the expense was
reversed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.test_spending import recorded, world  # noqa: F401 - the fixture
from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db, utcnow
from wijkbudget.spending import operations
from wijkbudget.spending.flags import flags, treasurer_terms
from wijkbudget.spending.models import ExpenseState


def involved(wijk) -> list[int]:
    return [f.expense.id for f in flags(wijk) if f.kind == "involved" and f.expense]


def _approved_directly(expense, who, when) -> None:
    """An approval the application would refuse today, as old data or a bug could hold it."""
    expense.state = ExpenseState.APPROVED
    expense.decided_by_id = who.id
    expense.decided_at = when
    db.session.commit()


def _treasurer_event_at(project, when) -> None:
    """Date the latest treasurer change of ``project`` (the test's clock, not the machine's)."""
    event = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "project.treasurer", AuditEvent.object_id == project.id)
        .order_by(AuditEvent.id.desc())
    ).first()
    event.created_at = when
    db.session.commit()


def test_a_rejected_expense_is_never_flagged_as_approved_by_someone_involved(world):  # noqa: F811
    wijk, _other, _rnd, people, projects = world
    bankjes = projects["Bankjes"]
    expense = recorded(people["initiator"], bankjes)
    operations.reject_expense(people["board2"], expense, "Geen bon")
    # later the one who rejected it becomes the project's treasurer
    operations.set_treasurer(people["board"], bankjes, people["board2"])
    assert involved(wijk) == []
    # and a rejection recorded by the recorder (old data) is no approval either
    expense.decided_by_id = expense.recorded_by_id
    db.session.commit()
    assert involved(wijk) == []


def test_an_approval_before_someone_became_treasurer_is_not_flagged(world):  # noqa: F811
    wijk, _other, _rnd, people, projects = world
    bankjes = projects["Bankjes"]
    expense = recorded(people["initiator"], bankjes)
    operations.approve_expense(people["board2"], expense)
    expense.decided_at = utcnow() - timedelta(days=10)
    db.session.commit()
    operations.set_treasurer(people["board"], bankjes, people["board2"])
    assert involved(wijk) == []
    operations.set_treasurer(people["board"], bankjes, None)  # and after the term ended
    assert involved(wijk) == []


def test_an_approval_by_the_treasurer_of_that_moment_is_flagged(world):  # noqa: F811
    wijk, _other, _rnd, people, projects = world
    bankjes = projects["Bankjes"]
    operations.set_treasurer(people["board"], bankjes, people["board2"])
    _treasurer_event_at(bankjes, utcnow() - timedelta(days=20))
    expense = recorded(people["initiator"], bankjes)
    _approved_directly(expense, people["board2"], utcnow() - timedelta(days=5))
    assert involved(wijk) == [expense.id]
    # the treasurer changed since: the approval was still made by the treasurer of then
    operations.set_treasurer(people["board"], bankjes, people["resident"])
    terms = treasurer_terms([bankjes])[bankjes.id]
    assert [t.user_id for t in terms] == [people["board2"].id, people["resident"].id]
    assert involved(wijk) == [expense.id]
    # reversed later, it was still approved by someone involved
    expense.state = ExpenseState.REVERSED
    db.session.commit()
    assert involved(wijk) == [expense.id]


def test_an_approval_by_the_recorder_or_an_author_is_flagged(world):  # noqa: F811
    wijk, _other, _rnd, people, projects = world
    moestuin = projects["Moestuin"]
    operations.set_treasurer(people["board"], moestuin, people["board2"])
    by_recorder = recorded(people["board2"], moestuin)  # recorded as treasurer, then no longer
    operations.set_treasurer(people["board"], moestuin, None)
    _approved_directly(by_recorder, people["board2"], utcnow() + timedelta(minutes=1))
    by_author = recorded(people["resident"], moestuin)  # the author of Moestuin
    _approved_directly(by_author, people["resident"], utcnow())
    assert sorted(involved(wijk)) == sorted([by_recorder.id, by_author.id])


def test_the_desk_names_the_flag(world, make_client):  # noqa: F811
    wijk, _other, _rnd, people, projects = world
    expense = recorded(people["resident"], projects["Moestuin"])
    _approved_directly(expense, people["resident"], utcnow())
    councillor = make_client()
    councillor.login("raad@example.org")
    page = councillor.get(f"/wijk/{wijk.slug}/controle").get_data(as_text=True)
    assert "op dat moment zelf bij het project" in page
