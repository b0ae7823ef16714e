from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..neighbourhoods.models import Neighbourhood, PostcodeRange, postcode_digits
from .models import RecoveryCode, RoleAssignment, User


def users_listing(search: str = "") -> Select[User]:
    query = (
        select(User)
        .options(
            selectinload(User.neighbourhood),
            selectinload(User.role_assignments).selectinload(RoleAssignment.neighbourhood),
        )
        .where(User.deleted_at.is_(None))
        .order_by(User.email)
    )
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(User.email.like(pattern), User.display_name.ilike(pattern)))
    return query


def neighbourhood_for_postcode(postcode: str) -> Neighbourhood | None:
    digits = postcode_digits(postcode)
    if digits is None:
        return None
    return db.session.scalar(
        select(Neighbourhood)
        .join(PostcodeRange)
        .where(PostcodeRange.first <= digits, PostcodeRange.last >= digits)
        .order_by(Neighbourhood.name)
        .limit(1)
    )


def user_by_login_token(token: str) -> User | None:
    """The account whose current login token this is (a session's, or a sign-in waiting for
    its second step); deleted accounts have none."""
    return db.session.scalar(
        select(User).where(User.login_token == token, User.deleted_at.is_(None))
    )


def id_and_password_hash(email: str) -> tuple[int, str | None] | None:
    """For the sign-in limit's known-device check: one query whether or not the address has an
    account, so both cost the same."""
    found = db.session.execute(
        select(User.id, User.password_hash).where(User.email == email)
    ).first()
    return (found.id, found.password_hash) if found else None


def recovery_codes_left(user: User) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )
