"""Voting: who took part (``Participation``, one per person per round, enforced by unique
constraints) and what was chosen, kept apart so that nothing in the database links a ballot to a
person — also not for someone who reads the database or a backup of it (issue 19).

During the vote a ballot is a ``SealedBallot``: sealed with the round's public key (see
sealing.py), written in the same transaction as the participation, so it is safe from the first
moment (a receipt means the ballot is stored) and yet says nothing to a reader of the database.
The voter's ``Receipt`` holds a second copy that only the receipt code opens. At the close the
sealed ballots are opened and written into ``Ballot``/``BallotChoice`` in a random order, in one
transaction, with new random ids and no timestamp, batch, receipt or person; the sealed rows are
deleted and the round's private key wiped. So the counted ballots share one transaction and are
in random physical order: neither ``xmin`` nor ``ctid`` nor a dump's row order links them to the
order of voting.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    and_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..errors import DomainError
from ..extensions import Model, UTCDateTime, enum_column, utcnow
from ..rounds.models import Round


class VotingError(DomainError):
    pass


class AlreadyVoted(VotingError):
    status = 409


class Channel(enum.StrEnum):
    ONLINE = "online"  # with an account
    CODE = "code"  # online with a printed code
    PAPER = "paper"  # a paper ballot entered by the board


class CodeBatch(Model):
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
    # a walk-in code: the desk (voting place) that handed it out; never the person
    voting_place_id: Mapped[int | None] = mapped_column(
        ForeignKey("voting_place.id", ondelete="SET NULL"), index=True
    )
    # the token of the form that made it: the same form sent twice (a double click) makes one
    form_token: Mapped[str | None] = mapped_column(String(64), unique=True)


class VotingCode(Model):
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
    # in a round with an address register: the address this code votes for (made from the
    # register, or a walk-in code given at the table); erased with the register
    address_id: Mapped[int | None] = mapped_column(
        ForeignKey("register_address.id", ondelete="SET NULL"), index=True
    )

    batch: Mapped[CodeBatch] = relationship()
    round: Mapped[Round] = relationship()

    # --- the rule of a code that counts (written once: each Python predicate beside its SQL) ---
    #
    # A code is *valid* in a round when it belongs to that round and neither it nor its batch is
    # revoked (revoking a batch revokes each of its unused codes too, but a code freed again by a
    # discarded paper batch keeps only its batch's mark). It is *usable* when it is valid and has
    # not voted. Every check of a code uses these: the code page, the ballot's gate, the cast
    # (its conditional ``UPDATE``), paper sheets and the board's revocations.

    def is_valid_in(self, round_id: int) -> bool:
        """Python: whether this code belongs to the round and is not revoked (nor its batch)."""
        return self.round_id == round_id and self.revoked_at is None and not self.batch.revoked_at

    @classmethod
    def valid_in(cls, round_id: int | ColumnElement[int]) -> ColumnElement[bool]:
        """SQL: the same as :meth:`is_valid_in`, for a ``WHERE`` or a column."""
        batch_revoked = (
            select(CodeBatch.revoked_at).where(CodeBatch.id == cls.batch_id).scalar_subquery()
        )
        return and_(cls.round_id == round_id, cls.revoked_at.is_(None), batch_revoked.is_(None))

    def is_usable_in(self, round_id: int) -> bool:
        """Python: whether this code can still vote in the round: valid there, and not used."""
        return not self.used and self.is_valid_in(round_id)

    @classmethod
    def usable_in(cls, round_id: int | ColumnElement[int]) -> ColumnElement[bool]:
        """SQL: the same as :meth:`is_usable_in`."""
        return and_(cls.used.is_(False), cls.valid_in(round_id))

    @classmethod
    def unused_and_unrevoked(cls) -> ColumnElement[bool]:
        """The code's own row can still change: not used and not revoked. The revocations and
        the cast meet on it with a conditional ``UPDATE`` (one of them changes the row)."""
        return and_(cls.used.is_(False), cls.revoked_at.is_(None))


class VotingPlace(Model):
    """Where and when a round can be voted on paper or with a code from the desk: a buurthuis,
    a market stall. Listed on the round page and on the letters; a walk-in code records the
    desk that handed it out (``CodeBatch.voting_place_id``), never the person."""

    __tablename__ = "voting_place"
    __table_args__ = (CheckConstraint("closes_at > opens_at", name="times"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("budget_round.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))  # "Buurthuis De Pijp"
    address: Mapped[str] = mapped_column(String(200))  # "Tolstraat 10"
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(300), default="")  # "rolstoeltoegankelijk"


class LetterAddress(Model):
    """One letter of a batch of codes made from an address list (no register): where it goes
    and which of the batch's codes it carries (``first_code`` up to ``first_code + voters``).
    Kept only while the letters can be printed: marking the batch printed or revoking it
    deletes these rows, so no list of addresses stays beside the codes."""

    __tablename__ = "letter_address"
    __table_args__ = (
        UniqueConstraint("batch_id", "position"),
        CheckConstraint("voters BETWEEN 1 AND 100", name="voters"),
        CheckConstraint("first_code >= 0", name="first_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("code_batch.id", ondelete="CASCADE"))
    position: Mapped[int]  # the order of the list (the print shop's order)
    street: Mapped[str] = mapped_column(String(120))
    house_number: Mapped[str] = mapped_column(String(16))
    postcode: Mapped[str] = mapped_column(String(7))  # "3531 AB"
    city: Mapped[str] = mapped_column(String(80), default="")
    voters: Mapped[int] = mapped_column(default=1)  # one letter per voter of the address
    first_code: Mapped[int]  # the index of its first code in the batch (codes.derive_code)


class PaperBatch(Model):
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
    # why the board confirmed a batch whose sheets differ from its count sheet, and why it
    # discarded one (both required for those acts; the audit log has them too)
    mismatch_reason: Mapped[str | None] = mapped_column(String(500))
    discard_reason: Mapped[str | None] = mapped_column(String(500))
    # the token of the form that opened it: the same form sent twice (a double click) opens one
    form_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    @property
    def is_open(self) -> bool:
        return self.confirmed_at is None and self.discarded_at is None


class PaperSheet(Model):
    """One entered paper sheet of a batch, numbered in the order of entry, so that a sheet
    entered wrongly can be struck out (with a reason) while the batch is open. The links to the
    sheet's participation and sealed ballot exist only while the batch is open: confirming the
    batch empties them, so a confirmed sheet says no more than that it was entered."""

    __tablename__ = "paper_sheet"
    __table_args__ = (
        UniqueConstraint("batch_id", "number"),
        CheckConstraint("number > 0", name="number"),
        CheckConstraint(
            "(struck_at IS NULL AND struck_by_id IS NULL AND struck_reason IS NULL) "
            "OR (struck_at IS NOT NULL AND struck_reason IS NOT NULL)",
            name="struck_with_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("paper_batch.id", ondelete="CASCADE"))
    number: Mapped[int]
    # (indexed: deleting a participation or a sealed ballot looks here for the link)
    participation_id: Mapped[int | None] = mapped_column(
        ForeignKey("participation.id", ondelete="SET NULL"), index=True
    )
    sealed_ballot_id: Mapped[str | None] = mapped_column(
        ForeignKey("sealed_ballot.id", ondelete="SET NULL"), index=True
    )
    entered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    struck_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    struck_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    struck_reason: Mapped[str | None] = mapped_column(String(500))


class Participation(Model):
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
    # the address of the register this vote counts against (a round with a register only)
    address_id: Mapped[int | None] = mapped_column(
        ForeignKey("register_address.id", ondelete="SET NULL"), index=True
    )


class RegisterAddress(Model):
    """One address of a round's address register (issue 19): a postcode and a house number,
    no names. It votes at most ``capacity`` times, whatever the channel: every cast for it
    raises ``used`` with a conditional update (``used < capacity``), in the cast's
    transaction. Erased after the round (voting/register.py)."""

    __tablename__ = "register_address"
    __table_args__ = (
        UniqueConstraint("round_id", "postcode", "house_number"),
        CheckConstraint("capacity > 0", name="capacity"),
        CheckConstraint("used >= 0 AND used <= capacity", name="used"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("budget_round.id", ondelete="CASCADE"))
    postcode: Mapped[str] = mapped_column(String(7))  # "3531 AB"
    house_number: Mapped[str] = mapped_column(String(16))  # "12", "12A", "12-2" (register.py)
    # for the letters' window (optional columns of the upload); the register needs neither
    street: Mapped[str | None] = mapped_column(String(120))
    city: Mapped[str | None] = mapped_column(String(80))
    capacity: Mapped[int] = mapped_column(default=1)
    used: Mapped[int] = mapped_column(default=0)


class VoterFingerprint(Model):
    """That a mailbox voted in a round, as a keyed hash of its normalised address
    (voting/fingerprint.py): it outlives the account, so a new account for the same mailbox
    (deleted and registered again, a plus-address, gmail's dots) cannot vote again. Written in
    the cast's transaction; it goes with its participation (a discarded paper batch)."""

    __tablename__ = "voter_fingerprint"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("budget_round.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    participation_id: Mapped[int] = mapped_column(
        ForeignKey("participation.id", ondelete="CASCADE"), index=True
    )


def new_ballot_id() -> str:
    return str(uuid.uuid4())


class SealedBallot(Model):
    """A ballot during the vote, sealed with the round's public key (opened only at the close).
    A paper ballot waits for its batch's confirmation (``counted``); one cast online counts."""

    __tablename__ = "sealed_ballot"
    __table_args__ = (
        Index("ix_sealed_ballot_round_counted", "round_id", "counted"),
        CheckConstraint("counted OR paper_batch_id IS NOT NULL", name="online_counted"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_ballot_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("budget_round.id", ondelete="CASCADE"))
    counted: Mapped[bool] = mapped_column(default=True)
    paper_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("paper_batch.id", ondelete="CASCADE"), index=True
    )
    box: Mapped[bytes] = mapped_column(LargeBinary)


class Receipt(Model):
    """A voter's receipt: stored as its SHA-256 (the list of counted receipts is public after
    the close), with the ballot sealed with a key only the receipt code gives. Cast before the
    ballots were sealed (issue 19), a receipt has no box: it says the ballot counts, not what
    is on it."""

    __tablename__ = "receipt"

    receipt_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("budget_round.id", ondelete="CASCADE"), index=True
    )
    box: Mapped[bytes | None] = mapped_column(LargeBinary)


class Ballot(Model):
    """A counted ballot: written at the close, in a random order, from the sealed ones."""

    __tablename__ = "ballot"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_ballot_id)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("budget_round.id", ondelete="CASCADE"), index=True
    )

    choices: Mapped[list[BallotChoice]] = relationship(
        back_populates="ballot", cascade="all, delete-orphan"
    )


class BallotChoice(Model):
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
