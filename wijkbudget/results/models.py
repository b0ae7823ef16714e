"""The result of a round: written once, when the board closes the vote, and never changed.

``Result`` holds the rule, the tie-break, the anonymised ballot file (pabulib format, shuffled, no
receipts) and its SHA-256; ``ResultLine`` one row per proposal on the ballot with its score and
the engine's explanation. Updates and deletes of either are refused by the session itself."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ..errors import DomainError
from ..extensions import Model, UTCDateTime, utcnow

if TYPE_CHECKING:
    from ..proposals.models import Proposal

TIE_BREAK = "lowest cost, then most supporters, then proposal id as text"


class ResultError(DomainError):
    pass


class AlreadyClosed(ResultError):
    status = 409


class Result(Model):
    __tablename__ = "round_result"

    id: Mapped[int] = mapped_column(primary_key=True)
    # unique: closing twice (also two board members at the same moment) cannot make two results
    round_id: Mapped[int] = mapped_column(
        ForeignKey("budget_round.id", ondelete="CASCADE"), unique=True
    )
    rule: Mapped[str] = mapped_column(String(20))  # greedy | equal-shares
    completion: Mapped[str | None] = mapped_column(String(20))  # add1 | greedy | none
    tie_break: Mapped[str] = mapped_column(String(200), default=TIE_BREAK)
    budget_cents: Mapped[int]
    cost_cents: Mapped[int]
    ballots_counted: Mapped[int]
    ballot_type: Mapped[str] = mapped_column(String(20))
    ballots_file: Mapped[str] = mapped_column(Text)  # the .pb export, byte for byte as offered
    ballots_sha256: Mapped[str] = mapped_column(String(64))
    notes: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # equal-shares: each voter's share of the budget in the run that decided (rounded down to a
    # cent); None for greedy, and for results stored before issue 22
    voter_share_cents: Mapped[int | None]

    lines: Mapped[list[ResultLine]] = relationship(
        back_populates="result", order_by="ResultLine.rank", cascade="all, delete-orphan"
    )

    @property
    def left_cents(self) -> int:
        return self.budget_cents - self.cost_cents


class ResultLine(Model):
    __tablename__ = "round_result_line"
    __table_args__ = (UniqueConstraint("result_id", "proposal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(
        ForeignKey("round_result.id", ondelete="CASCADE"), index=True
    )
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposal.id", ondelete="CASCADE"), index=True
    )
    funded: Mapped[bool]
    # funded lines in selection order first (1, 2, …), then the rest by score
    rank: Mapped[int]
    score: Mapped[int]  # votes (approval, knapsack) or points (cumulative)
    supporters: Mapped[int]  # ballots naming the proposal
    cost_cents: Mapped[int]
    stage: Mapped[str] = mapped_column(String(20))  # see tally.rules.Explanation.stage
    # equal-shares: what the supporters had left together (rounded down to a cent)
    supporters_money_cents: Mapped[int | None]
    # The figures behind the explanation (tally.rules.Explanation), amounts rounded down to a
    # cent; None where they do not apply and in results stored before issue 22.
    # greedy and the greedy completion: what was left of the budget when its turn came
    budget_left_cents: Mapped[int | None]
    # chosen by equal shares (tally.payments.Payment): what its supporters had left together
    # just before, what paying in full was (per supporter; cumulative: per point), how many
    # paid in full, how many paid all they had left (and that together), how many had nothing
    supporters_had_cents: Mapped[int | None]
    price_cents: Mapped[int | None]
    paid_in_full: Mapped[int | None]
    paid_all_left: Mapped[int | None]
    paid_all_left_cents: Mapped[int | None]
    had_nothing_left: Mapped[int | None]

    result: Mapped[Result] = relationship(back_populates="lines")
    proposal: Mapped[Proposal] = relationship()


@event.listens_for(Session, "before_flush")
def _results_are_immutable(session: Session, _context: object, _instances: object) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, Result | ResultLine) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            raise ResultError("Een uitslag ligt vast en kan niet worden gewijzigd.")
