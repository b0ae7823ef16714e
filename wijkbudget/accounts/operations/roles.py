"""Roles: granting and revoking them (admin, board; in the audit log), and ``create-admin``'s
account."""

from __future__ import annotations

import logging

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ...audit.operations import record
from ...extensions import db, utcnow
from ...neighbourhoods.models import Neighbourhood
from ...usecase import Conflict, lock, lock_or_gone, use_case
from ..models import Role, RoleAssignment, User
from ..passwords import hash_password, password_problem
from .account import AccountError, find_user_by_email, normalise_email

log = logging.getLogger(__name__)


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
