"""Notifications: who follows which proposal (and so its funded project), what each person wants
to hear about, and the outbox of mails waiting to go.

The outbox is the one place a notification is decided: a row per (person, kind, subject), unique
in the database, so discovering the same event twice — two runs of the command, two workers, two
clicks — queues one mail. The sender takes rows with ``FOR UPDATE SKIP LOCKED`` and marks each
sent in the transaction that sent it, so two senders never send a row twice."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..errors import DomainError
from ..extensions import Model, UTCDateTime, enum_column, utcnow


class NotificationError(DomainError):
    pass


class Kind(enum.StrEnum):
    """What a mail is about; each is one setting and one unsubscribe link."""

    VOTING_OPENS = "voting_opens"  # het stemmen is begonnen (opt-in)
    REMINDER = "reminder"  # het stemmen sluit bijna (opt-in)
    RESULT = "result"  # de uitslag is bekend (opt-in)
    OWN_OUTCOME = "own_outcome"  # wat er met je eigen voorstel gebeurde (standaard aan)
    FOLLOWS = "follows"  # nieuws en uitgaven van wat je volgt (standaard aan)


#: the settings' default for a person who never saved them: mail only about what they made
#: or chose to follow; the round-wide mails are asked for
DEFAULTS: dict[Kind, bool] = {
    Kind.VOTING_OPENS: False,
    Kind.REMINDER: False,
    Kind.RESULT: False,
    Kind.OWN_OUTCOME: True,
    Kind.FOLLOWS: True,
}

KIND_LABELS = {
    Kind.VOTING_OPENS: _l("Het stemmen is begonnen"),
    Kind.REMINDER: _l("Herinnering: het stemmen sluit bijna"),
    Kind.RESULT: _l("De uitslag is bekend"),
    Kind.OWN_OUTCOME: _l("Wat er met mijn eigen voorstel gebeurt"),
    Kind.FOLLOWS: _l("Nieuws en uitgaven van voorstellen en projecten die ik volg"),
}


class OutboxState(enum.StrEnum):
    PENDING = "pending"  # wacht om verstuurd te worden (of opnieuw, na een fout)
    SENT = "sent"  # verstuurd
    DROPPED = "dropped"  # niet meer nodig: afgemeld, of waar het over ging is weg
    FAILED = "failed"  # na MAX_ATTEMPTS pogingen opgegeven


#: the sender gives a mail up after this many failed attempts (about a day and a half of waiting)
MAX_ATTEMPTS = 8
#: a weekly digest goes at most once in this time
DIGEST_INTERVAL = timedelta(days=7)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure: 2, 4, 8 … minutes, at most 12 hours."""
    return min(timedelta(minutes=2**attempts), timedelta(hours=12))


class Follow(Model):
    """A person follows a proposal, and through it the project it becomes when it is chosen."""

    __tablename__ = "notification_follow"
    __table_args__ = (UniqueConstraint("user_id", "proposal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposal.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationSettings(Model):
    """Per person: which kinds of mail they want, weekly or one by one, and the last digest."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    voting_opens: Mapped[bool] = mapped_column(default=DEFAULTS[Kind.VOTING_OPENS])
    reminder: Mapped[bool] = mapped_column(default=DEFAULTS[Kind.REMINDER])
    result: Mapped[bool] = mapped_column(default=DEFAULTS[Kind.RESULT])
    own_outcome: Mapped[bool] = mapped_column(default=DEFAULTS[Kind.OWN_OUTCOME])
    follows: Mapped[bool] = mapped_column(default=DEFAULTS[Kind.FOLLOWS])
    #: follow news once a week in one mail instead of one mail each
    weekly_digest: Mapped[bool] = mapped_column(default=False)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @classmethod
    def defaults(cls, user_id: int) -> NotificationSettings:
        """The settings of a person who never saved any (not added to the session)."""
        return cls(
            user_id=user_id, weekly_digest=False, **{k.value: v for k, v in DEFAULTS.items()}
        )

    def wants(self, kind: Kind) -> bool:
        return bool(getattr(self, kind.value))

    def set(self, kind: Kind, wanted: bool) -> None:
        setattr(self, kind.value, wanted)


class Outbox(Model):
    """One mail to one person about one thing. ``subject_key`` names the thing ("round:3",
    "proposal:7", "update:12", "expense:5"); the mail's text is made when it is sent."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "subject_key"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_notification_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[Kind] = mapped_column(enum_column(Kind))
    subject_key: Mapped[str] = mapped_column(String(60))
    state: Mapped[OutboxState] = mapped_column(
        enum_column(OutboxState), default=OutboxState.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(300), default="")

    @property
    def subject_type(self) -> str:
        return self.subject_key.partition(":")[0]

    @property
    def subject_id(self) -> int:
        return int(self.subject_key.partition(":")[2].partition(":")[0])
