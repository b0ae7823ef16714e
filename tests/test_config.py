"""Configuration layers, the generated secret key, SQLite settings, and the security defaults."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from wijkbudget import create_app
from wijkbudget.extensions import db
from wijkbudget.neighbourhoods.models import Neighbourhood
from wijkbudget.replica import BIND


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "instance"
    monkeypatch.setenv("WIJKBUDGET_INSTANCE_PATH", str(path))
    for key in list(os.environ):
        if key.startswith("WIJKBUDGET_") and key != "WIJKBUDGET_INSTANCE_PATH":
            monkeypatch.delenv(key)
    monkeypatch.setenv("WIJKBUDGET_PUBLIC_URL", "https://wijkbudget.example.nl")
    monkeypatch.setenv("WIJKBUDGET_CHECKPOINT_PUBLIC_KEY", "ab" * 32)  # required like the URL
    monkeypatch.setenv("WIJKBUDGET_FINGERPRINT_KEY", "cd" * 32)  # and so is this
    return path


def test_defaults_are_safe(instance):
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["WTF_CSRF_ENABLED"] is not False
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'wijkbudget.sqlite'}"
    assert app.config["MAIL_BACKEND"] == "file" and app.config["MAIL_DIR"] == str(instance / "mail")


def test_secret_key_is_generated_once_into_instance(instance):
    first = create_app().config["SECRET_KEY"]
    key_file = instance / "secret_key"
    assert key_file.read_text().strip() == first and len(first) >= 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert create_app().config["SECRET_KEY"] == first


def test_layers_defaults_instance_file_environment_overrides(instance, monkeypatch):
    instance.mkdir(parents=True)
    (instance / "config.py").write_text(
        'PAGE_SIZE = 7\nLOG_LEVEL = "WARNING"\nMAIL_FROM = "bestand"\n'
    )
    monkeypatch.setenv("WIJKBUDGET_PAGE_SIZE", "9")
    monkeypatch.setenv("WIJKBUDGET_COOKIE_SECURE", "nee")
    monkeypatch.setenv("WIJKBUDGET_SECRET_KEY", "uit-de-omgeving")
    monkeypatch.setenv(
        "WIJKBUDGET_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/elders"
    )
    app = create_app({"MAIL_FROM": "test"})
    assert app.config["LOG_LEVEL"] == "WARNING"  # instance file
    assert app.config["PAGE_SIZE"] == 9  # environment beats the file
    assert app.config["MAIL_FROM"] == "test"  # overrides beat everything
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SECRET_KEY"] == "uit-de-omgeving" and not (instance / "secret_key").exists()
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_bad_environment_value_is_named(instance, monkeypatch):
    monkeypatch.setenv("WIJKBUDGET_PAGE_SIZE", "veel")
    with pytest.raises(ValueError, match="WIJKBUDGET_PAGE_SIZE"):
        create_app()


def test_sqlite_has_foreign_keys_and_wal(instance):
    app = create_app()
    with app.app_context():
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        db.engine.dispose()


def test_wsgi_exposes_app(instance):
    import importlib

    import wsgi

    importlib.reload(wsgi)
    assert wsgi.app.name == "wijkbudget"


def _kill_connections(url: str, name: str) -> int:
    """End the database connections of one app, as a restart of PostgreSQL would."""
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        return len(
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            ).all()
        )


@pytest.mark.parametrize("rest", [0, 3600])
def test_a_connection_that_died_while_resting_is_replaced(app_config, rest):
    """PostgreSQL: a pooled connection that rested is tested before use, so a database restart
    costs no request; within the rest time no ping is made (and a dead connection shows)."""
    if not app_config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("pooled connections to PostgreSQL")
    name = f"wb-ping-{rest}"
    app = create_app(
        {
            **app_config,
            "DATABASE_PING_AFTER_SECONDS": rest,
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"application_name": name}},
        }
    )
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert _kill_connections(app_config["SQLALCHEMY_DATABASE_URI"], name) >= 1
    if rest:  # the dead connection shows: a 503 "try again in a minute", not a 500
        response = client.get("/")
        assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    assert client.get("/").status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_without_a_replica_there_is_one_database(app):
    assert BIND not in db.engines
    with app.test_request_context("/wijk/west"):
        app.preprocess_request()
        assert db.session.get_bind(clause=select(Neighbourhood.name)) is db.engine
