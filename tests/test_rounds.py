"""Budget rounds: the board creates one, publishes it, and it moves through its phases by date or
by hand; going back only before voting; from voting on the rules are locked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db, utcnow
from wijkbudget.proposals.models import State, Support
from wijkbudget.rounds import operations
from wijkbudget.rounds.models import BallotType, Phase, PhaseChange, Round, RoundError


@pytest.fixture
def board_client(board, make_client):
    client = make_client()
    client.login(board.email)
    return client


def round_form(**overrides: object) -> dict[str, object]:
    data = {
        "title": "Wijkbudget West 2027",
        "introduction": "Wat wil jij doen voor de wijk?",
        "budget": "50.000",
        "min_cost": "500",
        "max_cost": "15.000,00",
        "categories": "Groen\nJeugd\nOntmoeting",
        "criteria": "Goed voor de wijk\nBinnen een jaar klaar",
        "support_enabled": "y",
        "support_threshold": "3",
        "ballot_type": "approval",
        "ballot_max_choices": "5",
        "ballot_points": "",
        "aggregation": "equal_shares",
        "eligibility": "accounts_and_codes",  # what a new round allows (issue 21)
        "submission_opens": "2027-01-10T09:00",
        "review_opens": "2027-02-10T09:00",
        "voting_opens": "2027-03-10T09:00",
    }
    data.update(overrides)
    return data


def edit_form(**overrides: object) -> dict[str, object]:
    """The edit form of a round that ``make_round`` made, with its rules as they stand: only
    ``overrides`` change something."""
    unchanged = {
        "budget": "50.000",
        "min_cost": "100",
        "max_cost": "15.000",
        "aggregation": "greedy",
        "ballot_max_choices": "",
        "support_threshold": "0",
        "submission_opens": "",
        "review_opens": "",
        "voting_opens": "",
    }
    return round_form(**{**unchanged, **overrides})


def test_board_creates_a_concept_round(west, board_client, client):
    page = f"/wijk/{west.slug}/bestuur/rondes/nieuw"
    form_page = board_client.get(page).get_data(as_text=True)
    assert "Groen" in form_page  # suggested categories
    response = board_client.post(page, round_form(areas=str(west.areas[0].id)), page=page)
    assert response.status_code == 303, response.get_data(as_text=True)[-3000:]
    rnd = db.session.scalar(select(Round))
    assert (rnd.budget_cents, rnd.min_cost_cents, rnd.max_cost_cents) == (
        5_000_000,
        50_000,
        1_500_000,
    )
    assert [c.name for c in rnd.categories] == ["Groen", "Jeugd", "Ontmoeting"]
    assert [a.name for a in rnd.areas] == ["Lombok"]
    assert rnd.phase == Phase.CONCEPT and rnd.aggregation.value == "equal_shares"
    # stored in UTC: 09:00 in Amsterdam in winter is 08:00 UTC
    assert rnd.submission_opens == datetime(2027, 1, 10, 8, 0, tzinfo=UTC)
    assert db.session.scalar(select(AuditEvent.action)) == "round.create"

    # a concept is the board's: residents and visitors get a 404
    assert client.get(f"/wijk/{west.slug}/rondes/{rnd.id}").status_code == 404
    assert board_client.get(f"/wijk/{west.slug}/rondes/{rnd.id}").status_code == 200
    assert "Wijkbudget West 2027" not in client.get(f"/wijk/{west.slug}/rondes").get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    ("overrides", "message", "status"),
    [
        ({"budget": "veel"}, "geen bedrag", 422),
        ({"budget": "-5"}, "niet negatief", 422),
        ({"min_cost": "20.000"}, "minimumbedrag per voorstel is hoger", 422),
        ({"max_cost": "60.000"}, "hoger dan het hele budget", 422),
        ({"categories": ""}, "minstens één categorie", 422),
        ({"categories": "Groen\ngroen"}, "twee keer", 422),
        ({"title": "x" * 10_000}, "Hoogstens 120 tekens", 422),
        ({"ballot_type": "cumulative", "ballot_points": ""}, "hoeveel punten", 422),
        ({"ballot_type": "loterij"}, "Kies een van de mogelijkheden", 422),
        ({"review_opens": "2026-12-01T09:00"}, "ligt vóór", 422),
        ({"submission_opens": "morgen"}, "", 422),
        ({"areas": "999999"}, "Kies een van de mogelijkheden", 422),
        # found by the route fuzzer: year 1 (or 9999) left the calendar on its way to UTC (500)
        ({"submission_opens": "0001-01-01T00:00"}, "Vul een datum in tussen 1900 en 2999.", 422),
        ({"voting_opens": "9999-12-31T23:59"}, "Vul een datum in tussen 1900 en 2999.", 422),
    ],
)
def test_bad_round_input_is_explained_and_kept(west, board_client, overrides, message, status):
    page = f"/wijk/{west.slug}/bestuur/rondes/nieuw"
    response = board_client.post(page, round_form(**overrides), page=page)
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert message in body
    assert 'value="Wijkbudget West 2027"' in body or "title" in overrides  # what was typed stays
    assert db.session.scalar(select(Round)) is None


def test_publish_then_dates_move_the_round(
    west, board, board_client, client, make_round, make_user, make_proposal
):
    rnd = make_round(west, Phase.CONCEPT)
    now = utcnow()
    rnd.submission_opens = now - timedelta(days=3)
    rnd.review_opens = now - timedelta(days=1)
    rnd.support_opens = now + timedelta(days=5)
    db.session.commit()
    page = f"/wijk/{west.slug}/rondes/{rnd.id}"
    response = board_client.post(
        f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/publiceren", {}, page=page
    )
    assert response.status_code == 303
    db.session.expire_all()
    # published, then the passed review date moved it on at once
    assert db.session.get(Round, rnd.id).phase == Phase.REVIEW
    changes = db.session.get(Round, rnd.id).phase_changes
    assert [(c.from_phase, c.to_phase, c.actor_id) for c in changes] == [
        (Phase.CONCEPT, Phase.SUBMISSION, board.id),
        (Phase.SUBMISSION, Phase.REVIEW, None),
    ]
    body = client.get(page).get_data(as_text=True)
    assert "Toetsing" in body and 'aria-current="step"' in body and "op de geplande datum" in body


def stored_phase(round_id: int) -> Phase:
    """The phase as the database holds it (not as a page shows it)."""
    with db.engine.connect() as connection:
        return Phase(
            connection.execute(select(Round.phase).where(Round.id == round_id)).scalar_one()
        )


def test_dates_do_not_skip_unreviewed_proposals(west, make_round, make_user, make_proposal, client):
    rnd = make_round(west, Phase.REVIEW)
    rnd.support_opens = utcnow() - timedelta(hours=1)
    resident = make_user("a@example.org", wijk=west)
    proposal = make_proposal(rnd, resident, State.SUBMITTED)
    db.session.commit()
    page = f"/wijk/{west.slug}/rondes/{rnd.id}"
    assert "Fase: <strong>Toetsing</strong>" in client.get(page).get_data(as_text=True)
    assert operations.tick() == []
    assert stored_phase(rnd.id) == Phase.REVIEW  # waits for the board
    proposal = db.session.get(type(proposal), proposal.id)
    proposal.state = State.ADMITTED
    db.session.commit()
    # the page shows the phase of the dates at once; only tick writes it
    assert "Fase: <strong>Steunen</strong>" in client.get(page).get_data(as_text=True)
    assert stored_phase(rnd.id) == Phase.REVIEW
    moved = operations.tick()
    assert [(m.round_id, m.source, m.target) for m in moved] == [
        (rnd.id, Phase.REVIEW, Phase.SUPPORT)
    ]
    assert "Toetsing → Steunen" in str(moved[0])
    assert stored_phase(rnd.id) == Phase.SUPPORT
    assert operations.tick() == []  # idempotent


def test_a_page_shows_the_phase_of_the_dates_and_writes_nothing(
    west, board_client, client, make_round, make_user, make_proposal
):
    rnd = make_round(west, Phase.SUBMISSION)
    rnd.review_opens = utcnow() - timedelta(minutes=5)
    db.session.commit()
    make_proposal(rnd, make_user("a@example.org", wijk=west), State.ADMITTED)
    page = f"/wijk/{west.slug}/rondes/{rnd.id}"
    for reader in (client, board_client):
        body = reader.get(page).get_data(as_text=True)
        assert "Fase: <strong>Toetsing</strong>" in body
        # the rule follows the page: no new proposals once the date has passed
        assert "Log in om een voorstel te doen" not in body
    assert "Toetsing" in client.get(f"/wijk/{west.slug}/rondes").get_data(as_text=True)
    assert "Toetsing" in client.get(f"/wijk/{west.slug}").get_data(as_text=True)
    assert stored_phase(rnd.id) == Phase.SUBMISSION
    assert db.session.scalar(select(AuditEvent.id)) is None
    assert db.session.scalars(select(PhaseChange)).all() == []
    # the board's form carries the phase the page showed
    assert 'name="current" type="hidden" value="review"' in board_client.get(page).get_data(
        as_text=True
    )


def test_support_threshold_is_applied_by_tick_not_by_a_page(
    west, client, make_round, make_user, make_proposal
):
    rnd = make_round(west, Phase.SUPPORT, support_threshold=2)
    rnd.voting_opens = utcnow() - timedelta(minutes=1)
    db.session.commit()
    resident = make_user("a@example.org", wijk=west)
    weak = make_proposal(rnd, resident, State.ADMITTED)
    strong = make_proposal(rnd, resident, State.ADMITTED)
    for n in range(2):
        supporter = make_user(f"steun{n}@example.org", wijk=west)
        db.session.add(Support(proposal_id=strong.id, user_id=supporter.id))
    strong.support_count = 2
    db.session.commit()
    client.get(f"/wijk/{west.slug}/rondes/{rnd.id}")
    client.get(f"/voorstellen/{weak.id}")
    db.session.expire_all()
    assert db.session.get(type(weak), weak.id).state == State.ADMITTED
    assert stored_phase(rnd.id) == Phase.SUPPORT
    operations.tick()
    db.session.expire_all()
    assert stored_phase(rnd.id) == Phase.VOTING
    assert db.session.get(type(weak), weak.id).state == State.INSUFFICIENT_SUPPORT
    assert db.session.get(type(strong), strong.id).state == State.ADMITTED
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["proposal.support_threshold", "round.phase"]


def test_board_advances_with_a_reason_and_it_is_logged(
    west, board, board_client, make_round, make_user, make_proposal
):
    rnd = make_round(west, Phase.SUBMISSION)
    page = f"/wijk/{west.slug}/rondes/{rnd.id}"
    url = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/volgende-fase"
    response = board_client.post(url, {"reason": "", "current": "submission"}, page=page)
    assert response.status_code == 422 and "Schrijf waarom" in response.get_data(as_text=True)
    # a form without the phase its page showed (an old page, a hand-made or replayed request)
    # moves nothing
    for odd in ({}, {"current": ""}, {"current": "stemmen"}):
        response = board_client.post(url, {"reason": "Genoeg", **odd}, page=page)
        assert response.status_code == 422 and "verouderd" in response.get_data(as_text=True)
    response = board_client.post(url, {"reason": "Genoeg", "current": "x" * 5000}, page=page)
    assert response.status_code == 422  # the field's maximum length refuses it first
    assert stored_phase(rnd.id) == Phase.SUBMISSION
    form = {"reason": "Genoeg voorstellen binnen", "current": "submission"}
    response = board_client.post(url, form, page=page)
    assert response.status_code == 303
    db.session.expire_all()
    rnd = db.session.get(Round, rnd.id)
    assert rnd.phase == Phase.REVIEW and rnd.review_opens is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "round.phase"))
    assert event.actor_id == board.id and "Genoeg voorstellen binnen" in event.after
    # no admitted proposal yet: no voting... (first through steunen, which needs nothing)
    form = {"reason": "door", "current": "review"}
    assert board_client.post(url, form, page=page).status_code == 303
    response = board_client.post(url, {"reason": "stemmen", "current": "support"}, page=page)
    assert response.status_code == 422 and "geen enkel toegelaten voorstel" in response.get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    ("phase", "target", "allowed"),
    [
        (Phase.REVIEW, Phase.SUBMISSION, True),
        (Phase.SUPPORT, Phase.SUBMISSION, True),
        (Phase.SUPPORT, Phase.REVIEW, True),
        (Phase.VOTING, Phase.SUPPORT, False),
        (Phase.RESULT, Phase.REVIEW, False),
        (Phase.SUBMISSION, Phase.CONCEPT, False),
    ],
)
def test_going_back_only_before_voting(west, board, make_round, phase, target, allowed):
    rnd = make_round(west, phase)
    rnd.submission_opens = utcnow() - timedelta(days=10)
    rnd.review_opens = utcnow() - timedelta(days=5)
    db.session.commit()
    if allowed:
        operations.go_back(board, rnd, target, "Te weinig voorstellen")
        assert rnd.phase == target
        # dates after the target that had passed are cleared: the round waits for new ones
        if target == Phase.SUBMISSION:
            assert rnd.starts(Phase.REVIEW) is None
        assert operations.sync_phase(rnd) is False
    else:
        with pytest.raises(RoundError):
            operations.go_back(board, rnd, target, "Te weinig voorstellen")
        assert rnd.phase == phase


def test_rules_lock_when_voting_opens(west, board_client, make_round):
    rnd = make_round(west, Phase.VOTING)
    rnd.ballot_type = BallotType.APPROVAL
    db.session.commit()
    page = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/bewerken"
    form = edit_form(title="Nieuwe titel")
    # the same rules with a new title: allowed
    assert board_client.post(page, form, page=page).status_code == 303
    for change in (
        {"budget": "60.000"},
        {"ballot_type": "knapsack"},
        {"aggregation": "equal_shares"},
        {"max_cost": "14.000"},
        {"ballot_max_choices": "3"},
    ):
        response = board_client.post(page, {**form, **change}, page=page)
        assert response.status_code == 422, change
        assert "Het stemmen is begonnen" in response.get_data(as_text=True)
    db.session.expire_all()
    rnd = db.session.get(Round, rnd.id)
    assert (rnd.budget_cents, rnd.ballot_type, rnd.aggregation.value) == (
        5_000_000,
        BallotType.APPROVAL,
        "greedy",
    )
    assert rnd.title == "Nieuwe titel"


def test_round_pages_for_everyone(west, make_round, client, count_queries):
    rnd = make_round(west, Phase.SUBMISSION, title="Groen West")
    assert "Groen West" in client.get(f"/wijk/{west.slug}").get_data(as_text=True)
    assert "Groen West" in client.get(f"/wijk/{west.slug}/rondes").get_data(as_text=True)
    body = client.get(f"/wijk/{west.slug}/rondes/{rnd.id}").get_data(as_text=True)
    assert "50.000,00" in body and "Indienen" in body and "Log in om een voorstel te doen" in body
    # a round of another wijk is not found under this wijk
    other = client.get(f"/wijk/bestaat-niet/rondes/{rnd.id}")
    assert other.status_code == 404


def test_age_rule(west, make_round, make_user):
    rnd = make_round(west, Phase.SUBMISSION, min_age=16)
    rnd.voting_opens = datetime(2027, 3, 1, tzinfo=UTC)
    young = make_user("jong@example.org", wijk=west)
    young.birth_year = 2012
    old_enough = make_user("oud@example.org", wijk=west)
    old_enough.birth_year = 2011
    assert "minstens 16 jaar" in rnd.proposal_refusal(young)
    assert rnd.proposal_refusal(old_enough) is None


# --- issue 17: a second click moves nothing; the dates judge every write -----------------------


def test_a_second_click_on_next_phase_does_not_move_the_round_again(
    west, board, board_client, make_round
):
    rnd = make_round(west, Phase.SUBMISSION)
    page = f"/wijk/{west.slug}/rondes/{rnd.id}"
    url = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/volgende-fase"
    token = board_client.csrf(page)
    form = {"csrf_token": token, "reason": "Genoeg voorstellen", "current": "submission"}
    assert board_client.post(url, form).status_code == 303
    again = board_client.post(url, form)  # the same page, pressed twice
    assert again.status_code == 409
    body = again.get_data(as_text=True)
    assert "al in de fase &#39;Toetsing&#39;" in body or "al in de fase 'Toetsing'" in body
    # the page now carries the phase it shows: pressing there moves it on, once
    assert 'name="current" type="hidden" value="review"' in body
    assert stored_phase(rnd.id) == Phase.REVIEW
    assert len(db.session.scalars(select(PhaseChange)).all()) == 1
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions == ["round.phase"]


def test_going_back_from_a_page_that_is_out_of_date_is_refused(west, board_client, make_round):
    rnd = make_round(west, Phase.SUPPORT)
    page = f"/wijk/{west.slug}/rondes/{rnd.id}"
    url = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/terug"
    form = {"reason": "Te vroeg", "target": "submission", "current": "review"}
    response = board_client.post(url, form, page=page)
    assert response.status_code == 409
    assert stored_phase(rnd.id) == Phase.SUPPORT
    form["current"] = "support"
    assert board_client.post(url, form, page=page).status_code == 303
    assert stored_phase(rnd.id) == Phase.SUBMISSION


def test_publishing_twice_is_a_conflict_not_an_error(west, board_client, make_round):
    rnd = make_round(west, Phase.CONCEPT)
    page = f"/wijk/{west.slug}/rondes/{rnd.id}"
    url = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/publiceren"
    token = board_client.csrf(page)
    assert board_client.post(url, {"csrf_token": token}).status_code == 303
    second = board_client.post(url, {"csrf_token": token})
    assert second.status_code == 409 and "al gepubliceerd" in second.get_data(as_text=True)
    assert len(db.session.scalars(select(PhaseChange)).all()) == 1


def test_an_edit_after_the_voting_date_is_refused_whether_or_not_tick_ran(
    west, board_client, make_round, make_user, make_proposal
):
    rnd = make_round(west, Phase.REVIEW, support_enabled=False)
    make_proposal(rnd, make_user("a@example.org", wijk=west), State.ADMITTED)
    rnd.voting_opens = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert stored_phase(rnd.id) == Phase.REVIEW  # tick has not run
    page = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/bewerken"
    form = edit_form(budget="60.000", support_enabled="")
    response = board_client.post(page, form, page=page)
    assert response.status_code == 422
    assert "Het stemmen is begonnen" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Round, rnd.id).budget_cents == 5_000_000
    # the refused edit rolled back everything, also the move it judged by
    assert stored_phase(rnd.id) == Phase.REVIEW
    assert [m.target for m in operations.tick()] == [Phase.VOTING]


def test_tick_leaves_concepts_voting_and_rounds_without_passed_dates(west, make_round):
    past = utcnow() - timedelta(days=1)
    concept = make_round(west, Phase.CONCEPT)
    concept.submission_opens = past
    voting = make_round(west, Phase.VOTING)
    voting.result_opens = past  # voting ends when the board closes it, not by date
    waiting = make_round(west, Phase.SUBMISSION)
    waiting.review_opens = utcnow() + timedelta(days=1)
    db.session.commit()
    assert operations.tick() == []
    assert [stored_phase(r.id) for r in (concept, voting, waiting)] == [
        Phase.CONCEPT,
        Phase.VOTING,
        Phase.SUBMISSION,
    ]


def test_a_move_is_written_once_even_where_row_locks_are_not_honoured(west, make_round):
    """SQLite has no FOR UPDATE: a second mover may have read the old phase. The conditional
    UPDATE … WHERE phase = <old phase> then changes nothing and the move is refused."""
    from wijkbudget.usecase import Conflict, use_case

    rnd = make_round(west, Phase.SUBMISSION)
    stale = db.session.get(Round, rnd.id)  # read before the other move
    with db.engine.begin() as connection:  # another request moved it meanwhile
        connection.execute(
            Round.__table__.update().where(Round.id == rnd.id).values(phase="review")
        )

    @use_case
    def move_from_what_was_read() -> None:
        operations._move(stale, Phase.REVIEW, None, "", utcnow())

    with pytest.raises(Conflict):
        move_from_what_was_read()
    assert stored_phase(rnd.id) == Phase.REVIEW
    assert db.session.scalars(select(PhaseChange)).all() == []
    assert db.session.scalar(select(AuditEvent.id)) is None
