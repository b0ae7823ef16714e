"""Issue 19, part 3: a ledger its owner cannot rewrite unseen.

Every test here runs on a freshly *migrated* database (the triggers come from the migrations,
not from ``create_all``). On PostgreSQL the app connects as the runtime role that
``flask db roles`` makes (uniquely named per test, dropped after it: roles are cluster-wide),
and the tampering is done as the superuser with the triggers disabled, which is what the
owner of the tables could do. On SQLite the checkpoint tests run too (there are no roles or
triggers there, and tampering is a plain statement)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask_migrate import upgrade
from nacl.signing import VerifyKey
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests.conftest import PASSWORD, IsolatedClient, mail_body, stored_result
from wijkbudget import create_app
from wijkbudget.accounts import operations as accounts
from wijkbudget.accounts.models import Role
from wijkbudget.audit.models import AuditEvent
from wijkbudget.audit.operations import record
from wijkbudget.extensions import db
from wijkbudget.rounds.models import Phase
from wijkbudget.spending import checkpoints
from wijkbudget.spending import operations as spending
from wijkbudget.spending.models import EntryKind, LedgerCheckpoint, LedgerEntry, SpendingError
from wijkbudget.voting.models import Ballot, BallotChoice, Channel, Participation

PG_URL = os.environ.get("WIJKBUDGET_TEST_DATABASE_URL", "")

APPEND_ONLY_TABLES = (
    "ledger_entry",
    "ledger_checkpoint",
    "audit_event",
    "round_result",
    "round_result_line",
    "ballot",
    "ballot_choice",
    "participation",
)


class Database:
    """The migrated database of one test: ``superuser`` runs SQL around the app's back."""

    def __init__(self, kind: str, url: str, app_url: str) -> None:
        self.kind, self.url, self.app_url = kind, url, app_url
        self.superuser = create_engine(url)

    @property
    def postgresql(self) -> bool:
        return self.kind == "postgresql"

    def run(self, *statements: str, **params: Any) -> list[Any]:
        with self.superuser.begin() as connection:
            return [connection.execute(text(s), params) for s in statements][-1:]

    def scalar(self, statement: str, **params: Any) -> Any:
        with self.superuser.connect() as connection:
            return connection.execute(text(statement), params).scalar()

    def tamper(self, *statements: str) -> None:
        """What the owner of the tables can do: triggers off, change, triggers on."""
        with self.superuser.begin() as connection:
            if self.postgresql:
                for table in APPEND_ONLY_TABLES:
                    connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            for statement in statements:
                connection.execute(text(statement))
            if self.postgresql:
                for table in APPEND_ONLY_TABLES:
                    connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrated.sqlite'}"
        migrate(url)
        database = Database("sqlite", url, url)
        yield database
        database.superuser.dispose()
        return
    if not PG_URL.startswith("postgresql"):
        pytest.skip("PostgreSQL: set WIJKBUDGET_TEST_DATABASE_URL (.ci/run does)")
    suffix = uuid.uuid4().hex[:10]
    name, owner, runtime = f"wijkbudget_trust_{suffix}", f"wbt_owner_{suffix}", f"wbt_app_{suffix}"
    server = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name)
    try:
        migrate(url.render_as_string(hide_password=False))
        roles_app = create_app(
            {"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
             "TESTING": True, "SECRET_KEY": "x"}
        )  # fmt: skip
        result = roles_app.test_cli_runner().invoke(
            args=["db", "roles", "--owner", owner, "--app", runtime]
        )
        assert result.exit_code == 0, result.output
        with roles_app.app_context():
            db.engine.dispose()
        app_url = url.set(username=runtime, password=None)
        database = Database(
            "postgresql",
            url.render_as_string(hide_password=False),
            app_url.render_as_string(hide_password=False),
        )
        database.owner, database.runtime = owner, runtime  # type: ignore[attr-defined]
        yield database
        database.superuser.dispose()
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            for role in (runtime, owner):
                connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
        server.dispose()


def migrate(url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture
def migrated_app(app_config: dict[str, Any], inbox: Any, database: Database) -> Iterator[Any]:
    """The app on the migrated database (as the runtime role on PostgreSQL)."""
    inbox.clear()
    application = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": database.app_url})
    application.test_client_class = IsolatedClient
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(migrated_app: Any) -> Any:
    """Overrides the conftest's, so that the factories and clients use the migrated database."""
    return migrated_app


def postgresql_only(database: Database) -> None:
    if not database.postgresql:
        pytest.skip("roles and triggers are PostgreSQL's (SQLite has neither)")


def refused(database: Database, statement: str, params: dict[str, Any] | None = None) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        database.run(statement, **(params or {}))


# --- a wijk with a ledger ---------------------------------------------------------------------


def book(wijk_id: int, *amounts: int) -> None:
    for amount in amounts:
        spending.append(wijk_id, EntryKind.GRANT, amount, actor=None, reason=f"toekenning {amount}")
    db.session.commit()


def sign(app: Any) -> Any:
    result = app.test_cli_runner().invoke(args=["ledger", "checkpoint"])
    db.session.expire_all()
    return result


def verify(app: Any, *args: str) -> Any:
    db.session.remove()
    return app.test_cli_runner().invoke(args=["ledger", "verify", *args])


@pytest.fixture
def signed_wijk(app: Any, make_wijk: Any, tmp_path: Path) -> tuple[int, Path]:
    """Wijk West with three entries, a signed checkpoint of them, one entry after it, and the
    councillors' file as downloaded from the site."""
    wijk = make_wijk("West").id
    book(wijk, 100_000, 50_000, 25_000)
    result = sign(app)
    assert result.exit_code == 0, result.output
    assert "ondertekend west 3 " in result.output
    book(wijk, 10_000)
    response = app.test_client().get("/grootboek/controlepunten.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    path = tmp_path / "controlepunten.json"
    path.write_bytes(response.data)
    return wijk, path


# --- checkpoints ------------------------------------------------------------------------------


def test_a_checkpoint_is_a_signature_over_the_head_that_anyone_can_check(app, signed_wijk):
    wijk, path = signed_wijk
    document = json.loads(path.read_text())
    assert document["algorithm"] == "Ed25519"
    [checkpoint] = document["checkpoints"]
    assert (checkpoint["wijk"], checkpoint["length"]) == ("west", 3)
    third = db.session.scalar(
        select(LedgerEntry).where(LedgerEntry.neighbourhood_id == wijk, LedgerEntry.seq == 3)
    )
    assert checkpoint["head"] == third.hash
    # outside the app: only the public key from the file and the signed text
    key = VerifyKey(bytes.fromhex(document["public_key"]))
    signed_text = checkpoint["signed_text"].encode()
    assert key.verify(signed_text, bytes.fromhex(checkpoint["signature"])) == signed_text
    assert json.loads(signed_text)["head"] == third.hash

    # an unchanged head is not signed twice; a longer chain is
    assert "ongewijzigd west" not in sign(app).output
    assert "ongewijzigd west" in sign(app).output
    lengths = db.session.scalars(select(LedgerCheckpoint.length).order_by(LedgerCheckpoint.id))
    assert list(lengths) == [3, 4]


def test_verify_passes_on_an_intact_chain_that_extends_the_checkpoints(app, signed_wijk):
    _wijk, path = signed_wijk
    result = verify(app, "--checkpoints", str(path))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok 4 ")
    page = app.test_client().get("/wijk/west/geld/grootboek").get_data(as_text=True)
    assert "Grootboek intact tot en met boeking 4." in page
    assert "Laatste ondertekende controlepunt: boeking 3" in page


TAMPERING = {
    # the last two entries gone: a shorter chain that is consistent in itself
    "cut tail": ["DELETE FROM ledger_entry WHERE seq > 2"],
    "truncated": ["DELETE FROM ledger_entry"],  # TRUNCATE on PostgreSQL, below
    # every entry rewritten with another amount and the chain recomputed from scratch
    "recomputed": ["DELETE FROM ledger_entry"],
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_verify_with_the_councillors_file_names_the_wijk_whose_chain_was_rewritten(
    app, database, signed_wijk, how
):
    wijk, path = signed_wijk
    statements = list(TAMPERING[how])
    if how == "truncated" and database.postgresql:
        # CASCADE: the income booked in it refers to the ledger (wijk_income.entry_id)
        statements = ["TRUNCATE ledger_entry CASCADE"]
    # the owner hides the evidence in the database too: the stored checkpoints go as well
    database.tamper(*statements, "DELETE FROM ledger_checkpoint")
    if how == "recomputed":
        db.session.remove()
        book(wijk, 100_001, 50_000, 25_000, 10_000)  # a chain as long, and consistent

    chain_only = verify(app)
    assert chain_only.exit_code == 0, chain_only.output  # the chain alone looks fine

    result = verify(app, "--checkpoints", str(path))
    assert result.exit_code == 1, result.output
    assert "checkpoint west:" in result.output
    expected = "herschreven" if how == "recomputed" else "verdwenen"
    assert expected in result.output


@pytest.mark.parametrize("how", list(TAMPERING))
def test_the_public_page_says_the_chain_no_longer_extends_its_checkpoint(
    app, database, signed_wijk, how
):
    wijk, _path = signed_wijk
    database.tamper(*TAMPERING[how])
    if how == "recomputed":
        db.session.remove()
        book(wijk, 100_001, 50_000, 25_000, 10_000)
    # without --checkpoints, verify checks the stored ones
    result = verify(app)
    assert result.exit_code == 1 and "checkpoint west:" in result.output, result.output

    client = app.test_client()
    for url in ("/wijk/west/geld/grootboek", "/wijk/west/geld"):
        page = client.get(url).get_data(as_text=True)
        assert "Het grootboek klopt niet meer met een ondertekend controlepunt." in page, url
        assert "Grootboek intact" not in page, url
    # and a chain that no longer extends its checkpoint is not signed again
    again = sign(app)
    assert again.exit_code == 1 and "NIET ondertekend west" in again.output


def test_a_changed_old_entry_is_not_called_intact_either(app, database, signed_wijk):
    database.tamper("UPDATE ledger_entry SET amount_cents = 1 WHERE seq = 2")
    page = app.test_client().get("/wijk/west/geld/grootboek").get_data(as_text=True)
    assert "Grootboek intact" not in page
    assert "klopt niet vanaf boeking 2" in page


def test_a_checkpoint_with_a_forged_signature_fails(app, signed_wijk, tmp_path):
    _wijk, path = signed_wijk
    document = json.loads(path.read_text())
    document["checkpoints"][0]["signature"] = "00" * 64
    forged = tmp_path / "vals.json"
    forged.write_text(json.dumps(document))
    result = verify(app, "--checkpoints", str(forged))
    assert result.exit_code == 1
    assert "checkpoint west:" in result.output and "niet ondertekend" in result.output


def test_checkpoints_are_mailed_to_every_councillor(app, make_wijk, make_user, inbox):
    wijk = make_wijk("West")
    councillor = make_user("raad@example.org", roles=((Role.COUNCILLOR, None),))
    make_user("bewoner@example.org", wijk=wijk)
    book(wijk.id, 1_000)
    result = app.test_cli_runner().invoke(args=["ledger", "checkpoint", "--mail"])
    assert result.exit_code == 0, result.output
    assert "gemaild aan 1 raadsleden" in result.output
    [message] = inbox.to(councillor.email)
    body = mail_body(message)
    assert "west: tot en met boeking 1" in body
    document = json.loads(body.split("--- controlepunten.json ---")[1].split("\n---")[0])
    assert document["checkpoints"][0]["length"] == 1
    assert inbox.to("bewoner@example.org") == []


def test_the_api_and_its_description_list_the_checkpoints(app, signed_wijk):
    client = app.test_client()
    document = client.get("/api/v1/controlepunten").get_json()
    assert document["public_key"] == checkpoints.public_key_hex()
    assert [c["length"] for c in document["checkpoints"]] == [3]
    page = client.get("/api/v1/wijken/west/controlepunten").get_json()
    assert page["total"] == 1 and page["items"][0]["head"] == document["checkpoints"][0]["head"]
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/controlepunten", "/api/v1/wijken/{slug}/controlepunten"} <= set(paths)


def test_the_councillors_page_explains_the_procedure(app, signed_wijk):
    page = app.test_client().get("/grootboek/controlepunten").get_data(as_text=True)
    assert "Wat is een controlepunt?" in page
    assert "ledger verify --checkpoints" in page
    assert checkpoints.public_key_hex() in page
    for endpoint in ("spending.checkpoints_page", "spending.checkpoints_file"):
        assert app.view_functions[endpoint].required_role == "public"
    for endpoint in ("api.all_checkpoints", "api.checkpoints_of_wijk"):
        assert app.view_functions[endpoint].required_role == "public"


def test_stored_checkpoints_cannot_be_changed_through_the_app(app, signed_wijk):
    checkpoint = db.session.scalar(select(LedgerCheckpoint))
    checkpoint.length = 1
    with pytest.raises(SpendingError):
        db.session.flush()
    db.session.rollback()


def test_production_needs_the_checkpoint_key(tmp_path, monkeypatch):
    from wijkbudget.config import ConfigError

    monkeypatch.setenv("WIJKBUDGET_INSTANCE_PATH", str(tmp_path / "instance"))
    for key in list(os.environ):
        if key.startswith(("WIJKBUDGET_", "FLASK_")) and key != "WIJKBUDGET_INSTANCE_PATH":
            monkeypatch.delenv(key)
    monkeypatch.setenv("WIJKBUDGET_PUBLIC_URL", "https://wijkbudget.example.nl")
    monkeypatch.setenv("WIJKBUDGET_FINGERPRINT_KEY", "f" * 64)  # part 2's key, required too
    with pytest.raises(ConfigError, match="CHECKPOINT_PUBLIC_KEY"):
        create_app()
    monkeypatch.setenv("WIJKBUDGET_CHECKPOINT_PUBLIC_KEY", "not hex")
    with pytest.raises(ConfigError, match="64 hexadecimal"):
        create_app()
    seed = "11" * 32
    monkeypatch.delenv("WIJKBUDGET_CHECKPOINT_PUBLIC_KEY")
    monkeypatch.setenv("WIJKBUDGET_CHECKPOINT_KEY", seed)
    app = create_app()
    with app.app_context():
        assert not checkpoints.key_is_derived()
        assert checkpoints.signing_key().encode().hex() == seed


# --- the runtime role -------------------------------------------------------------------------


def test_the_runtime_role_cannot_truncate_the_ledger_nor_disable_its_trigger(
    app, database, signed_wijk
):
    postgresql_only(database)
    assert db.session.scalar(text("SELECT current_user")) == database.runtime
    db.session.remove()
    for statement, match in (
        ("TRUNCATE ledger_entry", "permission denied"),
        ("ALTER TABLE ledger_entry DISABLE TRIGGER ALL", "must be owner"),
        ("ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_append_only", "must be owner"),
        ("DROP TRIGGER ledger_entry_append_only ON ledger_entry", "must be owner"),
        ("UPDATE ledger_entry SET amount_cents = 1", "permission denied"),
        ("DELETE FROM ledger_entry", "permission denied"),
        ("DELETE FROM ledger_checkpoint", "permission denied"),
        ("UPDATE audit_event SET action = 'x'", "permission denied"),
        ("DELETE FROM round_result", "permission denied"),
        ("TRUNCATE audit_event", "permission denied"),
        ("SET session_replication_role = replica", "permission denied"),
    ):
        with pytest.raises(DBAPIError, match=match):
            db.session.execute(text(statement))
        db.session.rollback()
    assert database.scalar("SELECT count(*) FROM ledger_entry") == 4
    # and the owner, which may disable triggers, is refused TRUNCATE while they are on (also
    # with CASCADE, which the foreign key from the income booked in it calls for)
    with pytest.raises(DBAPIError, match="append-only"), database.superuser.begin() as connection:
        connection.execute(text(f"SET ROLE {database.owner}"))
        connection.execute(text("TRUNCATE ledger_entry CASCADE"))


def test_the_roles_command_prints_its_sql_and_changes_nothing(app, database):
    result = app.test_cli_runner().invoke(
        args=["db", "roles", "--print", "--owner", "eigenaar", "--app", "toepassing"]
    )
    assert result.exit_code == 0, result.output
    assert "ALTER DEFAULT PRIVILEGES FOR ROLE eigenaar" in result.output
    assert "REVOKE UPDATE, DELETE ON %I FROM toepassing" in result.output
    if database.postgresql:
        assert database.scalar("SELECT count(*) FROM pg_roles WHERE rolname = 'eigenaar'") == 0
    bad = app.test_cli_runner().invoke(args=["db", "roles", "--print", "--app", "x; DROP"])
    assert bad.exit_code == 2


# --- append-only in PostgreSQL ----------------------------------------------------------------


@pytest.fixture
def closed_round(app, make_wijk, make_user, make_round, make_proposal) -> dict[str, Any]:
    """A round with a stored result, one ballot and the participation of a voter who also has
    an audit trace; and an open round with a ballot."""
    wijk = make_wijk("West")
    voter = make_user("kiezer@example.org", wijk=wijk)
    board = make_user("bestuur@example.org", wijk=wijk, roles=((Role.BOARD, wijk),))
    rnd = make_round(wijk, Phase.VOTING)
    proposal = make_proposal(rnd, voter)
    open_round = make_round(wijk, Phase.VOTING, title="Nog open")
    db.session.add_all(
        [
            Participation(round_id=rnd.id, user_id=voter.id, channel=Channel.ONLINE),
            Ballot(round_id=rnd.id, choices=[BallotChoice(proposal_id=proposal.id, points=1)]),
            Ballot(round_id=open_round.id),
            stored_result(rnd, proposal, board, ballots=1),
        ]
    )
    record("vote.test", actor=voter, role="resident", obj=rnd, neighbourhood=wijk)
    db.session.commit()
    return {"round": rnd, "open": open_round, "voter": voter, "board": board}


def test_the_audit_log_result_and_ballots_of_a_closed_round_are_append_only(database, closed_round):
    postgresql_only(database)
    ids = {"rnd": closed_round["round"].id, "open": closed_round["open"].id}
    for statement in (
        "UPDATE audit_event SET action = 'anders'",
        "DELETE FROM audit_event",
        # emptying the actor is allowed, but not together with another change
        "UPDATE audit_event SET actor_id = NULL, after = 'x'",
        "UPDATE round_result SET cost_cents = 1",
        "UPDATE round_result SET closed_by_id = NULL, notes = 'x'",
        "DELETE FROM round_result",
        "UPDATE round_result_line SET funded = false",
        "DELETE FROM round_result_line",
        "UPDATE ballot SET round_id = :open WHERE round_id = :rnd",
        "DELETE FROM ballot WHERE round_id = :rnd",
        "UPDATE ballot_choice SET points = 2",
        "DELETE FROM ballot_choice",
        "DELETE FROM participation WHERE round_id = :rnd",
        "UPDATE participation SET channel = 'code' WHERE round_id = :rnd",
    ):
        refused(database, statement, ids)
    # moving an open round's ballot into the closed round is refused too
    refused(database, "UPDATE ballot SET round_id = :rnd WHERE round_id = :open", ids)
    for table in APPEND_ONLY_TABLES:
        refused(database, f"TRUNCATE {table} CASCADE")
    assert database.scalar("SELECT count(*) FROM ballot_choice") == 1
    assert database.scalar("SELECT cost_cents FROM round_result") == 250_000

    # what stays allowed: erasing a link to a person; a ballot of a round without a result
    database.run("UPDATE audit_event SET actor_id = NULL")
    database.run("UPDATE round_result SET closed_by_id = NULL")
    # (whether a participation may lose both its links is the check constraint's business,
    # issue 19 part 2; here only the trigger is asked)
    database.run("ALTER TABLE participation DROP CONSTRAINT ck_participation_who")
    database.run(
        "UPDATE participation SET user_id = NULL, code_id = NULL WHERE round_id = :rnd", **ids
    )
    database.run("DELETE FROM ballot WHERE round_id = :open", **ids)
    assert database.scalar("SELECT count(*) FROM audit_event WHERE actor_id IS NULL") >= 1


def test_deleting_an_account_still_works_with_the_triggers(app, database, closed_round):
    """As the runtime role on PostgreSQL: the account of a voter of a closed round, with audit
    events of their own, is deleted; the vote and the trace stay."""
    voter = closed_round["voter"]
    accounts.delete_account(voter, PASSWORD)
    db.session.expire_all()
    assert voter.is_deleted and voter.email is None
    assert database.scalar("SELECT count(*) FROM participation") == 1
    assert database.scalar("SELECT count(*) FROM ballot_choice") == 1
    events = db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == voter.id))
    assert {"vote.test", "account.delete"} <= set(events)
