"""The role matrix: every route says which role it needs, and every lower role is turned away.

The test walks ``app.url_map``, so a route added later without a guard fails here."""

from __future__ import annotations

from typing import Any

import pytest

from wijkbudget.accounts.models import Role
from wijkbudget.dialogue.models import Comment
from wijkbudget.dialogue.operations import thread_for_proposal
from wijkbudget.extensions import db
from wijkbudget.permissions import (
    audit_scope,
    is_board,
    is_councillor,
    is_resident,
    takes_part,
)
from wijkbudget.rounds.models import Phase

KNOWN_ROLES = {"public", "user", "board", "admin", "audit", "oversight"}

# who may pass each guard (the rest get 403, anonymous visitors the login page)
ALLOWED = {
    "user": {"unverified", "resident", "board_a", "board_b", "councillor", "admin"},
    "board": {"board_a"},  # routes are built for wijk A; admin is no super-board
    "admin": {"admin"},
    "audit": {"councillor", "admin"},
    "oversight": {"board_a", "councillor"},  # the councillor here is one for every wijk
}


@pytest.fixture
def people(make_wijk, make_user):
    a = make_wijk("Aa", postcodes=((3531, 3533),), areas=("Lombok",))
    b = make_wijk("Bee", postcodes=((3581, 3585),), areas=("Wittevrouwen",))
    users = {
        "unverified": make_user("nieuw@example.org", wijk=a, verified=False),
        "resident": make_user("bewoner@example.org", wijk=a),
        "board_a": make_user("bestuur.a@example.org", wijk=a, roles=((Role.BOARD, a),)),
        "board_b": make_user("bestuur.b@example.org", wijk=b, roles=((Role.BOARD, b),)),
        "councillor": make_user("raad@example.org", roles=((Role.COUNCILLOR, None),)),
        "admin": make_user("beheer@example.org", roles=((Role.ADMIN, None),)),
    }
    return a, b, users


@pytest.fixture
def objects(people, make_round, make_proposal):
    a, _b, users = people
    rnd = make_round(a)
    proposal = make_proposal(rnd, users["resident"])
    thread = thread_for_proposal(proposal)
    comment = Comment(thread=thread, author_id=users["resident"].id, body="Hallo")
    db.session.add(comment)
    db.session.commit()
    return rnd, proposal, thread, comment


def route_values(a, users, objects) -> dict[str, Any]:
    """A value for every URL variable a protected route may have; a new one must be added here."""
    rnd, proposal, thread, comment = objects
    return {
        "slug": a.slug,
        "user_id": users["resident"].id,
        "assignment_id": users["board_a"].role_assignments[0].id,
        "round_id": rnd.id,
        "proposal_id": proposal.id,
        "image_id": 1,
        "token": "niet-geldig",
        "thread_id": thread.id,
        "comment_id": comment.id,
        "batch_id": 1,
        "place_id": 1,
        "project_id": 1,
        "expense_id": 1,
        "income_id": 1,
        "invite_id": 1,
        "what": "uitgaven",
        "fmt": "csv",
    }


def protected_routes(app) -> list[tuple[str, str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        role = getattr(view, "required_role", None)
        assert role in KNOWN_ROLES, f"{rule.rule} ({rule.endpoint}) has no permission marker"
        if role == "public":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, role))
    return routes


def build(app, endpoint: str, values: dict[str, Any]) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    missing = rule.arguments - values.keys()
    assert not missing, f"route_values() needs a value for {missing} ({rule.rule})"
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **{k: values[k] for k in rule.arguments}, _external=False)


def call(client, method: str, url: str) -> Any:
    if method == "GET":
        return client.get(url)
    return client.post(url, {}, page="/")


def test_every_route_declares_its_role(app):
    routes = protected_routes(app)
    roles = {role for _, _, role in routes}
    assert {"user", "board", "admin", "audit"} <= roles


def test_role_matrix_over_all_routes(app, people, objects, make_client):
    a, _b, users = people
    values = route_values(a, users, objects)
    routes = protected_routes(app)

    anonymous = make_client()
    for endpoint, method, _role in routes:
        response = call(anonymous, method, build(app, endpoint, values))
        assert response.status_code == 302, (endpoint, method, response.status_code)
        assert "/inloggen" in response.headers["Location"], (endpoint, method)

    for who, user in users.items():
        client = make_client()
        client.login(user.email)
        for endpoint, method, role in routes:
            if endpoint in {
                "accounts.delete_account",
                "accounts.change_password",
                "accounts.end_all_sessions",
            }:
                continue  # these end the session; test_deleted_account_loses_every_role covers them
            response = call(client, method, build(app, endpoint, values))
            where = (who, endpoint, method, response.status_code)
            if role == "user":
                # signed in is enough to pass the guard; the object's own rules (the author of
                # this proposal?) may still answer 403, which each area's tests cover
                assert "/inloggen" not in response.headers.get("Location", ""), where
            elif who in ALLOWED[role]:
                assert response.status_code != 403, where
                assert "/inloggen" not in response.headers.get("Location", ""), where
            else:
                assert response.status_code == 403, (who, endpoint, method, response.status_code)
                assert "mag je niet" in response.get_data(as_text=True) or "geen toegang" in (
                    response.get_data(as_text=True).lower()
                )


def test_board_of_one_wijk_has_no_power_in_another(app, people, make_client):
    a, b, users = people
    client = make_client()
    client.login(users["board_a"].email)
    assert client.get(f"/wijk/{a.slug}/bestuur").status_code == 200
    assert client.get(f"/wijk/{b.slug}/bestuur").status_code == 403
    response = client.post(
        f"/wijk/{b.slug}/bestuur/beschrijving", {"description": "Overgenomen!"}, page="/"
    )
    assert response.status_code == 403
    assert b.description == ""
    # an unknown wijk is not found, for anyone
    assert client.get("/wijk/bestaat-niet/bestuur").status_code == 404


def test_rules_in_one_place(people):
    a, b, users = people
    assert is_board(users["board_a"], a) and not is_board(users["board_a"], b)
    assert not is_board(users["admin"], a)
    assert is_resident(users["resident"], a) and not is_resident(users["resident"], b)
    assert not is_resident(users["unverified"], a)
    assert is_councillor(users["councillor"], a) and is_councillor(users["councillor"], b)
    assert audit_scope(users["councillor"]) is None and audit_scope(users["admin"]) is None
    assert audit_scope(users["resident"]) == set()


@pytest.mark.parametrize(
    ("who", "round_of", "workers_eligible", "expected"),
    [
        ("resident", "a", False, True),
        ("resident", "a", True, True),
        ("resident", "b", True, False),
        ("worker", "a", True, True),
        ("worker", "a", False, False),
        ("worker", "b", True, False),  # works in A, not in B
        ("unverified_worker", "a", True, False),
        ("deleted_worker", "a", True, False),
        ("board_b", "a", True, False),
    ],
)
def test_who_takes_part_in_a_round(
    people, make_user, make_round, who, round_of, workers_eligible, expected
):
    """Residents of the round's wijk take part; people who work there only when the board
    opened the round to them, with a verified, active account."""
    a, b, users = people
    users["worker"] = make_user("werk@example.org", work_wijk=a)
    users["unverified_worker"] = make_user("werk2@example.org", work_wijk=a, verified=False)
    users["deleted_worker"] = make_user("werk3@example.org", work_wijk=a)
    users["deleted_worker"].deleted_at = users["deleted_worker"].created_at
    rnd = make_round(
        {"a": a, "b": b}[round_of], Phase.SUBMISSION, workers_eligible=workers_eligible
    )
    assert takes_part(users[who], rnd) is expected


def test_councillor_of_one_wijk_reads_only_that_wijk(make_wijk, make_user):
    a = make_wijk("Aa", postcodes=((3531, 3533),))
    b = make_wijk("Bee", postcodes=((3581, 3585),))
    councillor = make_user("raad.a@example.org", roles=((Role.COUNCILLOR, a),))
    assert is_councillor(councillor, a) and not is_councillor(councillor, b)
    assert audit_scope(councillor) == {a.id}


def test_deleted_account_loses_every_role(people, make_client):
    a, _b, users = people
    client = make_client()
    client.login(users["board_a"].email)
    assert client.get(f"/wijk/{a.slug}/bestuur").status_code == 200
    response = client.post(
        "/account/verwijderen",
        {"del-confirm": "y", "del-password": "een-lang-wachtwoord-voor-tests"},
        page="/account",
    )
    assert response.status_code == 303
    response = client.get(f"/wijk/{a.slug}/bestuur")
    assert response.status_code == 302 and "/inloggen" in response.headers["Location"]
