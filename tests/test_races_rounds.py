"""Races of rounds, accounts and wijken against the real PostgreSQL: N requests (or tick runs) at
the same instant, repeated with fresh data; afterwards a round has moved exactly as far as it
should (one phase change and one audit row per move), no budget changed once voting began, an
address has one account, a role is held once, a buurt exists once, and no request got a 5xx."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.concurrency import (
    assert_no_server_errors,
    audits,
    fresh,
    postgres_only,
    press_at_once,
    race,
    repeat,
    statuses,
    tab_of,
)
from wijkbudget.accounts.models import Role, RoleAssignment, User
from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db, utcnow
from wijkbudget.neighbourhoods.models import Area, Neighbourhood
from wijkbudget.proposals.models import ProposalEvent, State, Support
from wijkbudget.rounds import operations
from wijkbudget.rounds.models import Phase, PhaseChange, Round

pytestmark = postgres_only

N = 6


@pytest.fixture
def board_tabs(west, make_user, make_client):
    """N logged-in board clients with their form token: two board members, several tabs each."""
    members = [
        make_user(f"bestuur{i}@example.org", wijk=west, roles=((Role.BOARD, west),))
        for i in range(2)
    ]
    first = []
    for member in members:
        client = make_client()
        client.login(member.email)
        first.append(client)
    tabs = [first[i % 2] if i < 2 else tab_of(first[i % 2], make_client) for i in range(N)]
    return [(tab, tab.csrf("/stem")) for tab in tabs], members


@pytest.fixture
def admin_tabs(admin_client, make_client):
    """N tabs of one administrator's browser, each with its form token."""
    tabs = [admin_client] + [tab_of(admin_client, make_client) for _ in range(N - 1)]
    return [(tab, tab.csrf("/stem")) for tab in tabs]


def phase_in_database(round_id: int) -> Phase:
    fresh()
    return db.session.get(Round, round_id).phase


def moves(round_id: int) -> list[tuple[Phase, Phase, bool]]:
    """(from, to, by the board) of every phase change of the round, in order."""
    fresh()
    return [
        (c.from_phase, c.to_phase, c.actor_id is not None)
        for c in db.session.scalars(
            select(PhaseChange).where(PhaseChange.round_id == round_id).order_by(PhaseChange.id)
        )
    ]


def phase_audits(round_id: int) -> int:
    return audits("round.phase", round_id, "budget_round")


def tick_runner(app: Any) -> Any:
    """What cron runs with ``flask tick``, as if in a process of its own: its own app context,
    session and connection (click's test runner swaps sys.stdout, so it cannot run in threads;
    the command only prints what this returns)."""

    def run() -> list[str]:
        with app.app_context():
            return [str(moved) for moved in operations.tick()]

    return run


# --- phases -----------------------------------------------------------------------------------


def test_n_board_clicks_on_next_phase_move_the_round_one_phase(west, board_tabs, make_round):
    tabs, _members = board_tabs
    for attempt in repeat():
        rnd = make_round(west, Phase.SUBMISSION, title=f"Ronde {attempt}")
        url = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/volgende-fase"
        responses = press_at_once(
            tabs, url, lambda i: {"reason": f"Klik {i}", "current": "submission"}
        )
        assert sorted(statuses(responses)) == [303] + [409] * (N - 1), statuses(responses)
        assert phase_in_database(rnd.id) == Phase.REVIEW
        assert moves(rnd.id) == [(Phase.SUBMISSION, Phase.REVIEW, True)]
        assert phase_audits(rnd.id) == 1


def test_n_publish_clicks_publish_once(west, board_tabs, make_round):
    tabs, _members = board_tabs
    for attempt in repeat():
        rnd = make_round(west, Phase.CONCEPT, title=f"Concept {attempt}")
        url = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/publiceren"
        responses = press_at_once(tabs, url)
        assert sorted(statuses(responses)) == [303] + [409] * (N - 1), statuses(responses)
        assert moves(rnd.id) == [(Phase.CONCEPT, Phase.SUBMISSION, True)]
        assert phase_audits(rnd.id) == 1


def test_tick_run_n_times_at_once_moves_each_round_once(
    app, west, make_round, make_user, make_proposal
):
    resident = make_user("bewoner@example.org", wijk=west)
    supporters = [make_user(f"steun{i}@example.org", wijk=west) for i in range(2)]
    for attempt in repeat():
        past = utcnow() - timedelta(minutes=1)
        open_round = make_round(west, Phase.SUBMISSION, title=f"Open {attempt}")
        open_round.review_opens = past
        vote_round = make_round(west, Phase.SUPPORT, title=f"Steun {attempt}", support_threshold=2)
        vote_round.voting_opens = past
        db.session.commit()
        weak = make_proposal(vote_round, resident, State.ADMITTED)
        strong = make_proposal(vote_round, resident, State.ADMITTED)
        for supporter in supporters:
            db.session.add(Support(proposal_id=strong.id, user_id=supporter.id))
        strong.support_count = 2
        db.session.commit()

        results = race(N, lambda i: tick_runner(app))
        printed = Counter(line for lines in results for line in lines)
        assert sorted(printed.values()) == [1, 1], printed  # each move printed by one run
        assert moves(open_round.id) == [(Phase.SUBMISSION, Phase.REVIEW, False)]
        assert moves(vote_round.id) == [(Phase.SUPPORT, Phase.VOTING, False)]
        assert phase_audits(open_round.id) == phase_audits(vote_round.id) == 1
        # the threshold was applied once: one event for the proposal that left the ballot
        assert db.session.get(type(weak), weak.id).state == State.INSUFFICIENT_SUPPORT
        assert db.session.get(type(strong), strong.id).state == State.ADMITTED
        assert (
            db.session.scalar(
                select(func.count(ProposalEvent.id)).where(
                    ProposalEvent.proposal_id == weak.id,
                    ProposalEvent.to_state == State.INSUFFICIENT_SUPPORT,
                )
            )
            == 1
        )


def test_tick_and_board_clicks_at_once_move_by_date_once_and_by_hand_once(
    app, west, board_tabs, make_round
):
    tabs, _members = board_tabs
    for attempt in repeat():
        rnd = make_round(west, Phase.SUBMISSION, title=f"Ronde {attempt}")
        rnd.review_opens = utcnow() - timedelta(minutes=1)  # the date moves it to toetsing
        db.session.commit()
        url = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/volgende-fase"

        def contender(i: int, url: str = url) -> Any:
            if i % 2 == 0:
                return tick_runner(app)
            client, token = tabs[i]
            # the board's page showed toetsing (the phase of the dates): on to steunen
            data = {"csrf_token": token, "reason": "Door naar steunen", "current": "review"}
            return lambda: client.raw.post(url, data=data)

        results = race(N, contender)
        ticks = [r for i, r in enumerate(results) if i % 2 == 0]
        clicks = [r for i, r in enumerate(results) if i % 2 == 1]
        assert sum(len(lines) for lines in ticks) <= 1  # the move by date, if a tick made it
        assert_no_server_errors(clicks)
        assert sorted(statuses(clicks)) == [303] + [409] * (len(clicks) - 1), statuses(clicks)
        assert moves(rnd.id) == [
            (Phase.SUBMISSION, Phase.REVIEW, False),
            (Phase.REVIEW, Phase.SUPPORT, True),
        ]
        assert phase_audits(rnd.id) == 2
        assert phase_in_database(rnd.id) == Phase.SUPPORT


def round_form(budget: str) -> dict[str, str]:
    return {
        "title": "Wijkbudget",
        "introduction": "Doe mee!",
        "budget": budget,
        "min_cost": "100",
        "max_cost": "15.000",
        "categories": "Groen\nJeugd\nOntmoeting",
        "criteria": "Goed voor de wijk\nBinnen een jaar klaar",
        "support_enabled": "y",
        "support_threshold": "0",
        "ballot_type": "approval",
        "ballot_max_choices": "",
        "aggregation": "greedy",
        "eligibility": "accounts_and_codes",  # what a new round allows (issue 21)
    }


def test_budget_edits_racing_the_move_to_voting_never_change_a_voting_round(
    west, board_tabs, make_round, make_user, make_proposal
):
    tabs, _members = board_tabs
    resident = make_user("bewoner@example.org", wijk=west)
    for attempt in repeat():
        rnd = make_round(west, Phase.SUPPORT, title=f"Ronde {attempt}")
        make_proposal(rnd, resident, State.ADMITTED)
        edit = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/bewerken"
        advance = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/volgende-fase"
        mover = N // 2

        def contender(i: int, edit: str = edit, advance: str = advance, mover: int = mover) -> Any:
            client, token = tabs[i]
            if i == mover:
                data = {"csrf_token": token, "reason": "Stemmen!", "current": "support"}
                return lambda: client.raw.post(advance, data=data)
            data = {"csrf_token": token, **round_form(f"{60_000 + i}")}
            return lambda: client.raw.post(edit, data=data)

        responses = race(N, contender)
        assert_no_server_errors(responses)
        assert responses[mover].status_code == 303
        edits = [r for i, r in enumerate(responses) if i != mover]
        assert all(r.status_code in (303, 422) for r in edits), statuses(edits)
        for response in edits:
            if response.status_code == 422:
                assert "Het stemmen is begonnen" in response.get_data(as_text=True)
        fresh()
        assert phase_in_database(rnd.id) == Phase.VOTING
        # every saved edit came before the move; the budget is the last one saved before it
        events = list(
            db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.object_type == "budget_round", AuditEvent.object_id == rnd.id)
                .order_by(AuditEvent.id)
            )
        )
        actions = [e.action for e in events]
        assert actions.count("round.phase") == 1
        moved_at = actions.index("round.phase")
        assert "round.update" not in actions[moved_at:], actions
        saved = actions.count("round.update")
        assert saved == sum(r.status_code == 303 for r in edits)
        budget = db.session.get(Round, rnd.id).budget_cents
        if saved:
            assert f"budget={budget}" in events[moved_at - 1].after
        else:
            assert budget == 5_000_000


# --- accounts ---------------------------------------------------------------------------------


def test_n_registrations_with_one_address_make_one_account(west, make_client, inbox):
    place = f"a{west.areas[0].id}"
    contenders = []
    for _i in range(N):
        client = make_client()
        contenders.append((client, client.csrf("/registreren")))
    for attempt in repeat():
        email = f"dubbel{attempt}@example.org"

        def contender(i: int, email: str = email, attempt: int = attempt) -> Any:
            client, token = contenders[i]
            data = {
                "csrf_token": token,
                "email": email,
                "password": "lombok-is-de-mooiste-buurt",
                "display_name": "Dubbel",
                "place": place,
                "postcode": "3531 AB",
                "birth_year": "1984",
                "language": "nl",
            }
            # each from an address of its own (the register limit counts per address)
            address = {"REMOTE_ADDR": f"10.17.{attempt}.{i + 1}"}
            return lambda: client.raw.post("/registreren", data=data, environ_base=address)

        responses = race(N, contender)
        assert_no_server_errors(responses)
        assert statuses(responses) == [303] * N  # the same answer for everyone
        fresh()
        assert db.session.scalar(select(func.count(User.id)).where(User.email == email)) == 1
        verify = [m for m in inbox.to(email) if "Bevestig" in m["Subject"]]
        assert len(verify) == 1


def test_n_grants_of_one_role_give_one_assignment(west, make_user, admin_tabs):
    for attempt in repeat():
        piet = make_user(f"piet{attempt}@example.org", wijk=west)
        url = f"/beheer/accounts/{piet.id}/rollen"
        for role, wijk in (("board", west.slug), ("councillor", "")):  # with and without a wijk
            responses = press_at_once(admin_tabs, url, {"role": role, "wijk": wijk})
            assert sorted(statuses(responses)) == [303] + [409] * (N - 1), statuses(responses)
        fresh()
        held = db.session.scalars(
            select(RoleAssignment).where(RoleAssignment.user_id == piet.id)
        ).all()
        assert sorted((a.role, a.neighbourhood_id) for a in held) == [
            (Role.BOARD, west.id),
            (Role.COUNCILLOR, None),
        ]
        grants = db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "role.grant", AuditEvent.after.contains(f"user={piet.id},")
            )
        )
        assert grants == 2


# --- wijken -----------------------------------------------------------------------------------


def test_n_admins_adding_one_buurt_add_it_once(make_wijk, admin_tabs):
    for attempt in repeat():
        wijk = make_wijk(f"Wijk {attempt}", areas=())
        url = f"/beheer/wijken/{wijk.slug}/buurten"
        responses = press_at_once(admin_tabs, url, {"name": "Lombok"})
        assert sorted(statuses(responses)) == [303] + [422] * (N - 1), statuses(responses)
        fresh()
        areas = db.session.scalars(select(Area).where(Area.neighbourhood_id == wijk.id)).all()
        assert [(a.name, a.slug) for a in areas] == [("Lombok", "lombok")]

        # and wijken with one name: each gets a slug of its own, or a 409
        name = f"Nieuw {attempt}"
        data = {"name": name, "postcodes": f"{4000 + attempt}"}
        responses = press_at_once(admin_tabs, "/beheer/wijken/nieuw", data)
        assert set(statuses(responses)) <= {303, 409}
        fresh()
        made = db.session.scalars(select(Neighbourhood).where(Neighbourhood.name == name)).all()
        assert len(made) == statuses(responses).count(303) >= 1
        assert len({w.slug for w in made}) == len(made)
