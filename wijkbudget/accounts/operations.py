"""Account use cases: register, verify, sign in, reset and change the password, edit, delete,
and the granting of roles. Each is one transaction (``@use_case``): it locks the account whose
state decides, validates, changes, leaves an audit trace where a board or admin acts, and
commits; mail goes out only once the change is saved (``after_commit``)."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, or_, select, update

from ..audit.operations import record
from ..errors import DomainError
from ..extensions import db, utcnow
from ..mail import send_template
from ..neighbourhoods.models import Area, Neighbourhood, normalise_postcode, postcode_digits
from ..urls import external_url
from ..usecase import Conflict, after_commit, lock, lock_or_gone, use_case
from . import mfa
from .models import RecoveryCode, Role, RoleAssignment, User, new_login_token
from .names import display_name_problem, normalise_display_name
from .passwords import hash_password, needs_rehash, password_problem, verify_password
from .queries import neighbourhood_for_postcode

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
    return URLSafeTimedSerializer(current_app.secret_key, salt=salt)


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


def _mail(user_or_address: User | str, template: str, subject: Any, **context: Any) -> None:
    send_template(user_or_address, f"accounts/mail/{template}.txt", subject, **context)


def send_verification(user: User) -> None:
    link = external_url("accounts.verify", token=make_verify_token(user))
    _mail(user, "verify", _l("Bevestig je e-mailadres voor wijkbudget"), user=user, link=link)


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
            lambda: _mail(
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
        _mail(address, "reset_no_account", _l("Nieuw wachtwoord voor wijkbudget"), link=link)
        return
    link = external_url("accounts.reset_password", token=make_reset_token(user))
    _mail(user, "reset", _l("Nieuw wachtwoord voor wijkbudget"), user=user, link=link)


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
        return used.rowcount == 1
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
        return used.rowcount == 1
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
        lambda: _mail(
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


def _clear_second_factor(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


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
    _clear_second_factor(user)
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
    _clear_second_factor(user)
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
    _mail(
        user,
        "second_factor_attempts",
        _l("Iemand probeerde in te loggen op je account"),
        user=user,
        link=link,
    )


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
    _clear_second_factor(user)


# --- roles ------------------------------------------------------------------------------------


_ROLE_HELD = _l("Deze persoon heeft deze rol al.")


def has_role(user: User, role: Role, wijk: Neighbourhood | None) -> bool:
    """Whether ``user`` holds ``role`` (in ``wijk``) according to the database now."""
    wijk_id = wijk.id if wijk is not None else None
    return (
        db.session.scalar(
            select(RoleAssignment.id)
            .where(
                RoleAssignment.user_id == user.id,
                RoleAssignment.role == role,
                RoleAssignment.neighbourhood_id.is_(None)
                if wijk_id is None
                else RoleAssignment.neighbourhood_id == wijk_id,
            )
            .limit(1)
        )
        is not None
    )


@use_case(conflict=_ROLE_HELD)
def grant_role(
    actor: User | None, user: User, role: Role, wijk: Neighbourhood | None, *, via: str = "admin"
) -> RoleAssignment:
    """Give ``user`` a role (in ``wijk``). A role the person already has: 409.

    Locks: the account (``FOR UPDATE``), then reads its roles: two grants of one role at the
    same time give one assignment (the second: 409); the unique constraints
    ``uq_role_assignment_user_id_role_neighbourhood_id`` and ``uq_role_assignment_unscoped``
    (for a role without a wijk) keep it so whatever the code does."""
    if role == Role.BOARD and wijk is None:
        raise AccountError(_("Kies de wijk waarvan deze persoon bestuurslid wordt."))
    if role == Role.ADMIN:
        wijk = None
    user = lock_or_gone(User, user)
    if user.is_deleted:
        raise AccountError(_("Dit account is verwijderd."))
    if has_role(user, role, wijk):
        raise Conflict(str(_ROLE_HELD))
    assignment = RoleAssignment(
        user=user, role=role, neighbourhood=wijk, granted_by_id=actor.id if actor else None
    )
    db.session.add(assignment)
    db.session.flush()
    record(
        "role.grant",
        actor=actor,
        role=via,
        obj=assignment,
        neighbourhood=wijk,
        after={"user": user.id, "role": role.value, "wijk": wijk.slug if wijk else "alle"},
    )
    return assignment


@use_case
def revoke_role(actor: User | None, assignment: RoleAssignment, *, via: str = "admin") -> None:
    """Take a role away. A role that was just taken away (a second click): 409.

    Locks: the account (``FOR UPDATE``), then the assignment (gone: 409)."""
    lock_or_gone(User, assignment.user_id)
    found = lock(RoleAssignment, assignment.id)
    if found is None:
        raise Conflict(_("Deze rol was al ingetrokken."))
    assignment = found
    if actor is not None and assignment.user_id == actor.id and assignment.role == Role.ADMIN:
        raise AccountError(_("Je kunt je eigen beheerdersrol niet intrekken."))
    wijk = assignment.neighbourhood
    record(
        "role.revoke",
        actor=actor,
        role=via,
        obj=assignment,
        neighbourhood=wijk,
        before={
            "user": assignment.user_id,
            "role": assignment.role.value,
            "wijk": wijk.slug if wijk else "alle",
        },
    )
    db.session.delete(assignment)
    db.session.flush()


@use_case
def make_admin(email: str, display_name: str, password: str) -> User:
    """The ``create-admin`` command: a verified account without a wijk that is admin, or the
    admin role for the account that has this address already (its password stays). Running it
    again changes nothing.

    Locks: an existing account (``FOR UPDATE``, through ``grant_role``); a new account: nothing,
    the unique address decides."""
    email = normalise_email(email)
    user = find_user_by_email(email)
    if user is None:
        problem = password_problem(password, email=email, name=display_name)
        if problem:
            raise AccountError(problem)
        user = User(
            email=email,
            display_name=display_name.strip(),
            password_hash=hash_password(password),
            email_verified_at=utcnow(),
        )
        db.session.add(user)
        db.session.flush()
    if not has_role(user, Role.ADMIN, None):
        grant_role(None, user, Role.ADMIN, None, via="cli")
    return user


def count_users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0
