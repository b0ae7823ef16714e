"""The audit log in euros and names (issue 22): amounts as "€ 80,00", objects by kind and
title, people by their display name, phase dates in Dutch time with before and after each
their own; the recorded text itself stays as it was written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.test_spending import recorded, world  # noqa: F401 - the fixture
from wijkbudget.audit import render
from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db, utcnow
from wijkbudget.rounds import operations as rounds
from wijkbudget.rounds.models import Phase
from wijkbudget.spending import operations


def test_pairs_keep_a_reason_with_commas_whole():
    assert render.pairs("bedrag=8000, reden=Te duur, en te laat, boeking=3") == [
        ("bedrag", "8000"),
        ("reden", "Te duur, en te laat"),
        ("boeking", "3"),
    ]
    assert render.pairs("") == []


def test_the_audit_page_shows_euros_titles_and_names(world, make_client):  # noqa: F811
    wijk, _other, _rnd, people, projects = world
    bankjes = projects["Bankjes"]
    operations.set_treasurer(people["board"], bankjes, people["board2"])
    operations.set_treasurer(people["board"], bankjes, people["resident"])
    expense = recorded(people["initiator"], bankjes, 8_000)
    operations.approve_expense(people["board2"], expense)
    raw = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "expense.approve")).one()
    assert "bedrag=8000" in raw.after  # the log keeps what was recorded
    councillor = make_client()
    councillor.login("raad@example.org")
    page = councillor.get(f"/audit?subject=funded_project:{bankjes.id}").get_data(as_text=True)
    page = page.replace("\xa0", " ")  # (Babel puts a no-break space after the €)
    assert "€ 80,00" in page and "bedrag=8000" not in page
    assert "project &#39;Bankjes&#39;" in page or "project 'Bankjes'" in page
    assert f"funded_project {bankjes.id}" not in page  # (the filter field keeps its value)
    assert "penvoerder=" not in page
    assert f"penvoerder: {people['board2'].display_name}" in page
    assert f"penvoerder: {people['resident'].display_name}" in page


def test_an_extension_shows_the_end_before_and_after(voting_round, board, make_user, make_client):
    rnd, _proposals = voting_round
    end = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    rnd.result_opens = end
    db.session.commit()
    rounds.extend_voting(board, rnd, end + timedelta(days=3), "Brieven te laat")
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "round.extend_voting")
    ).one()
    words = render.events([event])[event.id]
    assert words.subject == f"ronde '{rnd.title}'"
    assert words.before.startswith("einde van de stemming: ")
    assert words.after.startswith("einde van de stemming: ")
    assert words.before != words.after.split(" · ")[0]
    assert "reden: Brieven te laat" in words.after


def test_a_round_edit_shows_what_changed_with_its_dates_before_and_after(west, board, make_round):
    rnd = make_round(west, Phase.REVIEW, title="Oud")
    data = rounds.RoundData(
        title="Nieuw", introduction="x", budget_cents=rnd.budget_cents,
        min_cost_cents=rnd.min_cost_cents, max_cost_cents=rnd.max_cost_cents,
        categories=[c.name for c in rnd.categories], criteria=[], support_enabled=True,
        dates={Phase.VOTING: datetime(2030, 3, 1, 9, 0, tzinfo=UTC)},
    )  # fmt: skip
    rounds.update_round(board, rnd, data)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "round.update")).one()
    words = render.events([event])[event.id]
    assert "budget" not in words.before and "budget" not in words.after  # unchanged: left out
    assert "titel: Oud" in words.before and "titel: Nieuw" in words.after
    assert "stemmen begint: 1 mrt 2030 10:00" in words.after  # in Dutch time
    assert "stemmen begint" not in words.before  # it had no date before
