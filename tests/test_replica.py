"""The read replica: visitors without a session read from it, everyone else from the primary.

The "replica" here is a second database of the same kind whose data differ on purpose (the wijk
is called "Westkwartier" there, "West" on the primary), so every page shows where it read from.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, event, insert, select, text, update
from sqlalchemy.engine import make_url

from tests.conftest import FormClient
from wijkbudget.extensions import db
from wijkbudget.neighbourhoods.models import Neighbourhood
from wijkbudget.replica import BIND


@pytest.fixture
def replica_url(db_url: str, tmp_path: Any) -> Iterator[str]:
    primary = make_url(db_url)
    if primary.get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / 'replica.sqlite'}"
        return
    name = f"wb_replica_{uuid.uuid4().hex[:8]}"
    admin = create_engine(primary.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield primary.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def app_config(app_config: dict[str, Any], replica_url: str) -> dict[str, Any]:
    """The suite's app (conftest.py), with a replica."""
    return {**app_config, "DATABASE_REPLICA_URL": replica_url}


@pytest.fixture
def replica_app(app: Any) -> Iterator[Any]:
    replica = db.engines[BIND]
    db.metadata.create_all(replica)
    db.session.add(Neighbourhood(name="West", slug="west", description=""))
    db.session.commit()
    with replica.begin() as connection:
        connection.execute(
            insert(Neighbourhood.__table__).values(name="Westkwartier", slug="west", description="")
        )
    yield app
    replica.dispose()


@pytest.fixture
def replica_statements(replica_app: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = db.engines[BIND]
    event.listen(engine, "before_cursor_execute", before)
    yield statements
    event.remove(engine, "before_cursor_execute", before)


def test_a_visitor_without_a_session_reads_from_the_replica(replica_app, replica_statements):
    visitor = replica_app.test_client()
    page = visitor.get("/wijk/west").get_data(as_text=True)
    assert "Westkwartier" in page
    api = visitor.get("/api/v1/wijken").get_json()
    assert [w["name"] for w in api["items"]] == ["Westkwartier"]
    assert replica_statements


def test_anyone_with_a_session_reads_from_the_primary(replica_app, replica_statements, make_user):
    wijk = db.session.scalar(select(Neighbourhood).where(Neighbourhood.slug == "west"))
    resident = FormClient(replica_app.test_client())
    resident.login(make_user(wijk=wijk).email)
    replica_statements.clear()
    page = resident.get("/wijk/west").get_data(as_text=True)
    assert "West" in page and "Westkwartier" not in page
    assert replica_statements == []


def test_a_form_sent_uses_the_primary(replica_app, replica_statements):
    visitor = FormClient(replica_app.test_client())  # a code voter: the form gives a session
    token = visitor.csrf("/stem")
    replica_statements.clear()
    refused = visitor.post("/stem", {"code": "AAAAA-BBBBB", "csrf_token": token})
    assert refused.status_code == 422
    assert replica_statements == []


def test_after_a_write_the_request_reads_from_the_primary(replica_app):
    name = select(Neighbourhood.name).where(Neighbourhood.slug == "west")
    with replica_app.test_request_context("/wijk/west"):
        replica_app.preprocess_request()
        assert db.session.scalar(name) == "Westkwartier"
        assert db.session.scalar(name.with_for_update()) == "West"  # a lock: the primary
        # and from then on, the whole request stays there
        assert db.session.scalar(name) == "West"
        db.session.rollback()
    with replica_app.test_request_context("/wijk/west"):
        replica_app.preprocess_request()
        assert db.session.scalar(name) == "Westkwartier"
        db.session.execute(update(Neighbourhood).values(description="nieuw"))
        assert db.session.scalar(name) == "West"
        assert db.session.scalar(select(Neighbourhood.description)) == "nieuw"
        db.session.rollback()
