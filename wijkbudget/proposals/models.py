"""Bewonersbod proposals, their cost lines, images, co-submitters, supports and public history.

Who may do what with a proposal, in which state and in which phase of its round, is the table
``RULES`` below; ``Proposal.check(action, user)`` applies it and says in plain Dutch why not.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import permissions
from ..errors import DomainError
from ..extensions import Model, UTCDateTime, enum_column, utcnow
from ..neighbourhoods.models import Area, Neighbourhood
from ..rounds.models import Category, Phase, Round, phase_label

if TYPE_CHECKING:
    from ..accounts.models import User


class ProposalError(DomainError):
    pass


class State(enum.StrEnum):
    CONCEPT = "concept"
    SUBMITTED = "submitted"  # ingediend
    CHANGES_REQUESTED = "changes_requested"  # aanpassing gevraagd
    ADMITTED = "admitted"  # toegelaten (on the ballot)
    REJECTED = "rejected"  # afgewezen
    WITHDRAWN = "withdrawn"  # ingetrokken
    INSUFFICIENT_SUPPORT = "insufficient_support"  # te weinig steun
    CHOSEN = "chosen"  # gekozen (set by the result)
    NOT_CHOSEN = "not_chosen"  # niet gekozen


class Action(enum.StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    INVITE = "invite"
    ADMIT = "admit"
    REJECT = "reject"
    REQUEST_CHANGES = "request_changes"
    ESTIMATE = "estimate"
    MARK_DUPLICATE = "mark_duplicate"
    SUPPORT = "support"


@dataclass(frozen=True)
class Rule:
    # "author" (submitter or co-author), "board" (of the wijk, not an author), "resident" (who
    # takes part in the round: its wijk's residents, and its workers when the round lets them)
    who: str
    states: frozenset[State]
    phases: frozenset[Phase]


def _rule(who: str, states: set[State], phases: set[Phase]) -> Rule:
    return Rule(who, frozenset(states), frozenset(phases))


BEFORE_VOTING = {Phase.CONCEPT, Phase.SUBMISSION, Phase.REVIEW, Phase.SUPPORT}
REVIEWING = {Phase.SUBMISSION, Phase.REVIEW, Phase.SUPPORT}
OPEN = {State.CONCEPT, State.SUBMITTED, State.CHANGES_REQUESTED, State.ADMITTED}

#: action → who, in which states of the proposal, in which phases of the round
RULES: dict[Action, Rule] = {
    # a concept while submissions are open; a submitted one until the review starts; a
    # proposal the board sent back, until voting
    Action.EDIT: _rule(
        "author", {State.CONCEPT, State.SUBMITTED, State.CHANGES_REQUESTED}, BEFORE_VOTING
    ),
    Action.SUBMIT: _rule("author", {State.CONCEPT, State.CHANGES_REQUESTED}, REVIEWING),
    Action.WITHDRAW: _rule("author", OPEN, BEFORE_VOTING),
    Action.INVITE: _rule(
        "author", {State.CONCEPT, State.SUBMITTED, State.CHANGES_REQUESTED}, BEFORE_VOTING
    ),
    Action.ADMIT: _rule("board", {State.SUBMITTED}, REVIEWING),
    Action.REJECT: _rule("board", {State.SUBMITTED, State.ADMITTED}, REVIEWING),
    Action.REQUEST_CHANGES: _rule("board", {State.SUBMITTED, State.ADMITTED}, REVIEWING),
    Action.ESTIMATE: _rule(
        "board", {State.SUBMITTED, State.ADMITTED, State.CHANGES_REQUESTED}, REVIEWING
    ),
    Action.MARK_DUPLICATE: _rule(
        "board",
        {State.SUBMITTED, State.CHANGES_REQUESTED, State.ADMITTED, State.REJECTED},
        REVIEWING,
    ),
    Action.SUPPORT: _rule("resident", {State.ADMITTED}, {Phase.SUPPORT}),
}


class Proposal(Model):
    __tablename__ = "proposal"
    __table_args__ = (
        CheckConstraint("cost_cents >= 0", name="cost"),
        CheckConstraint("board_cost_cents IS NULL OR board_cost_cents >= 0", name="board_cost"),
        Index("ix_proposal_round_state", "round_id", "state"),
        Index("ix_proposal_round_category", "round_id", "category_id"),
        Index("ix_proposal_round_area", "round_id", "area_id"),
        Index("ix_proposal_round_support_count", "round_id", "support_count"),
        Index("ix_proposal_round_cost", "round_id", "cost_cents"),
        Index("ix_proposal_round_submitted_at", "round_id", "submitted_at"),
        # the proposal page loads the proposals marked as duplicates of this one
        Index("ix_proposal_duplicate_of_id", "duplicate_of_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("budget_round.id", ondelete="CASCADE"))
    neighbourhood_id: Mapped[int] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="CASCADE"), index=True
    )
    submitter_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown subset, rendered safe
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("round_category.id", ondelete="SET NULL")
    )
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="SET NULL"))
    location: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[State] = mapped_column(enum_column(State), default=State.CONCEPT)
    cost_cents: Mapped[int] = mapped_column(default=0)  # the sum of the cost lines
    board_cost_cents: Mapped[int | None]  # the board's estimate, when it differs
    board_cost_note: Mapped[str] = mapped_column(Text, default="")
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposal.id", ondelete="SET NULL")
    )
    #: the number of Support rows, kept for the list's sort and page: changed only in SQL
    #: (``support_count + 1`` / ``- 1``) in the transaction that adds or removes the row, under
    #: the proposal's lock (proposals.operations.set_support); never read for a decision, which
    #: counts the rows (apply_support_threshold)
    support_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    round: Mapped[Round] = relationship()
    neighbourhood: Mapped[Neighbourhood] = relationship()
    submitter: Mapped[User] = relationship(foreign_keys=[submitter_id])
    category: Mapped[Category | None] = relationship()
    area: Mapped[Area | None] = relationship()
    duplicate_of: Mapped[Proposal | None] = relationship(
        remote_side=[id], back_populates="duplicates"
    )
    duplicates: Mapped[list[Proposal]] = relationship(back_populates="duplicate_of")
    cost_lines: Mapped[list[CostLine]] = relationship(
        back_populates="proposal", order_by="CostLine.position", cascade="all, delete-orphan"
    )
    images: Mapped[list[ProposalImage]] = relationship(
        back_populates="proposal", order_by="ProposalImage.position", cascade="all, delete-orphan"
    )
    coauthors: Mapped[list[CoAuthor]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan"
    )
    events: Mapped[list[ProposalEvent]] = relationship(
        back_populates="proposal", order_by="ProposalEvent.id", cascade="all, delete-orphan"
    )

    # --- facts ---------------------------------------------------------------------------------

    @property
    def effective_cost_cents(self) -> int:
        """The cost that counts on the ballot: the board's estimate when it set one."""
        return self.board_cost_cents if self.board_cost_cents is not None else self.cost_cents

    @property
    def is_public(self) -> bool:
        return self.state != State.CONCEPT

    def author_ids(self) -> set[int]:
        return {self.submitter_id} | {
            c.user_id for c in self.coauthors if c.accepted_at and c.user_id is not None
        }

    def is_author(self, user: User | None) -> bool:
        return bool(user is not None and user.is_authenticated and user.id in self.author_ids())

    # --- who may do what ------------------------------------------------------------------------

    def who_refusal(self, action: Action, user: User | None) -> str | None:
        """Why this *person* may never do ``action`` on this proposal (None: they may, when the
        state and phase allow it). Views answer 403 for this kind of refusal."""
        who = RULES[action].who
        if who == "author":
            if not self.is_author(user) or not permissions.is_active(user):
                return _("Alleen de indieners van dit voorstel kunnen dit doen.")
        elif who == "board":
            if not permissions.is_board(user, self.neighbourhood):
                return _("Alleen het bestuur van de wijk kan dit doen.")
            if self.is_author(user):
                return _("Je bent indiener van dit voorstel. Een ander bestuurslid toetst het.")
        elif who == "resident":
            return self.round.take_part_refusal(user, "support")
        return None

    def refusal(self, action: Action, user: User | None) -> str | None:
        """Why ``user`` may not do ``action`` now, in plain Dutch; None when it is allowed."""
        rule = RULES[action]
        who = self.who_refusal(action, user)
        if who is not None:
            return who
        if self.state not in rule.states:
            return _(
                "Dat kan niet bij een voorstel met de status '%(state)s'.",
                state=state_label(self.state),
            )
        if self.round.phase not in rule.phases:
            return _(
                "Dat kan niet in de fase '%(phase)s' van deze ronde.",
                phase=phase_name(self.round.phase),
            )
        if (
            action == Action.EDIT
            and self.state == State.SUBMITTED
            and (self.round.phase != Phase.SUBMISSION)
        ):
            return _("De toetsing is begonnen: het voorstel kan nu niet meer worden aangepast.")
        if (
            action == Action.SUBMIT
            and self.state == State.CONCEPT
            and (self.round.phase != Phase.SUBMISSION)
        ):
            return _("Indienen kan alleen zolang de ronde open staat voor voorstellen.")
        return None

    def allows(self, action: Action | str, user: User | None) -> bool:
        return self.refusal(Action(action), user) is None

    def check(self, action: Action, user: User | None) -> None:
        reason = self.refusal(action, user)
        if reason is not None:
            raise ProposalError(reason)

    def can_view(self, user: User | None) -> bool:
        if not self.round.can_view(user):
            return False
        return (
            self.is_public or self.is_author(user) or permissions.is_board(user, self.neighbourhood)
        )

    def can_edit(self, user: User | None) -> bool:
        return self.allows(Action.EDIT, user)

    def add_event(
        self,
        kind: str,
        actor: User | None,
        role: str,
        *,
        to_state: State | None = None,
        message: str = "",
        criteria: list[str] | None = None,
    ) -> ProposalEvent:
        """A line in the public history; with ``to_state``, the state changes with it (the
        operation has checked the rule, under its lock)."""
        event = ProposalEvent(
            kind=kind,
            actor_id=actor.id if actor else None,
            actor_role=role,
            from_state=self.state if to_state is not None else None,
            to_state=to_state,
            message=message,
            criteria="\n".join(criteria or []),
            created_at=utcnow(),
        )
        self.events.append(event)
        if to_state is not None:
            self.state = to_state
        return event

    def __repr__(self) -> str:
        return f"<Proposal {self.id} {self.state}>"


class CostLine(Model):
    __tablename__ = "proposal_cost_line"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposal.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(String(200))
    amount_cents: Mapped[int]

    proposal: Mapped[Proposal] = relationship(back_populates="cost_lines")


class ProposalImage(Model):
    __tablename__ = "proposal_image"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposal.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    filename: Mapped[str] = mapped_column(String(40), unique=True)  # generated, never the upload's
    content_type: Mapped[str] = mapped_column(String(20))
    width: Mapped[int]
    height: Mapped[int]
    alt: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the widths of the thumbnails made of it ("240,480"; fewer for a narrow photo; empty for
    #: a photo stored before they were made: ``flask proposals thumbnails`` makes them)
    thumb_widths: Mapped[str] = mapped_column(String(20), default="", server_default="")

    proposal: Mapped[Proposal] = relationship(back_populates="images")

    @property
    def thumbnails(self) -> list[tuple[int, int]]:
        """(width, height) of each thumbnail made, narrowest first: what ``srcset`` offers."""
        widths = [int(w) for w in self.thumb_widths.split(",") if w.isdigit()]
        return [(w, max(1, round(self.height * w / self.width))) for w in sorted(widths)]


class CoAuthor(Model):
    """An invitation to co-submit, by e-mail; ``user_id`` is set when a resident accepts."""

    __tablename__ = "proposal_coauthor"
    __table_args__ = (
        UniqueConstraint("proposal_id", "email"),
        # one person co-submits a proposal once (also when their address changed between two
        # invitations); an index, so SQLite gets it without rebuilding the table
        Index("uq_proposal_coauthor_proposal_id_user_id", "proposal_id", "user_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposal.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    proposal: Mapped[Proposal] = relationship(back_populates="coauthors")
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


class Support(Model):
    __tablename__ = "proposal_support"
    __table_args__ = (UniqueConstraint("proposal_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProposalEvent(Model):
    """The public history of a proposal: state changes and the board's decisions with reasons."""

    __tablename__ = "proposal_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposal.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    actor_role: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[State | None] = mapped_column(enum_column(State))
    to_state: Mapped[State | None] = mapped_column(enum_column(State))
    criteria: Mapped[str] = mapped_column(Text, default="")  # the round's criteria, one per line
    message: Mapped[str] = mapped_column(Text, default="")

    proposal: Mapped[Proposal] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    @property
    def criteria_list(self) -> list[str]:
        return [c for c in self.criteria.splitlines() if c.strip()]


def state_label(state: State | str) -> str:
    labels = {
        State.CONCEPT: _("Concept"),
        State.SUBMITTED: _("Ingediend"),
        State.CHANGES_REQUESTED: _("Aanpassing gevraagd"),
        State.ADMITTED: _("Toegelaten"),
        State.REJECTED: _("Afgewezen"),
        State.WITHDRAWN: _("Ingetrokken"),
        State.INSUFFICIENT_SUPPORT: _("Te weinig steun"),
        State.CHOSEN: _("Gekozen"),
        State.NOT_CHOSEN: _("Niet gekozen"),
    }
    return labels[State(state)]


def phase_name(phase: Phase) -> str:
    return phase_label(phase)
