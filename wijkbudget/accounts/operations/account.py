"""Account use cases: register, verify, sign in, reset and change the password, the language,
the profile and deleting the account. Each is one transaction (``@use_case``): it locks the
account whose state decides, validates, changes, leaves an audit trace where a board or admin
acts, and commits; mail goes out only once the change is saved (``after_commit``)."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, select

from ...audit.operations import record
from ...errors import DomainError
from ...extensions import db, utcnow
from ...mail import send_template
from ...neighbourhoods.models import Area, Neighbourhood, normalise_postcode, postcode_digits
from ...urls import external_url
from ...usecase import Conflict, after_commit, lock_or_gone, use_case
from ..models import RecoveryCode, User, new_login_token
from ..names import display_name_problem, normalise_display_name
from ..passwords import hash_password, needs_rehash, password_problem, verify_password
from ..queries import neighbourhood_for_postcode

log = logging.getLogger(__name__)

VERIFY_SALT = "wijkbudget.verify-email"
RESET_SALT = "wijkbudget.reset-password"


class AccountError(DomainError):
    pass


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


# --- tokens -----------------------------------------------------------------------------------


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def password_fingerprint(password_hash: str | None) -> str:
    """Changes whenever the password does, so a reset link (and a known-device cookie) dies
    after use and after any change."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:20]


def _password_fingerprint(user: User) -> str:
    return password_fingerprint(user.password_hash)


def make_verify_token(user: User) -> str:
    return _serializer(VERIFY_SALT).dumps({"u": user.id, "e": user.email})


def make_reset_token(user: User) -> str:
    return _serializer(RESET_SALT).dumps({"u": user.id, "p": _password_fingerprint(user)})


def _load_token(salt: str, token: str, max_age: int) -> dict[str, Any]:
    try:
        data = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise AccountError(_("Deze link is verlopen. Vraag een nieuwe aan.")) from exc
    except BadSignature as exc:
        raise AccountError(_("Deze link klopt niet. Vraag een nieuwe aan.")) from exc
    if not isinstance(data, dict):
        raise AccountError(_("Deze link klopt niet. Vraag een nieuwe aan."))
    return data


# --- mail -------------------------------------------------------------------------------------


def send_mail(user_or_address: User | str, template: str, subject: Any, **context: Any) -> None:
    send_template(user_or_address, f"accounts/mail/{template}.txt", subject, **context)


def send_verification(user: User) -> None:
    link = external_url("accounts.verify", token=make_verify_token(user))
    send_mail(user, "verify", _l("Bevestig je e-mailadres voor wijkbudget"), user=user, link=link)


def clear_second_factor(user: User) -> None:
    """The account has no second factor any more: no secret, no recovery codes."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# --- use cases --------------------------------------------------------------------------------


def register(**fields: Any) -> User | None:
    """Create an unverified account and mail the verification link (``fields``: those of
    ``_register``).

    For an address that already has an account nothing is created; that address gets a mail
    saying so. The page answers the same in both cases, so nobody learns who has an account.
    The same address registered twice at once (a double submit): the unique address lets one
    in, the other is answered as for an existing address (None), never a 500.

    Locks: nothing: the unique e-mail address decides (``uq_user_account_email``)."""
    try:
        return _register(**fields)
    except Conflict:
        return None


@use_case
def _register(
    *,
    email: str,
    password: str,
    display_name: str,
    neighbourhood: Neighbourhood,
    area: Area | None,
    postcode: str,
    birth_year: int,
    language: str,
) -> User | None:
    # The same checks and the same work (one argon2 hash, one mail) whether or not the
    # address has an account, in the same order: the answer and its time tell nobody which.
    email = normalise_email(email)
    display_name = normalise_display_name(display_name)
    problem = display_name_problem(display_name) or password_problem(
        password, email=email, name=display_name
    )
    if problem:
        raise AccountError(problem)
    if area is not None and area.neighbourhood_id != neighbourhood.id:
        raise AccountError(_("Deze buurt hoort niet bij de gekozen wijk."))
    password_hash = hash_password(password)
    existing = find_user_by_email(email)
    if existing is not None:
        link = external_url("accounts.reset_request")
        after_commit(
            lambda: send_mail(
                existing,
                "already_registered",
                _l("Je hebt al een account bij wijkbudget"),
                link=link,
            )
        )
        return None
    user = User(
        email=email,
        password_hash=password_hash,
        display_name=display_name,
        neighbourhood=neighbourhood,
        area=area,
        postcode=postcode,
        birth_year=birth_year,
        language=language,
    )
    db.session.add(user)
    db.session.flush()  # a second insert of the address is refused here: Conflict
    after_commit(lambda: send_verification(user))
    return user


def user_for_verify_token(token: str) -> User:
    """The account a verification link is for (reads only: the link's page asks to confirm)."""
    data = _load_token(VERIFY_SALT, token, current_app.config["EMAIL_VERIFY_MAX_AGE"])
    user = db.session.get(User, data.get("u"))
    if user is None or user.is_deleted or user.email != data.get("e"):
        raise AccountError(_("Deze link klopt niet. Vraag een nieuwe aan."))
    return user


@use_case
def verify_email(token: str) -> User:
    """The address is confirmed (a second confirmation changes nothing).

    Locks: the account (``FOR UPDATE``), so the check of the link and the change see one
    state (a deletion at the same moment wins or waits)."""
    user = lock_or_gone(User, user_for_verify_token(token))
    user_for_verify_token(token)  # again, on the locked row
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    return user


@use_case(quiet=True)
def authenticate(email: str, password: str) -> User | None:
    """The account for this address and password (None: no such account, or a wrong password).
    A password hash made with older settings is made again (the only write).

    Locks: nothing: the rehash writes one column of the account, and two sign-ins that both
    rehash write equally good hashes (the last one stays)."""
    user = find_user_by_email(email)
    if user is None or user.is_deleted:
        verify_password(None, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def request_password_reset(email: str) -> None:
    """Mail a reset link if the address has an account; otherwise mail the address that it has
    no account here (someone typed it). The same page and the same work either way (one mail),
    so neither the answer nor its time tells whether the address has an account.

    Locks: nothing: it writes nothing (the link carries what it needs)."""
    address = normalise_email(email)
    user = find_user_by_email(address)
    if user is None or user.is_deleted:
        link = external_url("accounts.register")
        send_mail(address, "reset_no_account", _l("Nieuw wachtwoord voor wijkbudget"), link=link)
        return
    link = external_url("accounts.reset_password", token=make_reset_token(user))
    send_mail(user, "reset", _l("Nieuw wachtwoord voor wijkbudget"), user=user, link=link)


def resend_confirmation(email: str) -> None:
    """ "Stuur de bevestigingsmail opnieuw", asked by address (no sign-in needed): an account
    not yet confirmed gets a new link; a confirmed account gets a mail that it is confirmed
    (log in); an address without an account gets a mail that it has none (register). One mail
    either way and the same page, so neither the answer nor its time tells whether the address
    has an account (like ``request_password_reset``).

    Locks: nothing: it writes nothing (the link carries what it needs)."""
    address = normalise_email(email)
    user = find_user_by_email(address)
    subject = _l("Je e-mailadres bevestigen bij wijkbudget")
    if user is None or user.is_deleted:
        send_mail(address, "confirm_no_account", subject, link=external_url("accounts.register"))
        return
    if user.is_verified:
        send_mail(user, "confirm_already", subject, user=user, link=external_url("accounts.login"))
        return
    send_verification(user)


def _set_password(user: User, password: str) -> None:
    problem = password_problem(password, email=user.email, name=user.display_name)
    if problem:
        raise AccountError(problem)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.login_token = new_login_token()  # every other session and remember-me cookie ends


def user_for_reset_token(token: str) -> User:
    data = _load_token(RESET_SALT, token, current_app.config["PASSWORD_RESET_MAX_AGE"])
    user = db.session.get(User, data.get("u"))
    if user is None or user.is_deleted or data.get("p") != _password_fingerprint(user):
        raise AccountError(_("Deze link is al gebruikt of klopt niet meer. Vraag een nieuwe aan."))
    return user


@use_case
def reset_password(token: str, password: str) -> User:
    """A new password through the mailed link; the link works once.

    Locks: the account (``FOR UPDATE``); the link is checked again on the locked row, so two
    uses of one link at the same time set the password once (the second: the link is used)."""
    user = lock_or_gone(User, user_for_reset_token(token))
    user = user_for_reset_token(token)  # again, on the locked row
    _set_password(user, password)
    # following the link proves the address is theirs
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    return user


@use_case
def change_password(user: User, current: str, new: str) -> None:
    """Locks: the account (``FOR UPDATE``): the current password is checked on the locked row."""
    user = lock_or_gone(User, user)
    if not verify_password(user.password_hash, current):
        raise AccountError(_("Je huidige wachtwoord klopt niet."))
    _set_password(user, new)


@use_case(quiet=True)
def end_sessions(user: User) -> None:
    """Log out everywhere: a new login token, so every session and remember-me cookie of this
    account (this browser's, other devices', any copy) stops working. Logging out does this.

    Locks: nothing: one column of the person's own account; any new token will do."""
    user.login_token = new_login_token()


@use_case(quiet=True)
def set_language(user: User, language: str) -> None:
    """The language of the account's pages and mail (no public page shows it: quiet).

    Locks: nothing: one column of the person's own account; the last choice stays."""
    if language not in current_app.config["LANGUAGES"]:
        raise AccountError(_("Deze taal kennen we niet."))
    user.language = language


class WorkPostcodeError(AccountError):
    """The work postcode was refused (the page shows it at that field)."""


def _work_place(user: User, work_postcode: str) -> tuple[str | None, Neighbourhood | None]:
    """The work postcode as stored and the wijk it lies in; (None, None) for an empty one."""
    if not work_postcode.strip():
        return None, None
    if postcode_digits(work_postcode) is None:
        raise WorkPostcodeError(
            _("Dit is geen Nederlandse postcode. Schrijf bijvoorbeeld 3531 AB.")
        )
    postcode = normalise_postcode(work_postcode)
    wijk = neighbourhood_for_postcode(postcode)
    if wijk is None:
        raise WorkPostcodeError(
            _(
                "Postcode %(pc)s ligt niet in een wijk van wijkbudget. Kijk of je de postcode "
                "goed hebt geschreven.",
                pc=postcode,
            )
        )
    if wijk.id == user.neighbourhood_id:
        # pointless (a resident takes part anyway) and it would read as if it meant something
        raise WorkPostcodeError(
            _(
                "Postcode %(pc)s ligt in wijk %(wijk)s, waar je woont. Daar doe je al mee. Vul "
                "alleen een postcode in als je in een andere wijk werkt.",
                pc=postcode,
                wijk=wijk.name,
            )
        )
    return postcode, wijk


@use_case
def update_profile(
    user: User,
    *,
    display_name: str,
    language: str,
    area: Area | None,
    work_postcode: str = "",
) -> None:
    """Name, language, buurt and the work postcode ("" clears it) in one go: everything is
    checked before anything changes.

    Locks: the account (``FOR UPDATE``): the buurt is checked against the wijk on the locked
    row (a deletion at the same moment wins or waits)."""
    user = lock_or_gone(User, user)
    if user.is_deleted:
        raise Conflict(_("Dit account is verwijderd."))
    if area is not None and area.neighbourhood_id != user.neighbourhood_id:
        raise AccountError(_("Deze buurt hoort niet bij jouw wijk."))
    if language not in current_app.config["LANGUAGES"]:
        raise AccountError(_("Deze taal kennen we niet."))
    display_name = normalise_display_name(display_name)
    # a name from before the rules stays; a new one is checked
    if display_name != user.display_name and (problem := display_name_problem(display_name)):
        raise AccountError(problem)
    postcode, work_wijk = _work_place(user, work_postcode)
    user.display_name = display_name
    user.language = language
    user.area = area
    user.work_postcode = postcode
    user.work_neighbourhood = work_wijk


@use_case
def delete_account(user: User, password: str) -> None:
    """Remove the personal data; the row stays so what the person wrote stays, as "oud-bewoner".

    Locks: the account (``FOR UPDATE``): a second click finds it deleted (409); a role granted
    at the same moment (which locks the account too) lands before and is removed, or after and
    is refused."""
    user = lock_or_gone(User, user)
    if user.is_deleted:
        raise Conflict(_("Dit account is al verwijderd."))
    if not verify_password(user.password_hash, password):
        raise AccountError(_("Je wachtwoord klopt niet. Je account is niet verwijderd."))
    roles = ", ".join(
        f"{a.role.value}@{a.neighbourhood.slug if a.neighbourhood else '*'}"
        for a in user.role_assignments
    )
    record(
        "account.delete",
        actor=user,
        role="resident",
        obj=user,
        neighbourhood=user.neighbourhood_id,
        before={"roles": roles or None, "verified": user.is_verified},
        after={"deleted": True},
    )
    user.email = None
    user.password_hash = None
    user.display_name = None
    user.postcode = None
    user.house_number = None
    user.work_postcode = None
    user.work_neighbourhood = None
    user.birth_year = None
    user.area = None
    user.deleted_at = utcnow()
    user.login_token = new_login_token()
    user.role_assignments.clear()
    clear_second_factor(user)
