"""usecase.py: one use case is one transaction, a refused constraint is a 409, a deadlock is
tried again, work after the commit only runs for a saved change."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from tests.concurrency import postgres_only
from tests.conftest import page_raising
from wijkbudget.audit.operations import record
from wijkbudget.errors import DomainError
from wijkbudget.extensions import db
from wijkbudget.neighbourhoods.models import Neighbourhood
from wijkbudget.rounds.models import Category, Phase, Round
from wijkbudget.usecase import ATTEMPTS, Conflict, after_commit, in_use_case, lock, use_case


def description_in_database(wijk_id: int) -> str:
    with db.engine.connect() as connection:
        return connection.execute(
            select(Neighbourhood.description).where(Neighbourhood.id == wijk_id)
        ).scalar_one()


def test_a_use_case_commits_its_change_and_runs_what_waits_for_the_commit(make_wijk):
    wijk = make_wijk()
    done: list[str] = []

    @use_case
    def describe(text: str) -> str:
        assert in_use_case()
        lock(Neighbourhood, wijk.id).description = text
        after_commit(lambda: done.append(description_in_database(wijk.id)))
        assert done == []  # not before the commit
        return "klaar"

    assert describe("Een wijk met veel groen.") == "klaar"
    assert not in_use_case()
    # the callback ran after the commit, and saw the change saved
    assert done == ["Een wijk met veel groen."]


def test_a_refusal_rolls_back_everything_and_skips_what_waits_for_the_commit(make_wijk):
    wijk = make_wijk()
    done: list[int] = []

    @use_case
    def describe_then_refuse() -> None:
        lock(Neighbourhood, wijk.id).description = "half af"
        db.session.flush()
        after_commit(lambda: done.append(1))
        raise DomainError("Dat mag niet.")

    with pytest.raises(DomainError):
        describe_then_refuse()
    assert description_in_database(wijk.id) == ""
    assert done == []
    assert db.session.get(Neighbourhood, wijk.id).description == ""


def test_a_constraint_the_database_refuses_is_a_409_with_the_operations_message(make_wijk):
    wijk = make_wijk("West")

    @use_case(conflict="Die naam is al in gebruik.")
    def copy_slug() -> None:
        db.session.add(Neighbourhood(name="Nog een West", slug=wijk.slug, description=""))

    with pytest.raises(Conflict) as caught:
        copy_slug()
    assert caught.value.status == 409
    assert caught.value.message == "Die naam is al in gebruik."
    assert db.session.scalar(select(db.func.count(Neighbourhood.id))) == 1


def test_a_nested_use_case_joins_the_outer_transaction(make_wijk):
    wijk = make_wijk()

    @use_case
    def inner() -> None:
        lock(Neighbourhood, wijk.id).description = "binnen"

    @use_case
    def outer() -> None:
        inner()
        # the inner one did not commit: another connection does not see it yet
        assert description_in_database(wijk.id) == ""
        raise DomainError("toch niet")

    with pytest.raises(DomainError):
        outer()
    assert description_in_database(wijk.id) == ""


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_deadlock_is_tried_again_a_bounded_number_of_times(make_wijk):
    wijk = make_wijk()
    attempts: list[int] = []

    @use_case
    def unlucky(fail_times: int) -> None:
        attempts.append(1)
        lock(Neighbourhood, wijk.id).description = f"poging {len(attempts)}"
        if len(attempts) <= fail_times:
            raise OperationalError("UPDATE …", {}, _Deadlock("deadlock detected"))

    unlucky(2)
    assert len(attempts) == 3
    assert description_in_database(wijk.id) == "poging 3"

    attempts.clear()
    with pytest.raises(OperationalError):
        unlucky(ATTEMPTS)
    assert len(attempts) == ATTEMPTS
    assert description_in_database(wijk.id) == "poging 3"  # nothing of the failed attempts


@postgres_only
def test_a_real_deadlock_on_postgresql_is_retried_and_both_use_cases_land(app, make_wijk):
    """Two use cases lock two rows in opposite order at the same moment: PostgreSQL breaks the
    deadlock by failing one of them, which runs again and lands after the other."""
    first, second = make_wijk("Noord").id, make_wijk("Zuid", postcodes=((3581, 3585),)).id
    barrier = threading.Barrier(2)
    attempts: list[str] = []
    failures: list[BaseException] = []

    @use_case
    def lock_both(name: str, a: int, b: int) -> None:
        attempts.append(name)
        lock(Neighbourhood, a).description += name
        if attempts.count(name) == 1:
            barrier.wait(10)  # both hold their first row now
        lock(Neighbourhood, b).description += name

    def contender(name: str, a: int, b: int) -> None:
        try:
            with app.app_context():
                lock_both(name, a, b)
                db.session.remove()
        except BaseException as error:  # noqa: BLE001
            failures.append(error)

    threads = [
        threading.Thread(target=contender, args=("A", first, second)),
        threading.Thread(target=contender, args=("B", second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert sorted(attempts) in (["A", "A", "B"], ["A", "B", "B"])  # one of them ran twice
    assert sorted(description_in_database(first)) == ["A", "B"]
    assert sorted(description_in_database(second)) == ["A", "B"]


@postgres_only
def test_a_locked_row_does_not_hold_up_new_rows_that_refer_to_it(app, make_wijk, make_round):
    """lock() takes FOR NO KEY UPDATE: the row's state is locked, its key is not. A new row
    that refers to a locked row (its foreign key check takes FOR KEY SHARE) does not wait.

    With FOR UPDATE the foreign keys added locks no lock order shows: a use case holding the
    wijk (every ledger entry: spending.append) that writes a row referring to a round, and one
    holding that round (lock_round: update_round, a move) that writes an audit line referring to
    the wijk, waited for each other: a deadlock, one of them run twice. The same between the
    round and a proposal (thread_for_proposal vs a support), or two people's rows (block_user
    vs post_comment)."""
    wijk = make_wijk()
    wijk_id, round_id = wijk.id, make_round(wijk, Phase.RESULT).id
    barrier = threading.Barrier(2)
    attempts: list[str] = []
    failures: list[BaseException] = []

    @use_case
    def wijk_then_round() -> None:
        attempts.append("wijk")
        lock(Neighbourhood, wijk_id)
        if attempts.count("wijk") == 1:
            barrier.wait(10)  # both hold their row now
        db.session.add(Category(round_id=round_id, name="Nieuw"))
        db.session.flush()

    @use_case
    def round_then_wijk() -> None:
        attempts.append("round")
        lock(Round, round_id)
        if attempts.count("round") == 1:
            barrier.wait(10)
        record("round.update", actor=None, role="system", neighbourhood=wijk_id)
        db.session.flush()

    def contender(operation: Any) -> None:
        try:
            with app.app_context():
                operation()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001
            failures.append(error)

    threads = [
        threading.Thread(target=contender, args=(op,)) for op in (wijk_then_round, round_then_wijk)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert sorted(attempts) == ["round", "wijk"]  # each ran once: nobody waited for the other


def test_an_uncaught_refusal_is_its_status_and_message_not_a_500(app, client):
    response = client.get(page_raising(app, Conflict("Je steun stond er al.")))
    assert response.status_code == 409
    assert "Je steun stond er al." in response.get_data(as_text=True)
