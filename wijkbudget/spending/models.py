"""Verantwoording: funded projects, their expenses and the public, append-only ledger.

Money moves only through ``LedgerEntry`` rows. Each entry of a wijk carries the hash of the entry
before it (``prev_hash``) and its own ``hash = SHA-256(prev_hash + canonical JSON)``, so rewriting
one old row breaks every hash after it. The application has no path that updates or deletes an
entry (the session refuses it, and on PostgreSQL a trigger does too); a mistake is undone by a
new, reversing ``correction`` entry.
"""

from __future__ import annotations

import enum
import hashlib
import json
from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .. import permissions
from ..errors import DomainError
from ..extensions import Model, UTCDateTime, enum_column, utcnow

if TYPE_CHECKING:
    from ..accounts.models import User
    from ..neighbourhoods.models import Neighbourhood
    from ..proposals.models import CostLine, Proposal
    from ..rounds.models import Round

GENESIS = "0" * 64


class SpendingError(DomainError):
    pass


class NotAllowed(SpendingError):
    status = 403


class ProjectStatus(enum.StrEnum):
    NOT_STARTED = "not_started"  # nog niet gestart
    IN_PROGRESS = "in_progress"  # bezig
    DONE = "done"  # afgerond
    STOPPED = "stopped"  # gestopt


CLOSED_STATUSES = frozenset({ProjectStatus.DONE, ProjectStatus.STOPPED})


class PayeeType(enum.StrEnum):
    COMPANY = "company"  # bedrijf
    ASSOCIATION = "association"  # vereniging of stichting
    PRIVATE = "private"  # particulier: shown as "particulier", receipt not public


class ExpenseState(enum.StrEnum):
    PENDING = "pending"  # wacht op goedkeuring
    APPROVED = "approved"  # goedgekeurd: telt als uitgegeven
    REJECTED = "rejected"  # afgewezen
    REVERSED = "reversed"  # goedgekeurd, later teruggedraaid met een correctie


class EntryKind(enum.StrEnum):
    GRANT = "grant"  # toekenning: the round's result gives a project its money
    EXPENSE = "expense"  # an approved expense
    CORRECTION = "correction"  # reverses an earlier entry (negative of its amount)
    REALLOCATION = "reallocation"  # extra money for a project from the wijk's unspent money
    RETURN = "return"  # a closed project's remainder back to the wijk
    # the wijk's pot (spending/operations/pot.py): money in, a round's budget out, its rest back
    INCOME = "income"  # confirmed income (a grant of the municipality, a sponsor) into the pot
    DRAW = "draw"  # a round's budget taken from the pot
    ROUND_RETURN = "round_return"  # what a round's result left of its drawn budget, back


class FundedProject(Model):
    """A chosen proposal, carried out with the money the vote gave it."""

    __tablename__ = "funded_project"
    __table_args__ = (
        CheckConstraint("granted_cents >= 0", name="granted"),
        Index("ix_funded_project_wijk_status", "neighbourhood_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposal.id", ondelete="RESTRICT"), unique=True
    )
    round_id: Mapped[int] = mapped_column(
        ForeignKey("budget_round.id", ondelete="RESTRICT"), index=True
    )
    neighbourhood_id: Mapped[int] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="RESTRICT")
    )
    granted_cents: Mapped[int]  # the admitted cost the vote granted (reallocations not included)
    status: Mapped[ProjectStatus] = mapped_column(
        enum_column(ProjectStatus), default=ProjectStatus.NOT_STARTED
    )
    treasurer_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    planned_start: Mapped[date | None]
    planned_end: Mapped[date | None]
    percent_done: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_update_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    proposal: Mapped[Proposal] = relationship()
    round: Mapped[Round] = relationship()
    neighbourhood: Mapped[Neighbourhood] = relationship()
    treasurer: Mapped[User | None] = relationship()
    expenses: Mapped[list[Expense]] = relationship(back_populates="project", order_by="Expense.id")
    updates: Mapped[list[ProgressUpdate]] = relationship(
        back_populates="project", order_by="ProgressUpdate.id.desc()"
    )

    @property
    def title(self) -> str:
        return self.proposal.title

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    def initiator_ids(self) -> set[int]:
        """The submitters of the proposal and the treasurer (penvoerder)."""
        ids = self.proposal.author_ids()
        if self.treasurer_id is not None:
            ids.add(self.treasurer_id)
        return ids

    def is_initiator(self, user: User | None) -> bool:
        return user is not None and permissions.is_active(user) and user.id in self.initiator_ids()

    def can_record_expense(self, user: User | None) -> bool:
        return self.is_initiator(user) and not self.is_closed

    def can_manage(self, user: User | None) -> bool:
        """Board of the wijk: treasurer, reallocation, status, closing."""
        return permissions.is_board(user, self.neighbourhood)

    def can_post_update(self, user: User | None) -> bool:
        """Initiators write progress updates; the board writes milestones."""
        return self.is_initiator(user) or self.can_manage(user)

    def update_is_milestone(self, user: User | None) -> bool:
        """What the board writes (unless a board member is also an initiator) is a milestone."""
        return self.can_manage(user) and not self.is_initiator(user)

    def can_see_private(self, user: User | None) -> bool:
        """Receipts of payments to private persons: board, councillors and the initiators."""
        return (
            permissions.is_board(user, self.neighbourhood)
            or permissions.is_councillor(user, self.neighbourhood)
            or self.is_initiator(user)
        )


class Expense(Model):
    __tablename__ = "expense"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount"),
        CheckConstraint("vat_cents IS NULL OR vat_cents >= 0", name="vat"),
        Index("ix_expense_project_state", "project_id", "state"),
        Index("ix_expense_wijk_state", "neighbourhood_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("funded_project.id", ondelete="RESTRICT"))
    neighbourhood_id: Mapped[int] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="RESTRICT")
    )
    cost_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposal_cost_line.id", ondelete="SET NULL")
    )
    spent_on: Mapped[date]
    amount_cents: Mapped[int]
    vat_cents: Mapped[int | None]
    payee: Mapped[str] = mapped_column(String(120))
    payee_type: Mapped[PayeeType] = mapped_column(enum_column(PayeeType))
    description: Mapped[str] = mapped_column(String(300))
    receipt_name: Mapped[str | None] = mapped_column(String(40))  # generated file name
    receipt_type: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[ExpenseState] = mapped_column(
        enum_column(ExpenseState), default=ExpenseState.PENDING
    )
    recorded_by_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), index=True
    )
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(Text, default="")

    project: Mapped[FundedProject] = relationship(back_populates="expenses")
    cost_line: Mapped[CostLine | None] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def is_private(self) -> bool:
        return self.payee_type == PayeeType.PRIVATE

    def public_payee(self) -> str:
        return _("particulier") if self.is_private else self.payee

    def approval_refusal(self, user: User | None) -> str | None:
        """Four eyes, in plain Dutch: why ``user`` may not approve or reject this expense."""
        if not permissions.is_board(user, self.project.neighbourhood):
            return str(_("Alleen het bestuur van de wijk keurt uitgaven goed."))
        assert user is not None
        if user.id == self.recorded_by_id:
            return str(
                _("Je hebt deze uitgave zelf ingevoerd. Een ander bestuurslid keurt hem goed.")
            )
        if user.id in self.project.initiator_ids():
            return str(
                _(
                    "Je bent initiatiefnemer of penvoerder van dit project. Een ander bestuurslid "
                    "keurt de uitgaven goed."
                )
            )
        return None

    def can_see_receipt(self, user: User | None) -> bool:
        return not self.is_private or self.project.can_see_private(user)


class ProgressUpdate(Model):
    """A step on the project's public timeline: by an initiator, or a milestone by the board."""

    __tablename__ = "project_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("funded_project.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    milestone: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)  # Markdown subset, rendered safe
    percent_done: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    project: Mapped[FundedProject] = relationship(back_populates="updates")
    author: Mapped[User | None] = relationship()
    photos: Mapped[list[ProgressPhoto]] = relationship(
        back_populates="update", order_by="ProgressPhoto.id", cascade="all, delete-orphan"
    )


class ProgressPhoto(Model):
    """A photo with a progress update: re-encoded like a proposal photo, under a generated name."""

    __tablename__ = "project_update_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(
        ForeignKey("project_update.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(40), unique=True)
    content_type: Mapped[str] = mapped_column(String(20))
    width: Mapped[int]
    height: Mapped[int]
    alt: Mapped[str] = mapped_column(String(200), default="")

    update: Mapped[ProgressUpdate] = relationship(back_populates="photos")


class IncomeState(enum.StrEnum):
    PENDING = "pending"  # recorded by one board member, waits for a second
    CONFIRMED = "confirmed"  # confirmed by a second board member: in the pot and the ledger


class Income(Model):
    """Money that comes into the wijk's pot (the municipality's grant, a sponsor): recorded by
    one board member, counted only once another confirms it (four eyes, also a database
    constraint); the confirmation books it in the ledger (``entry_id``, unique)."""

    __tablename__ = "wijk_income"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount"),
        CheckConstraint(
            "confirmed_by_id IS NULL OR confirmed_by_id <> recorded_by_id", name="four_eyes"
        ),
        CheckConstraint(
            "(state = 'pending' AND entry_id IS NULL AND confirmed_by_id IS NULL)"
            " OR (state = 'confirmed' AND entry_id IS NOT NULL AND confirmed_by_id IS NOT NULL)",
            name="confirmed_booked",
        ),
        Index("ix_wijk_income_wijk_state", "neighbourhood_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="RESTRICT")
    )
    amount_cents: Mapped[int]
    source: Mapped[str] = mapped_column(String(160))  # the paying organisation
    received_on: Mapped[date]
    purpose: Mapped[str] = mapped_column(String(300))
    state: Mapped[IncomeState] = mapped_column(
        enum_column(IncomeState), default=IncomeState.PENDING
    )
    recorded_by_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), index=True
    )
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entry.id", ondelete="RESTRICT"), unique=True
    )

    neighbourhood: Mapped[Neighbourhood] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
    entry: Mapped[LedgerEntry | None] = relationship()

    @property
    def is_confirmed(self) -> bool:
        return self.state == IncomeState.CONFIRMED

    def confirm_refusal(self, user: User | None) -> str | None:
        """Four eyes, in plain Dutch: why ``user`` may not confirm this income (or None)."""
        if not permissions.is_board(user, self.neighbourhood):
            return str(_("Alleen het bestuur van de wijk bevestigt inkomsten."))
        assert user is not None
        if user.id == self.recorded_by_id:
            return str(
                _("Je hebt deze inkomsten zelf ingevoerd. Een ander bestuurslid bevestigt ze.")
            )
        return None


class LedgerEntry(Model):
    """One money event, written once. ``seq`` counts a wijk's entries 1, 2, 3, …; ``prev_hash``
    is the hash of entry ``seq - 1`` (64 zeros for the first), unique per wijk, so two entries
    can never hang on the same predecessor. An expense has at most one entry of kind
    ``expense`` and an entry at most one correction (both unique in the database)."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("neighbourhood_id", "seq"),
        UniqueConstraint("neighbourhood_id", "prev_hash"),
        Index("ix_ledger_entry_project", "project_id"),
        Index("ix_ledger_entry_round", "round_id"),
        Index("ix_ledger_entry_wijk_kind", "neighbourhood_id", "kind"),
        # one booking per expense, whatever the code does: two board members approving at once
        # (or one double click) cannot book an expense twice. Its reversal is a correction,
        # which is one per entry (``corrects_id`` is unique).
        Index(
            "uq_ledger_entry_expense",
            "expense_id",
            unique=True,
            postgresql_where=text("kind = 'expense'"),
            sqlite_where=text("kind = 'expense'"),
        ),
        # what a round's result left of its drawn budget flows back to the pot once
        Index(
            "uq_ledger_entry_round_return",
            "round_id",
            unique=True,
            postgresql_where=text("kind = 'round_return'"),
            sqlite_where=text("kind = 'round_return'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="RESTRICT")
    )
    seq: Mapped[int]
    kind: Mapped[EntryKind] = mapped_column(enum_column(EntryKind))
    amount_cents: Mapped[int]  # a correction carries the negative of what it reverses
    round_id: Mapped[int | None] = mapped_column(ForeignKey("budget_round.id", ondelete="RESTRICT"))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("funded_project.id", ondelete="RESTRICT")
    )
    expense_id: Mapped[int | None] = mapped_column(ForeignKey("expense.id", ondelete="RESTRICT"))
    # NO ACTION (checked at the end of a statement), not RESTRICT (checked row by row)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"), unique=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    project: Mapped[FundedProject | None] = relationship()
    actor: Mapped[User | None] = relationship()
    corrects: Mapped[LedgerEntry | None] = relationship(remote_side=[id])

    def canonical(self) -> str:
        """The entry as canonical JSON: sorted keys, no spaces, UTC time to the microsecond."""
        return json.dumps(
            {
                "seq": self.seq,
                "wijk": self.neighbourhood_id,
                "kind": str(self.kind),
                "amount_cents": self.amount_cents,
                "round": self.round_id,
                "project": self.project_id,
                "expense": self.expense_id,
                "corrects": self.corrects_id,
                "actor": self.actor_id,
                "reason": self.reason,
                "created_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )

    def compute_hash(self) -> str:
        return hashlib.sha256((self.prev_hash + self.canonical()).encode()).hexdigest()


@event.listens_for(Session, "before_flush")
def _ledger_is_append_only(session: Session, _context: object, _instances: object) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, LedgerEntry) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            raise SpendingError("Een boeking in het grootboek kan niet worden gewijzigd.")


class LedgerCheckpoint(Model):
    """A signed statement "the chain of this wijk had ``length`` entries and ended in
    ``head_hash`` at ``signed_at``" (see checkpoints.py). Written once, like a ledger entry; the
    signature is Ed25519 over :meth:`canonical`, by the key with id ``key_id``. Kept outside
    the database too (mailed to the councillors), it shows a chain that was cut, emptied or
    recomputed since."""

    __tablename__ = "ledger_checkpoint"
    __table_args__ = (
        CheckConstraint("length > 0", name="length"),
        Index("ix_ledger_checkpoint_wijk_length", "neighbourhood_id", "length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="RESTRICT")
    )
    wijk_slug: Mapped[str] = mapped_column(String(80))  # as signed (a slug may change later)
    length: Mapped[int]  # the seq of the head entry: the chain's number of entries
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))  # hex

    def statement(self) -> dict[str, object]:
        return {
            "type": "wijkbudget-ledger-checkpoint/1",
            "wijk_id": self.neighbourhood_id,
            "wijk": self.wijk_slug,
            "length": self.length,
            "head": self.head_hash,
            "signed_at": self.signed_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }

    def canonical(self) -> str:
        """What is signed: the statement as canonical JSON (sorted keys, no spaces)."""
        return json.dumps(self.statement(), sort_keys=True, separators=(",", ":"))


@event.listens_for(Session, "before_flush")
def _checkpoints_are_append_only(session: Session, _context: object, _instances: object) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, LedgerCheckpoint) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            raise SpendingError("Een controlepunt van het grootboek kan niet worden gewijzigd.")
