"""Races against the real PostgreSQL: N requests released at the same instant.

Each contender gets its own test client (its own cookies, its own request context and so its own
database session and connection from the pool) and does its preparation first (log in, fetch
the form's token); then all wait at one ``threading.Barrier`` and send their request together.
SQLite serialises every writer, so these tests only mean something on PostgreSQL: mark a module
with ``pytestmark = postgres_only``.

    def test_two_board_members_approve_at_once(app, ...):
        def contender(i):
            client = logged_in_client(board_member)
            token = client.csrf("/some/page")
            return lambda: client.post(url, {"csrf_token": token})

        for _ in repeat():
            responses = race(8, contender)
            assert_no_server_errors(responses)
            fresh()
            ...the invariant holds...

The race modules share the rest from here too: ``press_at_once`` (every tab sends the same
form at once), ``send``, ``tab_of``, a ``BoardScene`` (wijk Noord and two board members) to
build a module's scene on, and ``fresh``, ``count`` and ``audits`` to read the invariants.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, func, select

from wijkbudget.accounts.models import Role, User
from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db
from wijkbudget.neighbourhoods.models import Neighbourhood

#: how often each race is run in a test (a race that holds once may have been lucky)
REPEAT = int(os.environ.get("WIJKBUDGET_RACE_REPEAT", "3"))

postgres_only = pytest.mark.skipif(
    not os.environ.get("WIJKBUDGET_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="a race needs PostgreSQL (SQLite serialises all writers); .ci/run runs it there",
)


def repeat(times: int = REPEAT) -> Iterator[int]:
    """The attempts of one race: ``for attempt in repeat(): ...`` with fresh data each time."""
    return iter(range(times))


def race(
    n: int, contender: Callable[[int], Callable[[], Any]], *, timeout: float = 60.0
) -> list[Any]:
    """Prepare ``n`` contenders (``contender(i)`` returns the action to race), start them in
    ``n`` threads that meet at a barrier, and return what each action returned (the response),
    in contender order. An exception in an action is re-raised here after all have ended."""
    actions = [contender(i) for i in range(n)]
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException | None] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout)
            results[i] = actions[i]()
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            errors[i] = error

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a contender did not finish: a lock that is never released?"
    for error in errors:
        if error is not None:
            raise error
    return results


def statuses(responses: list[Any]) -> list[int]:
    return [r.status_code for r in responses]


def assert_no_server_errors(responses: list[Any]) -> None:
    """No contender got a 5xx: a refusal is a 409/422 or an idempotent success."""
    codes = statuses(responses)
    assert all(code < 500 for code in codes), codes


# --- the contenders -----------------------------------------------------------------------------


def send(client: Any, token: str, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    """Post ``data`` to ``url`` with the form token fetched before the race (no page is fetched
    on the way: what is raced is the post alone)."""
    return client.raw.post(url, data={"csrf_token": token, **(data or {})}, **kw)


def press_at_once(
    tabs: list[tuple[Any, str]],
    url: str,
    data: dict[str, Any] | Callable[[int], dict[str, Any]] | None = None,
) -> list[Any]:
    """Every tab (a logged-in client and its form token, as the ``clients`` fixture makes them)
    sends the same form at the same instant: a double click, several tabs, or several people
    pressing one button. ``data`` may be a function of the tab's number. Returns the responses
    in tab order; none of them is a 5xx."""

    def contender(i: int) -> Callable[[], Any]:
        client, token = tabs[i]
        form = data(i) if callable(data) else data
        return lambda: send(client, token, url, form)

    responses = race(len(tabs), contender)
    assert_no_server_errors(responses)
    return responses


def tab_of(client: Any, make_client: Any) -> Any:
    """Another tab of the same browser: a client with ``client``'s cookies (its login and its
    session's form token) and its own request context, session and connection, without
    logging in again (that hashes a password: slow)."""
    tab = make_client()
    for cookie in client.raw._cookies.values():
        tab.raw.set_cookie(
            cookie.key,
            cookie.value,
            domain=cookie.domain,
            origin_only=cookie.origin_only,
            path=cookie.path,
        )
    return tab


# --- the scene and the invariants ---------------------------------------------------------------


@dataclass
class BoardScene:
    """Wijk Noord and two members of its board: what the scenes of most race modules start
    from (a module's ``Scene`` adds its own rounds and people)."""

    wijk: Neighbourhood
    slug: str  # read in the contenders' threads, where the test's session is not at hand
    board: User
    board2: User


def board_scene(make_wijk: Any, make_user: Any) -> dict[str, Any]:
    """The fields of a new :class:`BoardScene`: wijk Noord, with bestuur@ and bestuur2@example.org
    on its board. A module passes them on with its own: ``Scene(**board_scene(...), ...)``."""
    wijk = make_wijk("Noord")
    board = ((Role.BOARD, wijk),)
    return {
        "wijk": wijk,
        "slug": wijk.slug,
        "board": make_user("bestuur@example.org", wijk=wijk, roles=board),
        "board2": make_user("bestuur2@example.org", wijk=wijk, roles=board),
    }


def fresh() -> None:
    """The test's own session forgets what it read: the invariants are read from the database."""
    db.session.rollback()
    db.session.expire_all()


def count(model: Any, *where: Any) -> int:
    """The number of rows of ``model`` that meet the conditions ``where``."""
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audits(action: str, object_id: int, object_type: str | None = None) -> int:
    """How many audit records of ``action`` there are on the object."""
    where = [AuditEvent.action == action, AuditEvent.object_id == object_id]
    if object_type is not None:
        where.append(AuditEvent.object_type == object_type)
    return count(AuditEvent, *where)


@contextmanager
def database_outage(engine):
    """The database is gone: every statement on a connection and every new connection fails
    the way the driver fails when the server went away (SQLAlchemy wraps it as it would)."""
    gone = engine.dialect.loaded_dbapi.OperationalError

    def refuse(*_args, **_kwargs):
        raise gone("server closed the connection unexpectedly")

    hooks = [("do_connect", refuse), ("do_execute", refuse), ("do_execute_no_params", refuse),
             ("do_executemany", refuse)]  # fmt: skip
    for name, hook in hooks:
        event.listen(engine, name, hook)
    try:
        yield
    finally:
        for name, hook in hooks:
            event.remove(engine, name, hook)
