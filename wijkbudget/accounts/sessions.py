"""Sessions that end: when someone signs in, when they were last seen, and when that is too long
ago.

A session is the signed session cookie (Flask's, signed with the secret key). Flask-Login keeps
the account's ``login_token`` in it; ``logout``, "overal uitloggen", a password change or reset
and deleting the account give the account a new token, so every copy of every cookie of that
account stops working at once (``load_user`` finds nobody for the old token).

Besides the token the cookie carries two times, in seconds since 1970: when the person signed in
with their password (``login_at``) and when they were last seen (``seen_at``). A session idle
longer than ``SESSION_IDLE_MINUTES`` or older than ``SESSION_LIFETIME_HOURS`` is ended; for an
account with a role (board, councillor, admin) the shorter ``STAFF_SESSION_…`` limits hold.

Nothing of this is written to the database: a GET writes nothing. ``seen_at`` is renewed at
most once every ``SEEN_EVERY`` seconds, so the cookie is only sent again that often.

"Ingelogd blijven" makes the session cookie outlive the browser (``session.permanent``) for
residents; there is no separate remember-me cookie (it could carry neither time). Accounts with
a role never stay signed in past closing the browser.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, session

LOGIN_AT = "login_at"
SEEN_AT = "seen_at"
#: this session passed the second factor (mfa.py)
SECOND_FACTOR = "second_factor"
#: a sign-in that has passed the password and waits for the second factor
PENDING = "pending_login"
#: the second factor's secret while it is being set up, encrypted (mfa.seal)
ENROL_SECRET = "enrol_secret"  # noqa: S105 (a session key, not a secret)
#: how long the second step may wait after the password, in seconds
PENDING_SECONDS = 600
#: the keys Flask-Login keeps in the session for a signed-in person
LOGIN_KEYS = (
    "_user_id",
    "_fresh",
    "_id",
    "_remember_seconds",
    LOGIN_AT,
    SEEN_AT,
    SECOND_FACTOR,
    PENDING,
    ENROL_SECRET,
)
#: seen_at is renewed when it is at least this old (so the cookie changes at most this often)
SEEN_EVERY = 60


def now() -> int:
    return int(time.time())


def has_role(user: Any) -> bool:
    """Board, councillor and admin accounts get the shorter limits."""
    return bool(user.role_assignments)


def limits(user: Any) -> tuple[int, int]:
    """(idle, lifetime) in seconds for this account's sessions."""
    config = current_app.config
    if has_role(user):
        return (
            int(config["STAFF_SESSION_IDLE_MINUTES"]) * 60,
            int(config["STAFF_SESSION_LIFETIME_HOURS"]) * 3600,
        )
    return (
        int(config["SESSION_IDLE_MINUTES"]) * 60,
        int(config["SESSION_LIFETIME_HOURS"]) * 3600,
    )


def start(user: Any, *, remember: bool, second_factor: bool = False) -> None:
    """Just signed in with the password, and the second factor when ``second_factor`` (after
    ``login_user``)."""
    moment = now()
    session.pop(PENDING, None)
    session[LOGIN_AT] = moment
    session[SEEN_AT] = moment
    session[SECOND_FACTOR] = bool(second_factor)
    session.permanent = bool(remember) and not has_role(user)


def wait_for_second_factor(user: Any, *, remember: bool, next_url: str | None) -> None:
    """The password was right; the session remembers who is signing in until the second step
    (for ``PENDING_SECONDS``). Nobody is signed in yet: ``load_user`` sees no account."""
    session[PENDING] = {
        "token": user.login_token,
        "user": user.id,
        "at": now(),
        "remember": bool(remember),
        "next": next_url,
    }


def pending() -> dict[str, Any] | None:
    """The sign-in waiting for its second step, while it has not waited too long."""
    waiting = session.get(PENDING)
    if not isinstance(waiting, dict) or not isinstance(waiting.get("at"), int):
        return None
    if now() - waiting["at"] > PENDING_SECONDS:
        return None
    return waiting


def still_valid(user: Any) -> bool:
    """Whether this request's session may go on as ``user``; renews ``seen_at`` when due."""
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        return False  # not started by a sign-in (e.g. an old remember-me cookie)
    if (user.needs_second_factor or user.has_second_factor) and not session.get(SECOND_FACTOR):
        return False  # signed in without the second step it needs (e.g. a role granted since)
    idle, lifetime = limits(user)
    moment = now()
    if moment - login_at > lifetime or moment - seen_at > idle:
        return False
    if moment - seen_at >= SEEN_EVERY:
        session[SEEN_AT] = moment
    if session.permanent and has_role(user):
        session.permanent = False  # a role was granted since: no staying signed in
    return True


def forget() -> None:
    """End the session in this browser: the login keys go, and a remember-me cookie (from before
    there were none) is deleted too. The language and the form token stay."""
    for key in LOGIN_KEYS:
        session.pop(key, None)
    session.permanent = False
    session["_remember"] = "clear"  # Flask-Login deletes the remember-me cookie, if any
