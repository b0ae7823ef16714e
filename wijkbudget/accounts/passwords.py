"""Password hashing (argon2) and the password rules: long enough, not a common password."""

from __future__ import annotations

import contextlib
import functools
import secrets
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from zxcvbn.frequency_lists import FREQUENCY_LISTS

_hasher = PasswordHasher()
MAX_LENGTH = 1000


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        # same work as a real check, so an unknown account takes as long as a known one
        _burn(password)
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


#: what an unknown account's password is checked against: made when the module loads, so not
#: even the first unknown address after a start costs a hash more than a known one
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def _burn(password: str) -> None:
    with contextlib.suppress(VerificationError):
        _hasher.verify(_DUMMY_HASH, password)


@functools.cache
def common_passwords() -> frozenset[str]:
    dutch = files("wijkbudget.accounts").joinpath("common_passwords_nl.txt").read_text("utf-8")
    extra = {
        line.strip().lower()
        for line in dutch.splitlines()
        if line.strip() and not line.startswith("#")
    }
    return frozenset(FREQUENCY_LISTS["passwords"]) | extra


def password_problem(
    password: str, *, email: str | None = None, name: str | None = None
) -> str | None:
    """A plain-Dutch reason why this password will not do, or None when it is fine."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        return _("Kies een wachtwoord van minstens %(n)d tekens.", n=minimum)
    if len(password) > MAX_LENGTH:
        return _("Kies een wachtwoord van hoogstens %(n)d tekens.", n=MAX_LENGTH)
    lowered = password.lower()
    if lowered in common_passwords():
        return _("Dit wachtwoord wordt heel vaak gebruikt. Kies een ander wachtwoord.")
    for own in (email, email.split("@")[0] if email else None, name):
        if own and lowered == own.lower():
            return _("Je wachtwoord mag niet hetzelfde zijn als je naam of e-mailadres.")
    return None
