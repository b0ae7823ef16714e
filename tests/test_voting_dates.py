"""Issue 22, exact tools: once voting has opened its dates are frozen (the round form refuses a
change of voting's start and end and of the phases before it); the one change left is a later
end of voting with a public reason, shown on the round page and logged with before and after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.test_rounds import edit_form
from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db, utcnow
from wijkbudget.i18n import utc_to_local
from wijkbudget.rounds import operations
from wijkbudget.rounds.models import Phase, RoundError, VotingExtension
from wijkbudget.usecase import Conflict


def _local(when: datetime) -> str:
    return f"{utc_to_local(when):%Y-%m-%dT%H:%M}"


@pytest.fixture
def ends_soon(voting_round):
    """West's round in voting since yesterday, ending in two days (to the minute)."""
    rnd, _proposals = voting_round
    now = utcnow().replace(second=0, microsecond=0)
    rnd.voting_opens = now - timedelta(days=1)
    rnd.result_opens = now + timedelta(days=2)
    db.session.commit()
    return rnd


@pytest.fixture
def board_client(board, make_client):
    client = make_client()
    client.login(board.email)
    return client


def _edit(board_client, rnd, **dates):
    page = f"/wijk/{rnd.neighbourhood.slug}/bestuur/rondes/{rnd.id}/bewerken"
    now = {
        "budget": "5.000",  # the rules of ``voting_round``, unchanged
        "max_cost": "4.000",
        "voting_opens": _local(rnd.voting_opens),
        "result_opens": _local(rnd.result_opens),
    }
    form = edit_form(**{**now, **dates})
    return board_client.post(page, form, page=page)


def test_the_form_cannot_move_the_end_of_voting_once_it_opened(ends_soon, board_client):
    end = ends_soon.result_opens
    page = f"/wijk/{ends_soon.neighbourhood.slug}/bestuur/rondes/{ends_soon.id}/bewerken"
    assert "einde van de stemming liggen vast" in board_client.get(page).get_data(as_text=True)
    response = _edit(board_client, ends_soon, result_opens=_local(end + timedelta(days=3)))
    assert response.status_code == 422
    assert "de datums van het stemmen" in response.get_data(as_text=True)
    db.session.expire_all()
    assert ends_soon.result_opens == end


def test_the_form_cannot_move_the_start_of_voting_or_clear_the_end(ends_soon, board_client):
    opened, end = ends_soon.voting_opens, ends_soon.result_opens
    moved = _edit(board_client, ends_soon, voting_opens=_local(opened + timedelta(hours=1)))
    assert moved.status_code == 422
    assert "de datums van het stemmen" in moved.get_data(as_text=True)
    cleared = _edit(board_client, ends_soon, result_opens="")
    assert cleared.status_code == 422
    db.session.expire_all()
    assert (ends_soon.voting_opens, ends_soon.result_opens) == (opened, end)


def test_the_same_dates_and_a_later_phase_may_still_be_saved(ends_soon, board_client):
    later = ends_soon.result_opens + timedelta(days=30)
    response = _edit(board_client, ends_soon, execution_opens=_local(later), title="Nieuwe titel")
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    db.session.expire_all()
    assert ends_soon.title == "Nieuwe titel" and ends_soon.execution_opens == later


def test_before_voting_the_dates_can_still_move(west, board, make_round):
    rnd = make_round(west, Phase.REVIEW)
    data = operations.RoundData(
        title=rnd.title, introduction="x", budget_cents=rnd.budget_cents,
        min_cost_cents=rnd.min_cost_cents, max_cost_cents=rnd.max_cost_cents,
        categories=[c.name for c in rnd.categories], criteria=[], support_enabled=True,
        dates={Phase.VOTING: datetime(2030, 1, 1, tzinfo=UTC)},
    )  # fmt: skip
    operations.update_round(board, rnd, data)
    assert rnd.voting_opens == datetime(2030, 1, 1, tzinfo=UTC)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "round.update")).one()
    assert "voting_opens=2030-01-01T00:00" in event.after
    assert "voting_opens=2030" not in event.before  # before and after each their own date


def test_the_board_extends_voting_with_a_public_reason(ends_soon, board, board_client, client):
    old_end = ends_soon.result_opens
    new_end = old_end + timedelta(days=3)
    page = f"/wijk/{ends_soon.neighbourhood.slug}/rondes/{ends_soon.id}"
    assert "Stemming verlengen" in board_client.get(page).get_data(as_text=True)
    response = board_client.post(
        f"/wijk/{ends_soon.neighbourhood.slug}/bestuur/rondes/{ends_soon.id}/stemming-verlengen",
        {
            "ends": _local(new_end),
            "reason": "De brieven kwamen een week te laat",
            "current_end": old_end.isoformat(timespec="minutes"),
        },
        page=page,
    )
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    db.session.expire_all()
    assert ends_soon.result_opens == new_end
    extension = db.session.scalars(select(VotingExtension)).one()
    assert (extension.ends_before, extension.ends_after) == (old_end, new_end)
    assert extension.actor_id == board.id
    public = client.get(page).get_data(as_text=True)
    assert "De stemming is verlengd tot" in public
    assert "De brieven kwamen een week te laat" in public
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "round.extend_voting")
    ).one()
    assert f"result_opens={old_end.isoformat(timespec='minutes')}" == event.before
    assert f"result_opens={new_end.isoformat(timespec='minutes')}" in event.after
    assert event.before != event.after


def test_an_extension_is_only_later_only_before_the_end_and_with_a_reason(ends_soon, board):
    end = ends_soon.result_opens
    with pytest.raises(RoundError, match="later"):
        operations.extend_voting(board, ends_soon, end - timedelta(hours=1), "Reden")
    with pytest.raises(RoundError, match="later"):
        operations.extend_voting(board, ends_soon, end, "Reden")
    with pytest.raises(RoundError, match="waarom"):
        operations.extend_voting(board, ends_soon, end + timedelta(days=1), "   ")
    with pytest.raises(RoundError, match="al voorbij"):
        operations.extend_voting(
            board, ends_soon, end + timedelta(days=1), "Reden", now=end + timedelta(seconds=1)
        )
    assert db.session.scalar(select(VotingExtension.id)) is None


def test_an_extension_on_a_page_that_showed_another_end_changes_nothing(ends_soon, board):
    end = ends_soon.result_opens
    operations.extend_voting(board, ends_soon, end + timedelta(days=1), "Eerst", expected_end=end)
    with pytest.raises(Conflict):
        operations.extend_voting(
            board, ends_soon, end + timedelta(days=2), "Tweede", expected_end=end
        )
    assert [e.reason for e in db.session.scalars(select(VotingExtension))] == ["Eerst"]


def test_no_extension_outside_the_vote_or_by_someone_else(
    west, board, make_round, make_user, ends_soon
):
    review = make_round(west, Phase.REVIEW)
    with pytest.raises(Conflict):
        operations.extend_voting(board, review, utcnow() + timedelta(days=9), "Reden")
    resident = make_user(email="bewoner@example.org")
    with pytest.raises(RoundError, match="bestuur"):
        operations.extend_voting(resident, ends_soon, utcnow() + timedelta(days=9), "Reden")


def test_a_refused_extension_shows_why_on_the_round_page(ends_soon, board_client):
    slug = ends_soon.neighbourhood.slug
    response = board_client.post(
        f"/wijk/{slug}/bestuur/rondes/{ends_soon.id}/stemming-verlengen",
        {
            "ends": _local(ends_soon.result_opens - timedelta(hours=2)),
            "reason": "Reden",
            "current_end": ends_soon.result_opens.isoformat(timespec="minutes"),
        },
        page=f"/wijk/{slug}/rondes/{ends_soon.id}",
    )
    assert response.status_code == 422
    assert "later is dan het huidige einde" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "current_end",
    ["", "gisteren", "2026-12-08T03:44", "2026-12-08T03:44+05:00", "9" * 40, "0001-01-01"],
)
def test_an_odd_shown_end_is_a_refusal_never_a_crash(ends_soon, board_client, current_end):
    slug = ends_soon.neighbourhood.slug
    response = board_client.post(
        f"/wijk/{slug}/bestuur/rondes/{ends_soon.id}/stemming-verlengen",
        {
            "ends": _local(ends_soon.result_opens + timedelta(days=1)),
            "reason": "Reden",
            "current_end": current_end,
        },
        page=f"/wijk/{slug}/rondes/{ends_soon.id}",
    )
    assert response.status_code in (409, 422)
    assert db.session.scalar(select(VotingExtension.id)) is None


def test_someone_not_on_the_board_cannot_post_the_extension(ends_soon, make_user, make_client):
    resident = make_user("bewoner@example.org", wijk=ends_soon.neighbourhood)
    client = make_client()
    client.login(resident.email)
    slug = ends_soon.neighbourhood.slug
    response = client.post(
        f"/wijk/{slug}/bestuur/rondes/{ends_soon.id}/stemming-verlengen",
        {"ends": "2030-01-01T10:00", "reason": "Reden", "current_end": ""},
        page=f"/wijk/{slug}/rondes/{ends_soon.id}",
    )
    assert response.status_code == 403
