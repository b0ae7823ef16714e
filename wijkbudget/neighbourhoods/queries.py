"""Read queries for wijken, shared by pages (and later the API)."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from ..accounts.models import Role, RoleAssignment, User
from ..extensions import db
from .models import Neighbourhood


def neighbourhoods_listing() -> Select[Neighbourhood]:
    return (
        select(Neighbourhood)
        .options(selectinload(Neighbourhood.areas), selectinload(Neighbourhood.postcode_ranges))
        .order_by(Neighbourhood.name)
    )


def all_neighbourhoods_with_areas() -> list[Neighbourhood]:
    return list(db.session.scalars(neighbourhoods_listing()))


def registration_places(
    wijken: list[Neighbourhood], other_label: str
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Choices for "your wijk and buurt", grouped by wijk: each buurt, then "other buurt"."""
    return [
        (wijk.name, [(f"a{a.id}", a.name) for a in wijk.areas] + [(f"w{wijk.id}", other_label)])
        for wijk in wijken
    ]


def board_members(wijk: Neighbourhood) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.neighbourhood_id == wijk.id, RoleAssignment.role == Role.BOARD)
            .order_by(User.display_name)
        )
    )


def residents_of(wijk: Neighbourhood) -> Select[User]:
    return (
        select(User)
        .options(selectinload(User.area))
        .where(User.neighbourhood_id == wijk.id, User.deleted_at.is_(None))
        .order_by(User.display_name, User.id)
    )


def resident_counts(wijk: Neighbourhood) -> tuple[int, int]:
    """(accounts, verified accounts) in the wijk."""
    row = db.session.execute(
        select(func.count(User.id), func.count(User.email_verified_at)).where(
            User.neighbourhood_id == wijk.id, User.deleted_at.is_(None)
        )
    ).one()
    return int(row[0]), int(row[1])


def workers_of(wijk: Neighbourhood) -> Select[User]:
    """The accounts that say they work in the wijk (their work postcode lies there): they take
    part in its rounds that are open to "mensen die er werken"."""
    return (
        select(User)
        .where(User.work_neighbourhood_id == wijk.id, User.deleted_at.is_(None))
        .order_by(User.display_name, User.id)
    )


def worker_count(wijk: Neighbourhood) -> int:
    return int(
        db.session.scalar(
            select(func.count(User.id)).where(
                User.work_neighbourhood_id == wijk.id, User.deleted_at.is_(None)
            )
        )
        or 0
    )
