"""The application factory: config layers, extensions, blueprints, error pages, the command line,
and the engine hooks (a ping after idle, SQLite's pragmas). ``wijkbudget.create_app`` hands over
to it, so that importing the package (``python -m wijkbudget.tally``) loads no Flask."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from typing import Any

from flask import Flask, request
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, UnicodeConverter

from . import (
    cli,
    errors,
    guards,
    htmx,
    i18n,
    logredact,
    mail,
    maintenance,
    money,
    pagecache,
    permissions,
    replica,
    security,
    text,
    urls,
)
from .accounts.views import bp as accounts_bp
from .api.views import bp as api_bp
from .audit.views import bp as audit_bp
from .config import load_config
from .dialogue.views import bp as dialogue_bp
from .extensions import csrf, db, limiter, login_manager, migrate, utcnow
from .maps.views import bp as maps_bp
from .neighbourhoods.views import bp as neighbourhoods_bp
from .notifications.views import bp as notifications_bp
from .paths import ROOT
from .proposals.models import State, state_label
from .proposals.status import board_request, status_explained
from .proposals.views import bp as proposals_bp
from .results.views import bp as results_bp
from .rounds.models import Phase, phase_explained, phase_label
from .rounds.views import bp as rounds_bp
from .spending.views import bp as spending_bp
from .start.views import bp as start_bp
from .voting.register_views import bp as voting_register_bp
from .voting.views import bp as voting_bp
from .voting.views import voting_banner


class DatabaseIntConverter(IntegerConverter):
    """``<int:…>`` from 0 up to the largest 32-bit integer (PostgreSQL's ``integer``)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class PlainTextConverter(UnicodeConverter):
    """``<slug>``, ``<token>``: a path segment without control characters. No slug or token has
    one, and a NUL would reach the database (PostgreSQL refuses it in text: a 500), so such a
    URL is "not found"."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00-\\x1f\\x7f]", 1)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: config layers, extensions, blueprints, error pages, CLI."""

    app = Flask(
        "wijkbudget",  # the package (this module is its factory)
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=os.environ.get("WIJKBUDGET_INSTANCE_PATH") or str(ROOT / "instance"),
        instance_relative_config=True,
    )
    # every <int:…> in a URL fits a database integer: a bigger number is "not found", not a 500
    app.url_map.converters["int"] = DatabaseIntConverter
    # and every other <…> is text without control characters: a NUL is "not found", not a 500
    app.url_map.converters["default"] = app.url_map.converters["string"] = PlainTextConverter
    load_config(app, config)
    logging.basicConfig(level=app.config["LOG_LEVEL"])

    if app.config.get("PROXY_FIX"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():  # the primary, and the read replica if there is one
            if engine.dialect.name == "postgresql":
                ping_after_idle(engine, app.config["DATABASE_PING_AFTER_SECONDS"])
    pagecache.init_app(app, db)  # first: its hooks must run before (and after) all others
    replica.init_app(app, db)  # after it: a page served from the cache reads nothing
    maintenance.init_app(app, db)  # before the CSRF check and the limits: a write gets the 503
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)

    @app.before_request
    def cap_form_bodies() -> None:
        """Before anything reads the form (the CSRF check): only a form with a file (multipart)
        may be as big as MAX_CONTENT_LENGTH, each of its text fields at most
        MAX_FORM_MEMORY_SIZE; any other body at most FORM_MAX_BYTES (413)."""

        if request.mimetype != "multipart/form-data":
            request.max_content_length = app.config["FORM_MAX_BYTES"]

    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    mail.init_app(app)
    money.init_app(app)
    text.init_app(app)
    security.init_app(app)
    logredact.init_app(app)  # voting codes (the letters' QR addresses) out of every log
    urls.init_app(app)

    app.register_blueprint(neighbourhoods_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(rounds_bp)
    app.register_blueprint(proposals_bp)
    app.register_blueprint(dialogue_bp)
    app.register_blueprint(voting_bp)
    app.register_blueprint(voting_register_bp)
    app.register_blueprint(results_bp)
    app.register_blueprint(spending_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(start_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(maps_bp)
    app.context_processor(voting_banner)

    htmx.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    app.jinja_env.globals.update(
        is_admin=permissions.is_admin,
        can_read_audit=permissions.can_read_audit,
        role_name=permissions.role_name,
        role_label=permissions.role_label,
        is_board=permissions.is_board,
        phase_label=phase_label,
        phase_explained=phase_explained,
        utcnow=utcnow,  # (the round pages: 'Stem nu' only while a vote can be cast)
        state_label=state_label,
        status_explained=status_explained,  # a proposal's status in a sentence
        board_request=board_request,  # what the board asked to change (the edit page)
        Phase=Phase,
        State=State,
    )

    @app.get("/healthz")
    @guards.public
    def healthz() -> tuple[str, int, dict[str, str]]:
        # "ok", or "maintenance: …" (still 200: the pages are served; see maintenance.py)
        text, headers = maintenance.health()
        return text, 200, {"Content-Type": "text/plain; charset=utf-8", **headers}

    return app


def ping_after_idle(engine: Engine, seconds: float) -> None:
    """Like ``pool_pre_ping``, but only for a connection that was idle for ``seconds``: under
    load, connections go straight back to work without a round trip to the database on every
    request; after a quiet spell (when a restart of the database may have gone unnoticed) the
    first use tests it, and a dead connection is replaced instead of failing a request."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _rested_since(dbapi_connection: Any, record: Any) -> None:
        record.info["wijkbudget_checkin"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        rested = record.info.get("wijkbudget_checkin")
        if rested is not None and time.monotonic() - rested < seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
            dbapi_connection.rollback()  # the ping opened a transaction; the request starts clean
        except Exception as error:
            # the pool drops this connection and hands out a fresh one
            raise exc.DisconnectionError(str(error)) from error


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Foreign keys on and WAL journal for every SQLite connection."""

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
