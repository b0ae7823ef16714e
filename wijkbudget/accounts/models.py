"""Accounts and the roles they hold."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_babel import gettext
from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model, UTCDateTime, utcnow
from ..neighbourhoods.models import Area, Neighbourhood


class Role(enum.StrEnum):
    """Roles that are granted. Being a resident (bewoner) is not granted: it follows from the
    verified account's wijk."""

    BOARD = "board"  # bestuur of one wijk
    COUNCILLOR = "councillor"  # raadslid: reads the assigned wijken (or all), changes nothing
    ADMIN = "admin"  # manages wijken and roles


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, Model):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(
            "birth_year IS NULL OR birth_year BETWEEN 1900 AND 2100", name="birth_year"
        ),
        # a second factor that is on has its secret
        CheckConstraint(
            "totp_enabled_at IS NULL OR totp_secret IS NOT NULL", name="totp_has_secret"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL once the account is deleted: personal data is removed, the row stays for what they wrote
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(80))
    neighbourhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="SET NULL"), index=True
    )
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="SET NULL"))
    postcode: Mapped[str | None] = mapped_column(String(7))
    # asked only in a round with an address register ("12", "12A", "12-2"; voting/register.py)
    house_number: Mapped[str | None] = mapped_column(String(16))
    # Where the person works, when that is in a wijk they do not live in: a round whose board
    # lets "mensen die er werken" take part is open to them too (permissions.takes_part).
    work_postcode: Mapped[str | None] = mapped_column(String(7))
    work_neighbourhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="SET NULL"), index=True
    )
    birth_year: Mapped[int | None]
    language: Mapped[str] = mapped_column(String(5), default="nl")
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of the session identity: changing it (password change, deletion) logs out every
    # session and "remember me" cookie of this account.
    login_token: Mapped[str] = mapped_column(String(64), default=new_login_token, unique=True)
    # The second factor (mfa.py): the TOTP secret, encrypted; when it was turned on; the time
    # step of the last code used (a code works once: the next must be of a later step).
    totp_secret: Mapped[str | None] = mapped_column(String(200))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    neighbourhood: Mapped[Neighbourhood | None] = relationship(foreign_keys=[neighbourhood_id])
    work_neighbourhood: Mapped[Neighbourhood | None] = relationship(
        foreign_keys=[work_neighbourhood_id]
    )
    area: Mapped[Area | None] = relationship()
    role_assignments: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user",
        foreign_keys="RoleAssignment.user_id",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    # Flask-Login
    def get_id(self) -> str:
        return self.login_token

    @property
    def is_active(self) -> bool:
        return self.deleted_at is None

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def has_second_factor(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def needs_second_factor(self) -> bool:
        """Board, councillor and admin accounts sign in with a second factor, always."""
        return bool(self.role_assignments)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def public_name(self) -> str:
        """The name shown next to what this person wrote."""
        if self.is_deleted or not self.display_name:
            return gettext("oud-bewoner")
        return self.display_name

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class RoleAssignment(Model):
    """A granted role. Board roles name a wijk; a councillor role without a wijk reads all wijken;
    the admin role has no wijk."""

    __tablename__ = "role_assignment"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "neighbourhood_id"),
        CheckConstraint(
            "(role = 'board' AND neighbourhood_id IS NOT NULL)"
            " OR (role = 'admin' AND neighbourhood_id IS NULL)"
            " OR role = 'councillor'",
            name="role_scope",
        ),
        Index("ix_role_assignment_neighbourhood_role", "neighbourhood_id", "role"),
        # the unique constraint above lets NULLs differ: a role without a wijk (admin, a
        # councillor of all wijken) is held once too
        Index(
            "uq_role_assignment_unscoped",
            "user_id",
            "role",
            unique=True,
            postgresql_where=text("neighbourhood_id IS NULL"),
            sqlite_where=text("neighbourhood_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    neighbourhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="CASCADE")
    )
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship(back_populates="role_assignments", foreign_keys=[user_id])
    neighbourhood: Mapped[Neighbourhood | None] = relationship()


class RecoveryCode(Model):
    """One of the ten recovery codes of an account's second factor, for when the phone is lost.
    Only a keyed hash is kept (mfa.recovery_hash); a code works once (``used_at``)."""

    __tablename__ = "recovery_code"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
