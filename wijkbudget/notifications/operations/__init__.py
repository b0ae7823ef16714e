"""The use cases of notifications: ``choices`` (follow, settings, unsubscribe) and ``outbox``
(discover what happened and queue it, send the queue). Callers import from here."""

from .choices import (
    TOKEN_MAX_AGE,
    BadLink,
    set_follow,
    settings_of,
    token_kind,
    unsubscribe,
    unsubscribe_token,
    update_settings,
)
from .outbox import REMINDER_BEFORE, Report, discover, send_notifications, send_queue

__all__ = [
    "BadLink",
    "REMINDER_BEFORE",
    "TOKEN_MAX_AGE",
    "Report",
    "discover",
    "send_notifications",
    "send_queue",
    "set_follow",
    "settings_of",
    "token_kind",
    "unsubscribe",
    "unsubscribe_token",
    "update_settings",
]
