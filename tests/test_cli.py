"""The command line: tick, create-admin, grant-role, revoke-role and demo-data, as installers
use them."""

from __future__ import annotations

import pyotp
from sqlalchemy import func, select

from wijkbudget.accounts.models import Role, RoleAssignment, User
from wijkbudget.audit.models import AuditEvent
from wijkbudget.demo import DEMO_TOTP_SECRET
from wijkbudget.extensions import db
from wijkbudget.neighbourhoods.models import Neighbourhood


def run(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def test_create_admin_asks_for_a_good_password(app, client):
    result = run(app, "create-admin", "Anna@Example.org", input="kort\nkort\n")
    assert result.exit_code != 0 and "minstens 10 tekens" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0

    result = run(
        app,
        "create-admin",
        "Anna@Example.org",
        "--name",
        "Anna",
        input="tulpen-en-fietsen-42\ntulpen-en-fietsen-42\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "anna@example.org"))
    assert [a.role for a in user.role_assignments] == [Role.ADMIN]
    grant = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "role.grant"))
    assert grant.actor_role == "cli"

    client.login("anna@example.org", "tulpen-en-fietsen-42")
    assert client.get("/beheer/wijken").status_code == 200

    # running it again changes nothing
    result = run(
        app,
        "create-admin",
        "anna@example.org",
        input="tulpen-en-fietsen-42\ntulpen-en-fietsen-42\n",
    )
    assert result.exit_code == 0
    assert db.session.scalar(select(func.count(RoleAssignment.id))) == 1


def test_grant_and_revoke_role(app, make_wijk, make_user):
    west = make_wijk("West")
    make_user("henk@example.org", wijk=west)
    result = run(app, "grant-role", "henk@example.org", "board")
    assert result.exit_code != 0 and "Kies de wijk" in result.output
    result = run(app, "grant-role", "henk@example.org", "board", "--wijk", "nergens")
    assert result.exit_code != 0 and "Geen wijk" in result.output
    result = run(app, "grant-role", "niemand@example.org", "board", "--wijk", "west")
    assert result.exit_code != 0 and "Geen account" in result.output

    result = run(app, "grant-role", "henk@example.org", "board", "--wijk", "west")
    assert result.exit_code == 0, result.output
    result = run(app, "grant-role", "henk@example.org", "board", "--wijk", "west")
    assert result.exit_code != 0 and "heeft deze rol al" in result.output

    result = run(app, "revoke-role", "henk@example.org", "board", "--wijk", "west")
    assert result.exit_code == 0, result.output
    actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["role.grant", "role.revoke"]
    result = run(app, "revoke-role", "henk@example.org", "board", "--wijk", "west")
    assert result.exit_code != 0


def test_demo_data_is_idempotent_and_prints_logins(app, client):
    result = run(app, "demo-data")
    assert result.exit_code == 0, result.output
    assert "beheer@example.org" in result.output and "bestuur.west@example.org" in result.output
    assert DEMO_TOTP_SECRET in result.output and "demo-code" in result.output

    def counts() -> tuple[int, int, int]:
        return (
            db.session.scalar(select(func.count(Neighbourhood.id))),
            db.session.scalar(select(func.count(User.id))),
            db.session.scalar(select(func.count(RoleAssignment.id))),
        )

    first = counts()
    assert first[0] == 2 and first[1] >= 15
    assert run(app, "demo-data").exit_code == 0
    assert counts() == first
    result = run(app, "demo-data", "--if-empty")
    assert "geen demogegevens" in result.output and counts() == first

    # the printed logins work; staff with the printed second-factor key (or `demo-code`)
    step = client.post(
        "/inloggen",
        {"email": "bestuur.west@example.org", "password": "lente-in-de-wijk-2026"},
        page="/inloggen",
    )
    assert step.headers["Location"].endswith("/inloggen/tweede-stap")
    code = run(app, "demo-code").output.strip()
    assert code == pyotp.TOTP(DEMO_TOTP_SECRET).now()
    signed_in = client.post("/inloggen/tweede-stap", {"code": code}, page="/inloggen/tweede-stap")
    assert signed_in.status_code == 303
    assert client.get("/wijk/west/bestuur").status_code == 200
    residents = db.session.scalar(
        select(func.count(User.id)).where(
            User.neighbourhood_id.is_not(None), User.email_verified_at.is_not(None)
        )
    )
    assert residents >= 12


def test_tick_moves_due_rounds_prints_them_and_is_idempotent(app, make_wijk, make_round):
    from datetime import timedelta

    from wijkbudget.extensions import utcnow
    from wijkbudget.rounds.models import Phase, PhaseChange, Round

    west = make_wijk("West")
    rnd = make_round(west, Phase.SUBMISSION, title="Groen West")
    rnd.review_opens = utcnow() - timedelta(minutes=2)
    later = make_round(west, Phase.SUBMISSION, title="Later")
    later.review_opens = utcnow() + timedelta(days=2)
    db.session.commit()
    result = run(app, "tick")
    assert result.exit_code == 0, result.output
    assert result.output == f"West · Groen West (ronde {rnd.id}): Indienen → Toetsing\n"
    db.session.expire_all()
    assert db.session.get(Round, rnd.id).phase == Phase.REVIEW
    assert db.session.get(Round, later.id).phase == Phase.SUBMISSION
    [change] = db.session.scalars(select(PhaseChange)).all()
    assert change.actor_id is None and change.to_phase == Phase.REVIEW
    [event] = db.session.scalars(select(AuditEvent)).all()
    assert event.action == "round.phase" and event.actor_role == "system"
    # nothing due: nothing printed (cron mails only what it prints), nothing written
    again = run(app, "tick")
    assert again.exit_code == 0 and again.output == ""
    assert len(db.session.scalars(select(AuditEvent)).all()) == 1


def test_demo_data_lands_whole_or_not_at_all(app, monkeypatch):
    from wijkbudget import demo

    def broken(*args, **kwargs):
        raise RuntimeError("stroomstoring")

    monkeypatch.setattr(demo, "_demo_past_round", broken)
    result = run(app, "demo-data")
    assert result.exit_code != 0
    assert db.session.scalar(select(func.count(Neighbourhood.id))) == 0
    assert db.session.scalar(select(func.count(User.id))) == 0
