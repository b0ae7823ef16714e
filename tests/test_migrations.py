"""The migrations build the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from wijkbudget import create_app
from wijkbudget.extensions import db

PG_URL = os.environ.get("WIJKBUDGET_TEST_DATABASE_URL", "")


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite'}"
        return
    if not PG_URL.startswith("postgresql"):
        pytest.skip("PostgreSQL: set WIJKBUDGET_TEST_DATABASE_URL (.ci/run does)")
    # a database of its own, next to the test database, so the migration starts from nothing
    name = f"wijkbudget_migrate_{uuid.uuid4().hex[:10]}"
    server = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def differences(app) -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": False}
        )
        return compare_metadata(context, db.metadata)


def test_migrations_match_the_models(fresh_database):
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": fresh_database, "TESTING": True, "SECRET_KEY": "x"}
    )
    with app.app_context():
        upgrade()
        assert differences(app) == []
        tables = set(inspect(db.engine).get_table_names())
        assert {
            "neighbourhood",
            "area",
            "postcode_range",
            "user_account",
            "role_assignment",
            "audit_event",
        } <= tables

        # every migration can be undone and redone
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert differences(app) == []
        db.engine.dispose()


def test_the_ledger_is_append_only_in_postgresql(fresh_database):
    """The migration's trigger: a raw UPDATE or DELETE of a ledger row fails, whoever runs it."""
    if not fresh_database.startswith("postgresql"):
        pytest.skip("the trigger is PostgreSQL's (SQLite: the application has no such path)")
    from sqlalchemy.exc import DBAPIError

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": fresh_database, "TESTING": True, "SECRET_KEY": "x"}
    )
    with app.app_context():
        upgrade()
        with db.engine.begin() as connection:
            wijk = connection.execute(
                text(
                    "INSERT INTO neighbourhood (name, slug, description, created_at) "
                    "VALUES ('Noord', 'noord', '', now()) RETURNING id"
                )
            ).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO ledger_entry (neighbourhood_id, seq, kind, amount_cents, reason,"
                    " created_at, prev_hash, hash) VALUES (:w, 1, 'grant', 100, '', now(),"
                    " repeat('0', 64), repeat('a', 64))"
                ),
                {"w": wijk},
            )
        for statement in (
            "UPDATE ledger_entry SET amount_cents = 1",
            "DELETE FROM ledger_entry",
        ):
            with (
                pytest.raises(DBAPIError, match="append-only"),
                db.engine.begin() as connection,
            ):
                connection.execute(text(statement))
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT amount_cents FROM ledger_entry")).scalar() == 100
        db.engine.dispose()
