"""Known devices: a browser where an account signed in fully (password and, where it has one,
the second factor) gets a signed cookie naming that account. The login throttle counts such a
browser on its own (OWASP's "device cookies"): an attacker who floods an account with wrong
passwords from anywhere is slowed, and so is any new device, but the owner signs in from their
own browser as always.

The cookie holds the account id, a fingerprint of the password it signed in with and a random
nonce, signed with the secret key (itsdangerous); it proves nothing by itself (the password and
second factor are still asked), it only chooses which counter a failed attempt goes to. A new
password ends every such cookie of the account (a pile of cookies collected with an old password
buys no extra guesses at the new one). It lasts a year, and is ``__Host-`` in production.
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
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def remember(response: Any, user_id: int, fingerprint: str) -> None:
    """Mark this browser as a known device of ``user_id`` (after a full sign-in with the
    password whose ``fingerprint`` this is)."""
    token = _serializer().dumps({"u": user_id, "p": fingerprint, "n": secrets.token_urlsafe(12)})
    response.set_cookie(
        cookie_name(),
        token,
        max_age=MAX_AGE,
        secure=bool(current_app.config["COOKIE_SECURE"]),
        httponly=True,
        samesite="Lax",
        path="/",
    )


def known_device(user_id: int | None, fingerprint: str | None) -> str | None:
    """This browser's nonce when it is a known device of ``user_id`` with its current password
    (``fingerprint``); None otherwise. The cookie is checked whether or not an account was
    found, so both cost the same."""
    raw = request.cookies.get(cookie_name())
    if not raw or len(raw) > 300:
        return None
    try:
        data = _serializer().loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return None
    if (
        user_id is None
        or not isinstance(data, dict)
        or data.get("u") != user_id
        or data.get("p") != fingerprint
    ):
        return None
    nonce = data.get("n")
    return nonce if isinstance(nonce, str) else None
