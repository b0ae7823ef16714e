"""The one place that answers "may this user do this here?".

Roles: a *resident* (bewoner) of a wijk is a verified, active account whose wijk it is; someone
who *works* in a wijk (a verified, active account whose work postcode lies there) also takes part
in the rounds of that wijk that its board opened to "mensen die er werken" (``takes_part``); a
*board* member (bestuur) has power in the wijken they were granted and nowhere else; a *councillor*
(raadslid) reads the wijken assigned (or all, when granted without a wijk) and changes nothing; an
*admin* manages wijken and roles. Admin is not a super-board: an admin who must act as a board
member grants themselves that role, and that grant is in the audit log.

These are plain predicates on a user (models' ``can_*`` rules use them); the decorators that guard
views with them are in ``guards.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .accounts.models import Role, RoleAssignment, User
from .neighbourhoods.models import Neighbourhood

if TYPE_CHECKING:
    from .rounds.models import Round

F = TypeVar("F", bound=Callable[..., Any])


def _active(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_active(user: Any) -> bool:
    """Signed in with an account that is not deleted."""
    return _active(user)


def is_admin(user: Any) -> bool:
    return _active(user) and any(a.role == Role.ADMIN for a in user.role_assignments)


def is_board(user: Any, wijk: Neighbourhood) -> bool:
    return _active(user) and any(
        a.role == Role.BOARD and a.neighbourhood_id == wijk.id for a in user.role_assignments
    )


def board_wijk_ids(user: Any) -> set[int]:
    if not _active(user):
        return set()
    return {
        a.neighbourhood_id
        for a in user.role_assignments
        if a.role == Role.BOARD and a.neighbourhood_id
    }


def is_councillor(user: Any, wijk: Neighbourhood | None = None) -> bool:
    """A councillor at all (wijk None), or one who may read this wijk."""
    if not _active(user):
        return False
    for a in user.role_assignments:
        if a.role == Role.COUNCILLOR and (wijk is None or a.neighbourhood_id in (None, wijk.id)):
            return True
    return False


def is_resident(user: Any, wijk: Neighbourhood) -> bool:
    return _active(user) and user.is_verified and user.neighbourhood_id == wijk.id


def takes_part(user: Any, rnd: Round) -> bool:
    """May take part in this round (propose, support, vote with an account, talk about its
    proposals): a resident of the round's wijk, or, when the board opened the round to "mensen
    die er werken", a verified, active account whose work postcode lies in that wijk."""
    if not (_active(user) and user.is_verified):
        return False
    if user.neighbourhood_id == rnd.neighbourhood_id:
        return True
    return bool(rnd.workers_eligible and user.work_neighbourhood_id == rnd.neighbourhood_id)


def audit_scope(user: Any) -> set[int] | None:
    """Which wijken' audit events this user may read: None means all of them; an empty set, none."""
    if is_admin(user):
        return None
    scope: set[int] = set()
    for a in user.role_assignments if _active(user) else ():
        if a.role == Role.COUNCILLOR:
            if a.neighbourhood_id is None:
                return None
            scope.add(a.neighbourhood_id)
    return scope


def can_read_audit(user: Any) -> bool:
    return is_admin(user) or is_councillor(user)


def acting_role(user: User, wijk: Neighbourhood | None = None) -> str:
    """The role in which ``user`` acts, for the audit log."""
    if wijk is not None and is_board(user, wijk):
        return "board"
    if is_admin(user):
        return "admin"
    return "resident"


# --- names of roles, for pages and the audit log ------------------------------------------------

ROLE_NAMES = {
    "resident": _l("bewoner"),
    "board": _l("bestuur"),
    "councillor": _l("raadslid"),
    "admin": _l("beheerder"),
    "cli": _l("beheer (opdrachtregel)"),
    "system": _l("systeem"),
}


def role_name(key: str) -> str:
    return str(ROLE_NAMES.get(str(key), key))


def role_label(assignment: RoleAssignment) -> str:
    """ "bestuur West", "raadslid (alle wijken)", "beheerder"."""
    name = role_name(assignment.role.value)
    if assignment.neighbourhood is not None:
        return f"{name} {assignment.neighbourhood.name}"
    if assignment.role == Role.COUNCILLOR:
        return f"{name} ({_('alle wijken')})"
    return name
