"""The second factor's use cases: a code used at sign-in (once), turning it on with new recovery
codes, renewing them, turning it off, and the admin's reset; the owner is mailed of every
change."""

from __future__ import annotations

import logging
from typing import Any, cast

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, delete, or_, update

from ...audit.operations import record
from ...extensions import db, utcnow
from ...urls import external_url
from ...usecase import Conflict, after_commit, lock_or_gone, use_case
from .. import mfa
from ..models import RecoveryCode, User, new_login_token
from ..passwords import verify_password
from .account import AccountError, clear_second_factor, send_mail

log = logging.getLogger(__name__)


# --- the second factor ------------------------------------------------------------------------

WRONG_CODE = _l(
    "Deze code klopt niet. Kijk of de tijd op je telefoon goed staat, en vul de code in die je "
    "app nu laat zien. Een code werkt maar één keer."
)


def _code_works(user: User, code: str) -> bool:
    """Use a code of this account's second factor, once: a code from the app (of a later time
    step than the last one used) or an unused recovery code.

    Both writes are conditional (``UPDATE … WHERE totp_last_step < step``, ``… WHERE used_at IS
    NULL``) and their row count decides: the same code sent twice at once works once."""
    cleaned = mfa.clean_code(code)
    secret = mfa.unseal(user.totp_secret, user.id) if user.has_second_factor else None
    if secret is None:
        return False
    if mfa.is_totp_shape(cleaned):
        step = mfa.matching_step(secret, cleaned, user.totp_last_step)
        if step is None:
            return False
        used = db.session.execute(
            update(User)
            .where(
                User.id == user.id,
                or_(User.totp_last_step.is_(None), User.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        return cast("CursorResult[Any]", used).rowcount == 1
    if mfa.is_recovery_shape(cleaned):
        used = db.session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == mfa.recovery_hash(cleaned),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return cast("CursorResult[Any]", used).rowcount == 1
    return False


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = mfa.new_recovery_codes()
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=h) for h in codes.hashes)
    return codes.shown


@use_case(quiet=True)
def use_second_factor(user: User, code: str) -> bool:
    """The second step of signing in: whether ``code`` works for this account (and it is used).

    Locks: nothing: the writes are conditional (``_code_works``)."""
    return _code_works(user, code)


def _tell_owner(user: User, what: Any) -> None:
    """Mail the owner that the second factor of their account changed (after the commit)."""
    link = external_url("accounts.reset_request")
    after_commit(
        lambda: send_mail(
            user,
            "second_factor_changed",
            _l("De tweede stap van je account is veranderd"),
            user=user,
            what=what,
            link=link,
        )
    )


@use_case
def enable_second_factor(user: User, secret: str, code: str, *, password: str | None) -> list[str]:
    """Turn the second factor on with the secret the person's app now holds, proven by a code
    it made, and by the password (``password``): a stolen session alone cannot tie the account
    to the thief's phone. ``password=None`` only for the set-up inside a sign-in, whose
    password was checked minutes before in that same sign-in. Every other session of the
    account ends (a new login token). Returns the ten recovery codes, to be shown once.

    Locks: the account (``FOR UPDATE``): two tabs that enrol at once turn it on once (the
    second: 409)."""
    user = lock_or_gone(User, user)
    if user.has_second_factor:
        raise Conflict(_("De tweede stap staat al aan voor je account."))
    if password is not None and not verify_password(user.password_hash, password):
        raise AccountError(_("Je wachtwoord klopt niet."))
    step = mfa.matching_step(secret, mfa.clean_code(code), None)
    if step is None:
        raise AccountError(str(WRONG_CODE))
    user.totp_secret = mfa.seal(secret, user.id)
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    user.login_token = new_login_token()
    _tell_owner(user, _l("De tweede stap is aangezet."))
    return _new_recovery_codes(user)


@use_case
def renew_recovery_codes(user: User, code: str) -> list[str]:
    """Ten new recovery codes (the old ones stop working), after a code of the second factor.

    Locks: the account (``FOR UPDATE``)."""
    user = lock_or_gone(User, user)
    if not _code_works(user, code):
        raise AccountError(str(WRONG_CODE))
    return _new_recovery_codes(user)


@use_case
def disable_second_factor(user: User, password: str, code: str) -> None:
    """A resident turns the second factor off (password and a code). Accounts with a role
    cannot: for them it is required.

    Locks: the account (``FOR UPDATE``)."""
    user = lock_or_gone(User, user)
    if user.needs_second_factor:
        raise AccountError(
            _("Voor je rol in wijkbudget is de tweede stap verplicht. Je kunt hem niet uitzetten.")
        )
    if not verify_password(user.password_hash, password):
        raise AccountError(_("Je wachtwoord klopt niet."))
    if not _code_works(user, code):
        raise AccountError(str(WRONG_CODE))
    clear_second_factor(user)
    user.login_token = new_login_token()  # every other session ends; this one signs in again
    _tell_owner(user, _l("De tweede stap is uitgezet."))


@use_case
def reset_second_factor(actor: User, user: User) -> None:
    """The admin clears someone's second factor (a lost phone and no recovery codes left): every
    session of the account ends, and at the next sign-in they set it up again. In the audit log.

    Locks: the account (``FOR UPDATE``)."""
    user = lock_or_gone(User, user)
    if user.id == actor.id:
        raise AccountError(
            _("Je kunt je eigen tweede stap niet wissen. Vraag een andere beheerder.")
        )
    if not user.has_second_factor:
        raise Conflict(_("Dit account heeft geen tweede stap (meer)."))
    clear_second_factor(user)
    user.login_token = new_login_token()
    _tell_owner(user, _l("De beheerder heeft de tweede stap gewist."))
    record(
        "account.second_factor_reset",
        actor=actor,
        role="admin",
        obj=user,
        before={"tweede stap": "aan"},
        after={"tweede stap": "opnieuw instellen"},
    )


def warn_of_second_factor_attempts(user: User) -> None:
    """Mail the owner: someone had the password but not the second factor (no write)."""
    link = external_url("accounts.reset_request")
    send_mail(
        user,
        "second_factor_attempts",
        _l("Iemand probeerde in te loggen op je account"),
        user=user,
        link=link,
    )
