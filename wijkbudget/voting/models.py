"""Voting: who took part (``Participation``, one per person per round, enforced by unique
constraints) and what was chosen (``Ballot``), kept apart so that no row links a ballot to a
person.

Secrecy by schema: ``ballot`` has a random UUID key, no timestamp, no column or foreign key to a
user, a code, a participation, a session or an address. Its only links are to the round, to the
proposals chosen, and, for paper, to the batch it was entered in (a batch is a pile of sheets,
not a person). The receipt the voter gets is stored only as its SHA-256.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ColumnElement, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..errors import DomainError
from ..extensions import UTCDateTime, db, enum_column, utcnow
from ..rounds.models import Round


class VotingError(DomainError):
    pass


class AlreadyVoted(VotingError):
    status = 409


class Channel(enum.StrEnum):
    ONLINE = "online"  # with an account
    CODE = "code"  # online with a printed code
    PAPER = "paper"  # a paper ballot entered by the board


class CodeBatch(db.Model):
    __tablename__ = "code_batch"
    __table_args__ = (
        # a revoked batch can never be shown again
        CheckConstraint("revoked_at IS NULL OR seed IS NULL", name="revoked_wiped"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("budget_round.id", ondelete="CASCADE"), index=True
    )
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="SET NULL"))
    label: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    # the codes can be derived from this seed until the board says the letters are printed;
    # then it is wiped and nobody can show the codes again
    seed: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the token of the form that made it: the same form sent twice (a double click) makes one
    form_token: Mapped[str | None] = mapped_column(String(64), unique=True)


class VotingCode(db.Model):
    __tablename__ = "voting_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("code_batch.id", ondelete="CASCADE"), index=True
    )
    round_id: Mapped[int] = mapped_column(
        ForeignKey("budget_round.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)  # HMAC-SHA256, never the code
    used: Mapped[bool] = mapped_column(default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    batch: Mapped[CodeBatch] = relationship()
    round: Mapped[Round] = relationship()

    @classmethod
    def usable_in(cls, round_id: int | ColumnElement[int]) -> tuple[ColumnElement[bool], ...]:
        """The rule for a code that can still vote in this round (the cast also checks its
        batch, under a lock)."""
        return (cls.round_id == round_id, cls.used.is_(False), cls.revoked_at.is_(None))


class PaperBatch(db.Model):
    """A pile of paper ballots, entered by one board member and confirmed by another (or
    discarded). It ends once: confirmed with all its ballots, or discarded with none."""

    __tablename__ = "paper_batch"
    __table_args__ = (
        CheckConstraint("declared_count > 0", name="declared"),
        CheckConstraint("confirmed_at IS NULL OR discarded_at IS NULL", name="closed_once"),
        # four eyes: the one who entered the batch does not confirm it
        CheckConstraint(
            "confirmed_by_id IS NULL OR created_by_id IS NULL OR confirmed_by_id <> created_by_id",
            name="four_eyes",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("budget_round.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(120))
    declared_count: Mapped[int]
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the token of the form that opened it: the same form sent twice (a double click) opens one
    form_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    @property
    def is_open(self) -> bool:
        return self.confirmed_at is None and self.discarded_at is None


class Participation(db.Model):
    """That someone voted, never what. One per account and one per code in a round."""

    __tablename__ = "participation"
    __table_args__ = (
        UniqueConstraint("round_id", "user_id"),
        UniqueConstraint("round_id", "code_id"),
        CheckConstraint("user_id IS NOT NULL OR code_id IS NOT NULL", name="who"),
        # a paper vote belongs to its batch (discarding the batch takes it away), no other does
        CheckConstraint(
            "(channel = 'paper' AND paper_batch_id IS NOT NULL) "
            "OR (channel <> 'paper' AND paper_batch_id IS NULL)",
            name="paper_batch",
        ),
        Index("ix_participation_round_channel", "round_id", "channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("budget_round.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("voting_code.id", ondelete="SET NULL"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="SET NULL"))
    paper_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("paper_batch.id", ondelete="CASCADE"), index=True
    )


def new_ballot_id() -> str:
    return str(uuid.uuid4())


class Ballot(db.Model):
    __tablename__ = "ballot"
    __table_args__ = (
        Index("ix_ballot_round_counted", "round_id", "counted"),
        # only a paper ballot waits (for its batch's confirmation); a ballot cast online counts
        CheckConstraint("counted OR paper_batch_id IS NOT NULL", name="online_counted"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_ballot_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("budget_round.id", ondelete="CASCADE"))
    receipt_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    counted: Mapped[bool] = mapped_column(default=True)  # paper: only once its batch is confirmed
    paper_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("paper_batch.id", ondelete="CASCADE"), index=True
    )

    choices: Mapped[list[BallotChoice]] = relationship(
        back_populates="ballot", cascade="all, delete-orphan"
    )


class BallotChoice(db.Model):
    __tablename__ = "ballot_choice"
    __table_args__ = (CheckConstraint("points > 0", name="points"),)

    ballot_id: Mapped[str] = mapped_column(
        ForeignKey("ballot.id", ondelete="CASCADE"), primary_key=True
    )
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposal.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    points: Mapped[int] = mapped_column(default=1)

    ballot: Mapped[Ballot] = relationship(back_populates="choices")
