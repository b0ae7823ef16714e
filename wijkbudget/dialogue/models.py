"""The wijkdialoog: threads (one per proposal, and topics per round), comments with replies,
reports and moderation in the open, posting blocks, meetings at the kitchen table, follows and
mail digests.

"Iedereen aan het woord": each comment stores ``author_turn``, the how-manieth comment of its
author in the thread. Ordering by (author_turn, time) puts everyone's first word before anyone's
second, in plain SQL, so it pages like any other list.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import permissions
from ..errors import DomainError
from ..extensions import Model, UTCDateTime, db, enum_column, utcnow
from ..rounds.models import Phase, Round

if TYPE_CHECKING:
    from ..accounts.models import User
    from ..proposals.models import Proposal
    from ..spending.models import Expense, FundedProject

MAX_DEPTH = 3
EDIT_WINDOW = timedelta(minutes=15)
HIDE_AT_REPORTS = 3
#: the conversation about a funded project (and its expenses) stays open while the project runs
#: and this long after the board closed it: questions about the last bills and the result
AFTER_CLOSE = timedelta(days=30)


class DialogueError(DomainError):
    pass


class RateLimited(DialogueError):
    status = 429


class ThreadKind(enum.StrEnum):
    PROPOSAL = "proposal"
    TOPIC = "topic"
    PROJECT = "project"  # after the vote: a funded project (docs/dialogue-after-the-vote.md)
    EXPENSE = "expense"  # after the vote: one expense of a funded project


class ThreadStatus(enum.StrEnum):
    PROPOSED = "proposed"  # a topic a resident suggested, waiting for the board
    OPEN = "open"


class Thread(Model):
    __tablename__ = "thread"
    __table_args__ = (
        Index("ix_thread_round_kind_status", "round_id", "kind", "status"),
        # a thread is about one thing at most: a proposal, a funded project or an expense
        CheckConstraint(
            "(CASE WHEN proposal_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN project_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN expense_id IS NULL THEN 0 ELSE 1 END) <= 1",
            name="one_subject",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="CASCADE"), index=True
    )
    round_id: Mapped[int] = mapped_column(ForeignKey("budget_round.id", ondelete="CASCADE"))
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposal.id", ondelete="CASCADE"), unique=True
    )
    # after the vote (issue 22.7): the conversation about a funded project or one expense; the
    # unique constraint makes the thread made on the first question the only one
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("funded_project.id", ondelete="CASCADE"), unique=True
    )
    expense_id: Mapped[int | None] = mapped_column(
        ForeignKey("expense.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[ThreadKind] = mapped_column(enum_column(ThreadKind))
    status: Mapped[ThreadStatus] = mapped_column(
        enum_column(ThreadStatus), default=ThreadStatus.OPEN
    )
    title: Mapped[str] = mapped_column(String(160))
    body: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comment_count: Mapped[int] = mapped_column(default=0)
    participant_count: Mapped[int] = mapped_column(default=0)

    round: Mapped[Round] = relationship()
    proposal: Mapped[Proposal | None] = relationship()
    project: Mapped[FundedProject | None] = relationship()
    expense: Mapped[Expense | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @classmethod
    def about(cls, proposal: Proposal) -> Thread:
        """The conversation about a proposal, new (the caller adds it: the use case that made the
        proposal, or one that holds its lock)."""
        return cls(
            neighbourhood_id=proposal.neighbourhood_id,
            round_id=proposal.round_id,
            proposal_id=proposal.id,
            kind=ThreadKind.PROPOSAL,
            status=ThreadStatus.OPEN,
            title=proposal.title,
        )

    @classmethod
    def about_project(cls, project: FundedProject) -> Thread:
        """The conversation about a funded project, new (the caller holds the project's lock)."""
        return cls(
            neighbourhood_id=project.neighbourhood_id,
            round_id=project.round_id,
            project_id=project.id,
            kind=ThreadKind.PROJECT,
            status=ThreadStatus.OPEN,
            title=project.title[:160],
            round=project.round,
            project=project,
        )

    @classmethod
    def about_expense(cls, expense: Expense) -> Thread:
        """The conversation about one expense, new (the caller holds the project's lock)."""
        project = expense.project
        return cls(
            neighbourhood_id=project.neighbourhood_id,
            round_id=project.round_id,
            expense_id=expense.id,
            kind=ThreadKind.EXPENSE,
            status=ThreadStatus.OPEN,
            title=expense.description[:160],
            round=project.round,
            expense=expense,
        )

    @property
    def funded_project(self) -> FundedProject | None:
        """The project a conversation after the vote is about (itself, or its expense's)."""
        if self.project is not None:
            return self.project
        return self.expense.project if self.expense is not None else None

    @property
    def is_after_the_vote(self) -> bool:
        return self.kind in (ThreadKind.PROJECT, ThreadKind.EXPENSE)

    @property
    def closes_at(self) -> datetime | None:
        """When a conversation after the vote closes: AFTER_CLOSE after the board closed the
        project (None: the project runs, or this is no conversation after the vote)."""
        project = self.funded_project
        if project is None or not project.is_closed:
            return None
        return (project.closed_at or project.created_at) + AFTER_CLOSE

    @property
    def is_closed(self) -> bool:
        """Read-only once voting is over (still visible): the round has left the voting phase,
        or the end of voting by its date has passed (before the board closed the vote too).
        A conversation after the vote instead runs while its project does, and AFTER_CLOSE
        after the board closed it."""
        if self.is_after_the_vote:
            closes = self.closes_at
            return closes is not None and closes <= utcnow()
        rnd = self.round
        if rnd.has_reached(Phase.RESULT):
            return True
        ends = rnd.voting_ends
        return rnd.phase == Phase.VOTING and ends is not None and ends <= utcnow()

    def can_view(self, user: User | None) -> bool:
        if not self.round.can_view(user):
            return False
        if self.proposal is not None:
            return self.proposal.can_view(user)
        return (
            self.status == ThreadStatus.OPEN
            or permissions.is_board(user, self.round.neighbourhood)
            or (user is not None and user.is_authenticated and user.id == self.created_by_id)
        )

    def may_take_part(self, user: User | None) -> bool:
        """Who talks here (post, report): the wijk's board, and its residents; in the
        conversation about a proposal also everyone who takes part in that proposal's round (the
        people who work in the wijk, when the round is open to them). Topics are about the wijk
        as a whole: its residents only."""
        wijk = self.round.neighbourhood
        if permissions.is_resident(user, wijk) or permissions.is_board(user, wijk):
            return True
        return self.kind != ThreadKind.TOPIC and permissions.takes_part(user, self.round)

    def post_refusal(self, user: User | None) -> str | None:
        if user is None or not user.is_authenticated:
            return _("Log in om mee te praten.")
        wijk = self.round.neighbourhood
        if not self.may_take_part(user):
            if self.kind != ThreadKind.TOPIC:
                return self.round.take_part_refusal(user, "talk")
            if permissions.takes_part(user, self.round):
                # someone who works in the wijk, in a topic of a round open to them
                return _(
                    "Over de onderwerpen van de wijk praten alleen bewoners van wijk %(wijk)s "
                    "mee. Over de voorstellen van deze ronde kun je wel meepraten.",
                    wijk=wijk.name,
                )
            return self.round.take_part_refusal(user, "talk", residents_only=True)
        if self.status != ThreadStatus.OPEN:
            return _("Dit onderwerp wacht nog op goedkeuring van het bestuur.")
        if self.is_closed and self.is_after_the_vote:
            return _("Dit gesprek is gesloten: het project is al een tijd afgerond.")
        if self.is_closed:
            return _("Dit gesprek is gesloten: de stemming is voorbij.")
        if self.proposal is not None and not self.proposal.is_public:
            return _("Over een concept wordt nog niet gepraat.")
        return None


class Comment(Model):
    __tablename__ = "comment"
    __table_args__ = (
        CheckConstraint(f"depth BETWEEN 0 AND {MAX_DEPTH}", name="depth"),
        Index("ix_comment_thread_root_turn", "thread_id", "parent_id", "author_turn", "created_at"),
        Index("ix_comment_root_id", "root_id"),
        Index("ix_comment_author_created", "author_id", "created_at"),
        Index("ix_comment_thread_hidden", "thread_id", "hidden_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id", ondelete="SET NULL"))
    root_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id", ondelete="SET NULL"))
    depth: Mapped[int] = mapped_column(default=0)
    author_turn: Mapped[int] = mapped_column(default=1)
    body: Mapped[str] = mapped_column(Text)
    is_board_response: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_reason: Mapped[str] = mapped_column(String(300), default="")
    hidden_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    report_count: Mapped[int] = mapped_column(default=0)

    thread: Mapped[Thread] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    def can_edit(self, user: User | None, now: datetime | None = None) -> bool:
        return (
            user is not None
            and user.is_authenticated
            and user.id == self.author_id
            and not self.is_deleted
            and not self.is_hidden
            and not self.thread.is_closed
            and (now or utcnow()) - self.created_at <= EDIT_WINDOW
        )

    def can_delete(self, user: User | None) -> bool:
        return (
            user is not None
            and user.is_authenticated
            and user.id == self.author_id
            and not self.is_deleted
        )


class Report(Model):
    __tablename__ = "comment_report"
    __table_args__ = (UniqueConstraint("comment_id", "reporter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"))
    reporter_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PostingBlock(Model):
    """A board blocks a person from posting in its wijk until a moment, with a reason."""

    __tablename__ = "posting_block"
    __table_args__ = (Index("ix_posting_block_wijk_user", "neighbourhood_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


meeting_proposal = Table(
    "meeting_proposal",
    db.metadata,
    Column("meeting_id", ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "proposal_id", ForeignKey("proposal.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class Meeting(Model):
    """Dialoog aan de keukentafel: an offline meeting the board records."""

    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("budget_round.id", ondelete="CASCADE"), index=True
    )
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(200))
    attendees: Mapped[int] = mapped_column(default=0)
    summary: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    round: Mapped[Round] = relationship()
    proposals: Mapped[list[Proposal]] = relationship(secondary=meeting_proposal)


class Follow(Model):
    __tablename__ = "thread_follow"
    __table_args__ = (UniqueConstraint("thread_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )


class PendingNotice(Model):
    """A new comment someone should hear about; the digest mails and then deletes these."""

    __tablename__ = "pending_notice"
    __table_args__ = (UniqueConstraint("user_id", "comment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    comment_id: Mapped[int] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    comment: Mapped[Comment] = relationship()


class MailSettings(Model):
    """Per person: whether they want comment mail, and when the last digest went out."""

    __tablename__ = "mail_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    comment_mail: Mapped[bool] = mapped_column(default=True)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
