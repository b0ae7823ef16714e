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
            ...the invariant holds...
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

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
