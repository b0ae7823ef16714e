"""The one helper every operation calls to leave a trace in the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..accounts.models import User
from ..extensions import db
from ..neighbourhoods.models import Neighbourhood
from .models import AuditEvent

SUMMARY_MAX = 500


def summarise(values: Mapping[str, Any] | None) -> str:
    """{"role": "board", "wijk": "west"} → "role=board, wijk=west" (short, for people to read)."""
    if not values:
        return ""
    text = ", ".join(f"{key}={value}" for key, value in values.items() if value is not None)
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def record(
    action: str,
    *,
    actor: User | None,
    role: str,
    obj: Any = None,
    neighbourhood: Neighbourhood | int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction: the use case's commit makes it permanent
    together with the change it describes, and its rollback takes it away with the change (a
    refused action leaves no trace that it happened).

    Locks: nothing: an audit event is a new row."""
    if obj is not None and getattr(obj, "id", None) is None:
        db.session.flush()
    wijk_id = neighbourhood.id if isinstance(neighbourhood, Neighbourhood) else neighbourhood
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_role=role,
        action=action,
        object_type=obj.__tablename__ if obj is not None else None,
        object_id=obj.id if obj is not None else None,
        neighbourhood_id=wijk_id,
        before=summarise(before),
        after=summarise(after),
    )
    db.session.add(event)
    return event
