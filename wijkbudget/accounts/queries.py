from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..neighbourhoods.models import Neighbourhood, PostcodeRange, postcode_digits
from .models import RoleAssignment, User


def users_listing(search: str = "") -> Select[tuple[User]]:
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
