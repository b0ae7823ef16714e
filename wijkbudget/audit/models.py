"""The audit log: who did what, when, in which role, to which object."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..extensions import Model, UTCDateTime, utcnow
from ..neighbourhoods.models import Neighbourhood


class AuditEvent(Model):
    """One recorded action. Append-only: nothing in the application updates or deletes a row."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_created_at", "created_at"),
        Index("ix_audit_event_neighbourhood_created", "neighbourhood_id", "created_at"),
        Index("ix_audit_event_actor_created", "actor_id", "created_at"),
        Index("ix_audit_event_action_created", "action", "created_at"),
        Index("ix_audit_event_object", "object_type", "object_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # the role the actor acted in: resident, board, councillor, admin, system
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None]
    neighbourhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="SET NULL")
    )
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[User | None] = relationship()
    neighbourhood: Mapped[Neighbourhood | None] = relationship()
