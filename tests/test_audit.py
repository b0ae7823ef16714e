"""The audit log: role grants, account deletions and wijk changes leave a trace; admins and
councillors read it with filters; a councillor of one wijk sees only that wijk."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD
from wijkbudget.accounts.models import Role, RoleAssignment, User
from wijkbudget.audit.models import AuditEvent
from wijkbudget.audit.operations import record, summarise
from wijkbudget.extensions import db


@pytest.fixture
def setting(make_wijk, make_user):
    west = make_wijk("West", postcodes=((3531, 3533),))
    oost = make_wijk("Oost", postcodes=((3581, 3585),), areas=("Oudwijk",))
    admin = make_user("beheer@example.org", name="Beheerder Anna", roles=((Role.ADMIN, None),))
    return west, oost, admin


def events(action: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query))


def test_role_grant_and_revoke_are_logged(setting, make_user, make_client):
    west, _oost, admin = setting
    piet = make_user("piet@example.org", wijk=west)
    client = make_client()
    client.login(admin.email)
    page = f"/beheer/accounts/{piet.id}"
    response = client.post(f"{page}/rollen", {"role": "board", "wijk": west.slug}, page=page)
    assert response.status_code == 303

    [grant] = events("role.grant")
    assert grant.actor_id == admin.id and grant.actor_role == "admin"
    assert grant.neighbourhood_id == west.id and grant.object_type == "role_assignment"
    assert "board" in grant.after

    assignment = db.session.scalar(select(RoleAssignment).where(RoleAssignment.user_id == piet.id))
    response = client.post(f"/beheer/rollen/{assignment.id}/intrekken", {}, page=page)
    assert response.status_code == 303
    [revoke] = events("role.revoke")
    assert revoke.actor_id == admin.id and revoke.neighbourhood_id == west.id
    assert (
        db.session.scalar(
            select(func.count(RoleAssignment.id)).where(RoleAssignment.user_id == piet.id)
        )
        == 0
    )


def test_board_role_needs_a_wijk(setting, make_user, make_client):
    _west, _oost, admin = setting
    piet = make_user("piet@example.org")
    client = make_client()
    client.login(admin.email)
    page = f"/beheer/accounts/{piet.id}"
    response = client.post(f"{page}/rollen", {"role": "board", "wijk": ""}, page=page)
    assert response.status_code == 422
    assert "wijk" in response.get_data(as_text=True)
    assert events("role.grant") == []


def test_account_deletion_is_logged_without_personal_data(setting, make_user, make_client):
    west, _oost, _admin = setting
    user = make_user("weg@example.org", wijk=west, name="Karel Weg")
    client = make_client()
    client.login(user.email)
    response = client.post(
        "/account/verwijderen", {"del-confirm": "y", "del-password": PASSWORD}, page="/account"
    )
    assert response.status_code == 303
    [deletion] = events("account.delete")
    assert deletion.actor_id == user.id and deletion.object_id == user.id
    assert "weg@example.org" not in deletion.before + deletion.after
    assert "Karel" not in deletion.before + deletion.after


def test_wijk_changes_by_admin_and_board_are_logged(setting, make_user, make_client):
    west, _oost, admin = setting
    client = make_client()
    client.login(admin.email)
    response = client.post(
        "/beheer/wijken/nieuw",
        {"name": "Noordoost", "postcodes": "3514-3515, 3571", "cbs_code": ""},
        page="/beheer/wijken/nieuw",
    )
    assert response.status_code == 303
    [created] = events("neighbourhood.create")
    assert "3514-3515" in created.after and created.actor_role == "admin"

    board = make_user("bestuur@example.org", wijk=west, roles=((Role.BOARD, west),))
    board_client = make_client()
    board_client.login(board.email)
    response = board_client.post(
        f"/wijk/{west.slug}/bestuur/beschrijving",
        {"description": "Welkom in West."},
        page=f"/wijk/{west.slug}/bestuur",
    )
    assert response.status_code == 303
    [described] = events("neighbourhood.describe")
    assert described.actor_id == board.id and described.actor_role == "board"


def test_every_event_rolls_back_with_its_change(setting):
    west, _oost, admin = setting
    record("role.grant", actor=admin, role="admin", neighbourhood=west, after={"role": "board"})
    db.session.rollback()
    assert events() == []


def test_summary_is_short():
    assert summarise({"a": 1, "b": None, "c": "x"}) == "a=1, c=x"
    assert len(summarise({"text": "x" * 2000})) == 500


def shown(body: str) -> int:
    match = re.search(r"(\d+) gebeurtenis", body)
    assert match, "no count on the page"
    return int(match.group(1))


def add_events(
    actor, wijk, n: int, action: str = "role.grant", when: datetime | None = None
) -> None:
    for i in range(n):
        event = record(action, actor=actor, role="admin", neighbourhood=wijk, after={"n": i})
        if when is not None:
            event.created_at = when
    db.session.commit()


def test_admin_filters_by_wijk_action_actor_and_date(setting, make_user, make_client):
    west, oost, admin = setting
    other = make_user("tweede@example.org", name="Bob Beheer", roles=((Role.ADMIN, None),))
    add_events(admin, west, 3)
    add_events(other, oost, 2, action="role.revoke")
    add_events(
        admin, oost, 1, when=datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    )  # 00:30 on 2 March in Amsterdam (CET)

    client = make_client()
    client.login(admin.email)

    def count(query: str) -> int:
        response = client.get(f"/audit?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)[-3000:]
        return shown(response.get_data(as_text=True))

    assert count("") == 6
    assert count(f"wijk={west.slug}") == 3
    assert count("action=role.revoke") == 2
    assert count("actor=bob") == 2
    assert count(f"actor={other.id}") == 2
    assert count("date_from=2026-03-02&date_to=2026-03-02") == 1
    assert count("date_from=2026-03-01&date_to=2026-03-01") == 0


def test_bad_filter_is_explained_not_a_crash(setting, make_client):
    _west, _oost, admin = setting
    client = make_client()
    client.login(admin.email)
    response = client.get("/audit?date_from=gisteren&wijk=bestaat-niet")
    assert response.status_code == 422
    assert "Kies een van de mogelijkheden" in response.get_data(as_text=True)


def test_filters_beyond_the_calendar_or_the_id_column_are_explained_not_a_crash(
    setting, make_client
):
    """Found by the route fuzzer: a date in year 1 or 9999 left Python's calendar (a day on,
    to UTC), ``actor=²`` passed isdigit() but not int(), and a number beyond the column's
    integer made PostgreSQL refuse the query: each was a 500."""
    west, _oost, admin = setting
    add_events(admin, west, 2)
    client = make_client()
    client.login(admin.email)
    for query in ("date_to=9999-12-31", "date_from=0001-01-01"):
        response = client.get(f"/audit?{query}")
        assert response.status_code == 422, query
        assert "Vul een datum in tussen 1900 en 2999." in response.get_data(as_text=True)
    response = client.get("/audit?subject=proposal:999999999999")
    assert response.status_code == 422
    assert "Dit onderwerp bestaat niet." in response.get_data(as_text=True)
    for actor in ("²", "٣", "99999999999", "0"):
        response = client.get(f"/audit?actor={actor}")
        assert response.status_code == 200, actor
        assert shown(response.get_data(as_text=True)) == 0, actor
    assert shown(client.get(f"/audit?actor={admin.id}").get_data(as_text=True)) == 2


def test_audit_log_is_paginated(setting, make_client):
    west, _oost, admin = setting
    add_events(admin, west, 45)
    client = make_client()
    client.login(admin.email)
    first = client.get("/audit").get_data(as_text=True)
    assert "45 gebeurtenissen" in first
    assert "page=2" in first
    second = client.get("/audit?page=2").get_data(as_text=True)
    assert "n: 44" not in second and "n: 0" in second  # newest first (in words: audit/render.py)


def test_councillor_of_one_wijk_reads_only_that_wijk(setting, make_user, make_client):
    west, oost, admin = setting
    add_events(admin, west, 2)
    add_events(admin, oost, 3)
    councillor = make_user("raad@example.org", roles=((Role.COUNCILLOR, west),))
    client = make_client()
    client.login(councillor.email)
    body = client.get("/audit").get_data(as_text=True)
    assert "2 gebeurtenissen" in body
    # asking for the other wijk does not widen what is shown
    response = client.get(f"/audit?wijk={oost.slug}")
    assert response.status_code == 422 and shown(response.get_data(as_text=True)) == 2


def test_htmx_gets_only_the_table(setting, make_client):
    west, _oost, admin = setting
    add_events(admin, west, 1)
    client = make_client()
    client.login(admin.email)
    response = client.get("/audit", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and "<table>" in body
    assert "HX-Request" in response.headers["Vary"]
    full = client.get("/audit").get_data(as_text=True)
    assert "<html" in full and "<table>" in full


def test_audit_page_query_count_does_not_grow_with_events(
    setting, make_user, make_client, count_queries
):
    west, oost, admin = setting
    actors = [make_user(f"a{i}@example.org", roles=((Role.ADMIN, None),)) for i in range(5)]
    client = make_client()
    client.login(admin.email)
    add_events(actors[0], west, 2)
    with count_queries() as few:
        client.get("/audit")
    for actor in actors:
        add_events(actor, oost, 4)
    with count_queries() as many:
        client.get("/audit")
    assert len(many) == len(few)
    assert len(many) <= 10


def test_times_shown_in_amsterdam(setting, make_client):
    west, _oost, admin = setting
    add_events(admin, west, 1, when=datetime(2026, 7, 1, 10, 0, tzinfo=UTC) - timedelta(0))
    client = make_client()
    client.login(admin.email)
    assert "12:00" in client.get("/audit").get_data(as_text=True)  # CEST = UTC+2
    assert db.session.scalar(select(func.count(User.id))) == 1
