"""One use case = one transaction, owned by its operation.

Every operation that writes is decorated with :func:`use_case`. The decorator is the only place
in a request that commits or rolls back:

- the operation locks what its guard reads (:func:`lock`, ``SELECT … FOR UPDATE``) or writes
  conditionally (:func:`guarded`, ``UPDATE … WHERE state = …`` with its rowcount checked),
  checks, changes and audit-logs; the decorator then commits;
- a :class:`~wijkbudget.errors.DomainError` (the rule said no) rolls everything back and goes up
  to the view, which shows its message with its status (422, or 409 for a :class:`Conflict`);
- a unique or check constraint the database refused becomes a :class:`Conflict` (409), never a
  500: the database is the last guard of the invariants the code should already keep;
- a deadlock or serialisation failure is rolled back and the whole use case runs again, at most
  ``ATTEMPTS`` times (the objects the view loaded are expired by the rollback and load afresh);
- work that must only happen once the change is saved (mail, deleting a file) is handed to
  :func:`after_commit` and runs after the commit, never for a rolled-back attempt.

An operation called from inside another one joins its transaction (the outer one commits).
Views never call ``db.session.commit()`` or ``rollback()``: they call the operation and turn a
``DomainError`` into the page's message.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, Update, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from .errors import DomainError
from .extensions import db
from .pagecache import quiet_commit

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

#: how often a use case runs at most when the database says "deadlock" or "try again"
ATTEMPTS = 4
#: PostgreSQL's serialization_failure and deadlock_detected
RETRY_SQLSTATES = {"40001", "40P01"}

_DEPTH = "wijkbudget_use_case_depth"
_AFTER = "wijkbudget_after_commit"


class Conflict(DomainError):
    """What was asked collides with what someone else just did (or did before): 409."""

    status = 409


def _retryable(error: DBAPIError) -> bool:
    orig = getattr(error, "orig", None)
    if getattr(orig, "sqlstate", None) in RETRY_SQLSTATES:
        return True
    # SQLite: another connection holds the write lock longer than busy_timeout
    return "database is locked" in str(orig or "")


def in_use_case() -> bool:
    return bool(db.session.info.get(_DEPTH))


def after_commit(callback: Callable[[], Any]) -> None:
    """Run ``callback`` once the current use case has committed (not at all if it rolls back).
    Outside a use case (a script, a test) it runs at once."""
    if not in_use_case():
        callback()
        return
    db.session.info.setdefault(_AFTER, []).append(callback)


@overload
def use_case(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def use_case(
    fn: None = None, *, conflict: Any = None, quiet: bool = False
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def use_case(
    fn: Callable[P, R] | None = None, *, conflict: Any = None, quiet: bool = False
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate an operation: it runs as one transaction (see the module's docstring).

    ``conflict`` is the Dutch message for a constraint the database refused (a lazy string);
    without it the person reads a general "someone else was just ahead of you". ``quiet``
    commits without telling the page cache (a change no cached public page shows: a ballot).
    """

    def decorate(operation: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(operation)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            session = db.session
            if session.info.get(_DEPTH):  # called by another use case: its transaction
                return operation(*args, **kwargs)
            for attempt in range(1, ATTEMPTS + 1):
                session.info[_DEPTH] = 1
                session.info[_AFTER] = []
                try:
                    result = operation(*args, **kwargs)
                    if quiet:
                        quiet_commit(session)
                    else:
                        session.commit()
                except DomainError:
                    session.rollback()
                    raise
                except IntegrityError as error:
                    session.rollback()
                    log.info("%s refused by a constraint: %s", operation.__name__, error.orig)
                    raise Conflict(str(conflict or _DEFAULT_CONFLICT)) from error
                except (ObjectDeletedError, StaleDataError) as error:
                    session.rollback()
                    raise Conflict(str(_GONE)) from error
                except DBAPIError as error:
                    session.rollback()
                    if _retryable(error) and attempt < ATTEMPTS:
                        log.info(
                            "%s: %s; attempt %d again", operation.__name__, error.orig, attempt
                        )
                        time.sleep(0.01 * attempt)
                        continue
                    raise
                except BaseException:
                    session.rollback()
                    raise
                finally:
                    session.info[_DEPTH] = 0
                callbacks = session.info.pop(_AFTER, [])
                for callback in callbacks:
                    callback()
                return result
            raise AssertionError("unreachable")  # pragma: no cover

        # a marker the tests read (every writing operation is a use case); functions take
        # attributes, but their type does not declare this one
        run.__wrapped_use_case__ = True  # type: ignore[attr-defined]
        return run

    if fn is not None:
        return decorate(fn)
    return decorate


_DEFAULT_CONFLICT = _l(
    "Iemand anders was je net voor, of dit was al gebeurd. Kijk op de pagina hoe het nu staat."
)
_GONE = _l("Dit bestaat niet meer: iemand heeft het net weggehaald.")


# --- locks ------------------------------------------------------------------------------------


# A lock for writing is FOR NO KEY UPDATE (SQLAlchemy's key_share=True) on PostgreSQL: the
# row's state is locked (another lock of it, and a cast's FOR SHARE, waits), its key is not, so
# a new row that refers to it (a foreign key check takes FOR KEY SHARE) does not wait. With
# FOR UPDATE the foreign keys made a lock order of their own, against the documented one: a use
# case holding the wijk that writes a ledger entry (it refers to a round) and one holding that
# round that writes an audit line (it refers to the wijk) deadlocked. No use case changes a
# primary key.


def lock(model: type[R], ident: Any, *, read: bool = False) -> R | None:
    """The row of ``model`` with primary key ``ident``, locked until the use case ends
    (``FOR NO KEY UPDATE``, see above; ``FOR SHARE`` with ``read=True``), with its
    attributes read afresh (an object the view loaded earlier is refreshed: the guard must see
    the locked state)."""
    if ident is None:
        return None
    key = getattr(ident, "id", ident)
    statement = (
        select(model)
        # every model has an integer primary key ``id``; R is any model, so mypy cannot see it
        .where(model.id == key)  # type: ignore[attr-defined]
        .with_for_update(read=read, key_share=not read)
        .execution_options(populate_existing=True)
    )
    return db.session.scalars(statement).one_or_none()


def lock_or_gone(model: type[R], ident: Any, *, read: bool = False) -> R:
    """As :func:`lock`, and a :class:`Conflict` ("it no longer exists") when it was deleted."""
    found = lock(model, ident, read=read)
    if found is None:
        raise Conflict(str(_GONE))
    return found


def lock_rows(statement: Select[Any]) -> list[Any]:
    """Every row ``statement`` selects, locked (as :func:`lock`) and read afresh."""
    return list(
        db.session.scalars(
            statement.with_for_update(key_share=True).execution_options(populate_existing=True)
        )
    )


def guarded(statement: Update) -> bool:
    """Run a conditional ``UPDATE … WHERE <state is what the guard expects>``; True when it
    changed a row (so this request won), False when another got there first."""
    result = db.session.execute(statement.execution_options(synchronize_session=False))
    # an UPDATE gives a CursorResult, which has rowcount; execute() is typed as the general Result
    return bool(result.rowcount)  # type: ignore[attr-defined]
