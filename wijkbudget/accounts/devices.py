"""Known devices: a browser where an account signed in fully (password and, where it has one,
the second factor) gets a signed cookie naming that account. The login throttle counts such a
browser on its own (OWASP's "device cookies"): an attacker who floods an account with wrong
passwords from anywhere is slowed, and so is any new device, but the owner signs in from their
own browser as always.

The cookie holds the account id and a random nonce, signed with the secret key (itsdangerous);
it proves nothing by itself (the password and second factor are still asked), it only chooses
which counter a failed attempt goes to. It lasts a year, and is ``__Host-`` in production.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

SALT = "wijkbudget.known-device"
MAX_AGE = 365 * 24 * 3600


def cookie_name() -> str:
    return "__Host-device" if current_app.config["COOKIE_SECURE"] else "device"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


def remember(response: Any, user_id: int) -> None:
    """Mark this browser as a known device of ``user_id`` (after a full sign-in)."""
    token = _serializer().dumps({"u": user_id, "n": secrets.token_urlsafe(12)})
    response.set_cookie(
        cookie_name(),
        token,
        max_age=MAX_AGE,
        secure=bool(current_app.config["COOKIE_SECURE"]),
        httponly=True,
        samesite="Lax",
        path="/",
    )


def known_device(user_id: int | None) -> str | None:
    """This browser's nonce when it is a known device of ``user_id``; None otherwise."""
    raw = request.cookies.get(cookie_name())
    if not raw or user_id is None or len(raw) > 300:
        return None
    try:
        data = _serializer().loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user_id:
        return None
    nonce = data.get("n")
    return nonce if isinstance(nonce, str) else None
