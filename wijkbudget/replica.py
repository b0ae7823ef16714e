"""Reads of visitors without a session from a PostgreSQL read replica (optional).

With ``WIJKBUDGET_DATABASE_REPLICA_URL`` set, a GET request without any cookie (the visitors the
page cache serves, ``pagecache.anonymous_read``: people opening a link, the open data API) reads
from that database; every other request — anyone logged in, a voter with a code, the board,
every form sent — uses the primary (``DATABASE_URL``) for everything, so nobody reads back a
change of their own from a replica that has not caught up yet. Within a replica request, the
first statement that is not a plain SELECT (a write, a flush, ``SELECT … FOR UPDATE``,
``session.connection()``) moves the rest of that request to the primary.

A change shows on those public pages once the replica has it: its lag, plus at most
``PAGE_CACHE_SECONDS`` when a page was cached from the replica just before it caught up.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Select

from .pagecache import anonymous_read

BIND = "replica"  # the key in SQLALCHEMY_BINDS
_USE = "wijkbudget_replica"


class RoutingSession(FlaskSession):
    """Flask-SQLAlchemy's session, sending a replica request's plain SELECTs to the replica."""

    def get_bind(
        self,
        mapper: Any | None = None,
        clause: Any | None = None,
        bind: Any | None = None,
        **kw: Any,
    ) -> Any:
        if bind is None and self.info.get(_USE):
            if (
                isinstance(clause, Select)
                and clause._for_update_arg is None  # noqa: SLF001 (SQLAlchemy has no public test)
                and not self._flushing
            ):
                return self._db.engines[BIND]
            self.info[_USE] = False  # from the first write on: the primary, to the end
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kw)


def init_app(app: Flask, db: Any) -> None:
    if BIND not in app.config.get("SQLALCHEMY_BINDS", {}):
        return

    @app.before_request
    def use_replica() -> None:
        if anonymous_read():
            db.session.info[_USE] = True

    @app.teardown_request
    def done(_error: BaseException | None) -> None:
        if db.session.registry.has():
            db.session.info.pop(_USE, None)
