"""Budget rounds (begrotingsrondes): their rules, their phases, and the history of phase changes.

A round goes through the phases of ``PHASES`` in order. While it is a concept only its board sees
it; once published, it follows the dates the board set or the board moves it by hand with a
reason. A move by date is written in one place (``rounds.operations.sync_phase``: from the
``tick`` command, a board move, and every write that locks the round with ``lock_round``); a page
shows the phase the dates imply without writing it (``rounds.queries.as_of_now``). Going back is
possible until voting starts; from then on the rules are locked: budget, ballot settings, the
proposals on the ballot and their costs. From then on the dates of voting (and of the phases
before it) are frozen too; the one change left is a later end of voting with a public reason,
kept as a :class:`VotingExtension` (docs/rounds.md, "Dates once voting opens").

Size: over 500 lines because the round's rules, its phases, its dates and who may take part
are one thing to read together; the small tables beside it (categories, criteria, the phase
timeline, the extensions of voting) belong with it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import permissions
from ..errors import DomainError
from ..extensions import Model, UTCDateTime, db, enum_column, utcnow
from ..neighbourhoods.models import Area, Neighbourhood
from ..sealing import new_round_keys

if TYPE_CHECKING:
    from ..accounts.models import User


class RoundError(DomainError):
    pass


class Phase(enum.StrEnum):
    CONCEPT = "concept"
    SUBMISSION = "submission"  # indienen
    REVIEW = "review"  # toetsing
    SUPPORT = "support"  # steunen (optional)
    VOTING = "voting"  # stemmen
    RESULT = "result"  # uitslag
    EXECUTION = "execution"  # uitvoering
    CLOSED = "closed"  # afgesloten


PHASES: list[Phase] = list(Phase)

#: the column holding the date on which each phase starts
PHASE_DATE_FIELDS: dict[Phase, str] = {
    Phase.SUBMISSION: "submission_opens",
    Phase.REVIEW: "review_opens",
    Phase.SUPPORT: "support_opens",
    Phase.VOTING: "voting_opens",
    Phase.RESULT: "result_opens",
    Phase.EXECUTION: "execution_opens",
    Phase.CLOSED: "closes_at",
}


class BallotType(enum.StrEnum):
    APPROVAL = "approval"  # tick up to k proposals
    KNAPSACK = "knapsack"  # tick proposals whose costs fit in the budget
    CUMULATIVE = "cumulative"  # spread a number of points


class Eligibility(enum.StrEnum):
    ACCOUNTS = "accounts"  # verified resident accounts of the wijk (meeting the age rule)
    CODES = "codes"  # everyone votes with a code from a letter
    # either: an account, or the code from a letter (or from the desk at a voting place); a
    # person who holds both votes once, by either (voting/operations/ballot.py says how far)
    ACCOUNTS_AND_CODES = "accounts_and_codes"

    @property
    def allows_codes(self) -> bool:
        return self is not Eligibility.ACCOUNTS

    @property
    def allows_accounts(self) -> bool:
        return self is not Eligibility.CODES


class Aggregation(enum.StrEnum):
    GREEDY = "greedy"
    EQUAL_SHARES = "equal_shares"


round_area = Table(
    "round_area",
    db.metadata,
    Column("round_id", ForeignKey("budget_round.id", ondelete="CASCADE"), primary_key=True),
    Column("area_id", ForeignKey("area.id", ondelete="CASCADE"), primary_key=True),
)


class Round(Model):
    __tablename__ = "budget_round"
    __table_args__ = (
        CheckConstraint("budget_cents >= 0", name="budget"),
        CheckConstraint(
            "min_cost_cents >= 0 AND max_cost_cents >= min_cost_cents", name="cost_bounds"
        ),
        CheckConstraint("min_age IS NULL OR min_age BETWEEN 0 AND 120", name="min_age"),
        CheckConstraint("support_threshold >= 0", name="support_threshold"),
        Index("ix_budget_round_neighbourhood_phase", "neighbourhood_id", "phase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(String(120))
    introduction: Mapped[str] = mapped_column(Text, default="")
    budget_cents: Mapped[int]
    min_cost_cents: Mapped[int] = mapped_column(default=0)
    max_cost_cents: Mapped[int]
    # eligibility
    min_age: Mapped[int | None]
    workers_eligible: Mapped[bool] = mapped_column(default=False)
    # an address register (voting/register.py): None when the round has none; else each
    # address votes at most its number of places, and this is the largest (the rules say it)
    register_max_votes: Mapped[int | None]
    # supports
    support_enabled: Mapped[bool] = mapped_column(default=True)
    support_threshold: Mapped[int] = mapped_column(default=0)
    # ballot settings (used by voting and results; stored now so they lock with the rest)
    ballot_type: Mapped[BallotType] = mapped_column(
        enum_column(BallotType), default=BallotType.APPROVAL
    )
    ballot_max_choices: Mapped[int | None]  # approval: k (None: no limit)
    ballot_points: Mapped[int | None]  # cumulative: points per voter
    ballot_min_choices: Mapped[int | None]  # approval: at least this many (None: no minimum)
    ballot_min_percent: Mapped[int | None]  # knapsack: spend at least this % of the budget
    ballot_max_points_each: Mapped[int | None]  # cumulative: at most this many on one proposal
    eligibility: Mapped[Eligibility] = mapped_column(
        # (new rounds: both, so that everyone can vote; a row written without it, as before
        # issue 21: accounts)
        enum_column(Eligibility),
        default=Eligibility.ACCOUNTS_AND_CODES,
        server_default="accounts",
    )
    aggregation: Mapped[Aggregation] = mapped_column(
        enum_column(Aggregation), default=Aggregation.GREEDY
    )
    # phase and the dates on which phases start (UTC)
    phase: Mapped[Phase] = mapped_column(enum_column(Phase), default=Phase.CONCEPT)
    submission_opens: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_opens: Mapped[datetime | None] = mapped_column(UTCDateTime)
    support_opens: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voting_opens: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_opens: Mapped[datetime | None] = mapped_column(UTCDateTime)
    execution_opens: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # the key pair ballots are sealed with until the close (see sealing.py): the public key,
    # and the private key sealed with the app's secret key, wiped when the ballots are opened
    ballot_public_key: Mapped[str | None] = mapped_column(String(64))
    ballot_private_key: Mapped[bytes | None] = mapped_column(LargeBinary)

    neighbourhood: Mapped[Neighbourhood] = relationship()
    areas: Mapped[list[Area]] = relationship(secondary=round_area, order_by=Area.name)
    categories: Mapped[list[Category]] = relationship(
        back_populates="round", order_by="Category.position", cascade="all, delete-orphan"
    )
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="round", order_by="Criterion.position", cascade="all, delete-orphan"
    )
    phase_changes: Mapped[list[PhaseChange]] = relationship(
        back_populates="round", order_by="PhaseChange.id", cascade="all, delete-orphan"
    )
    voting_extensions: Mapped[list[VotingExtension]] = relationship(
        back_populates="round", order_by="VotingExtension.id", cascade="all, delete-orphan"
    )

    # --- phases --------------------------------------------------------------------------------

    def phases(self) -> list[Phase]:
        """The phases this round goes through (without steunen when supports are off)."""
        return [p for p in PHASES if p != Phase.SUPPORT or self.support_enabled]

    def starts(self, phase: Phase) -> datetime | None:
        field = PHASE_DATE_FIELDS.get(phase)
        return getattr(self, field) if field else None

    def set_start(self, phase: Phase, when: datetime | None) -> None:
        setattr(self, PHASE_DATE_FIELDS[phase], when)

    def next_phase(self, after: Phase | None = None) -> Phase | None:
        """The phase that follows ``after`` (by default: the current phase)."""
        here = self.phase if after is None else after
        order = self.phases()
        index = order.index(here) if here in order else PHASES.index(here)
        return order[index + 1] if index + 1 < len(order) else None

    def is_before(self, phase: Phase) -> bool:
        return PHASES.index(self.phase) < PHASES.index(phase)

    def has_reached(self, phase: Phase) -> bool:
        return PHASES.index(self.phase) >= PHASES.index(phase)

    @property
    def is_published(self) -> bool:
        return self.phase != Phase.CONCEPT

    @property
    def rules_locked(self) -> bool:
        """From the moment voting opens, the rules of the vote cannot change."""
        return self.has_reached(Phase.VOTING)

    def due_phase(self, now: datetime, after: Phase | None = None) -> Phase | None:
        """The phase after ``after`` (by default: the current phase) if its start date has
        passed (a concept never moves by date)."""
        here = self.phase if after is None else after
        if here in (Phase.CONCEPT, Phase.VOTING):
            # voting ends by date, but the round only moves on when the board closes the vote
            # (that is when the votes are counted: results.operations.close_voting)
            return None
        following = self.next_phase(here)
        if following is None:
            return None
        start = self.starts(following)
        return following if start is not None and start <= now else None

    @property
    def voting_ends(self) -> datetime | None:
        """The end of voting: the date the result phase is planned to start."""
        return self.starts(Phase.RESULT)

    def voting_open(self, now: datetime) -> bool:
        """Ballots can be cast: the voting phase, and its end date (if set) not yet passed."""
        ends = self.voting_ends
        return self.phase == Phase.VOTING and (ends is None or now < ends)

    def now_explained(self, now: datetime) -> str:
        """What is happening in the round now, in one sentence for residents: the phase's own
        sentence, except after the voting end date while the board has not closed the vote."""
        if self.phase == Phase.VOTING and not self.voting_open(now):
            return _(
                "Het stemmen is voorbij. Het bestuur sluit nu de stemming en telt de stemmen; "
                "daarna staat de uitslag hier."
            )
        return phase_explained(self.phase, self)

    def back_targets(self) -> list[Phase]:
        """Where the board may send the round back to: an earlier phase, only before voting."""
        if self.rules_locked or not self.is_published:
            return []
        here = PHASES.index(self.phase)
        return [p for p in self.phases() if p != Phase.CONCEPT and PHASES.index(p) < here]

    def check_dates(self) -> None:
        """The phase dates that are set must follow each other in order."""
        previous: tuple[Phase, datetime] | None = None
        for phase in self.phases():
            start = self.starts(phase)
            if start is None:
                continue
            if previous is not None and start < previous[1]:
                raise RoundError(
                    _(
                        "De datum van '%(later)s' ligt vóór die van '%(earlier)s'. "
                        "Zet de fasen in volgorde.",
                        later=phase_label(phase),
                        earlier=phase_label(previous[0]),
                    )
                )
            previous = (phase, start)

    # --- who may do what ------------------------------------------------------------------------

    def can_view(self, user: User | None) -> bool:
        return self.is_published or permissions.is_board(user, self.neighbourhood)

    def can_manage(self, user: User | None) -> bool:
        return permissions.is_board(user, self.neighbourhood)

    def take_part_refusal(
        self, user: User | None, activity: str, *, residents_only: bool = False
    ) -> str | None:
        """Why ``user`` does not take part in this round (``permissions.takes_part``) for
        ``activity`` — "propose", "support", "coauthor", "vote" or "talk" —, in plain Dutch;
        None when they do. Every refusal of "who takes part" is worded here, once.
        ``residents_only``: for what only residents do even in a round open to people who work
        in the wijk (the wijkdialoog's topics); the caller has checked residence itself."""
        if not residents_only and permissions.takes_part(user, self):
            return None
        wijk = self.neighbourhood.name
        if self.workers_eligible and not residents_only:
            with_workers = {
                "propose": _(
                    "Alleen bewoners van wijk %(wijk)s, en in deze ronde ook mensen die er "
                    "werken, kunnen met een bevestigd account een voorstel indienen.",
                    wijk=wijk,
                ),
                "support": _(
                    "Alleen bewoners van wijk %(wijk)s, en in deze ronde ook mensen die er "
                    "werken, kunnen met een bevestigd account steunen.",
                    wijk=wijk,
                ),
                "coauthor": _(
                    "Alleen bewoners van wijk %(wijk)s, en in deze ronde ook mensen die er "
                    "werken, kunnen mede-indiener worden.",
                    wijk=wijk,
                ),
                "vote": _(
                    "Alleen bewoners van wijk %(wijk)s, en in deze ronde ook mensen die er "
                    "werken, kunnen met een bevestigd account stemmen.",
                    wijk=wijk,
                ),
                "talk": _(
                    "Alleen bewoners van wijk %(wijk)s, en in deze ronde ook mensen die er "
                    "werken, praten met een bevestigd account mee.",
                    wijk=wijk,
                ),
            }
            return with_workers[activity]
        for_residents = {
            "propose": _(
                "Alleen bewoners van wijk %(wijk)s met een bevestigd account kunnen een "
                "voorstel indienen.",
                wijk=wijk,
            ),
            "support": _(
                "Alleen bewoners van wijk %(wijk)s met een bevestigd account kunnen steunen.",
                wijk=wijk,
            ),
            "coauthor": _(
                "Alleen bewoners van wijk %(wijk)s kunnen mede-indiener worden.", wijk=wijk
            ),
            "vote": _("Alleen bevestigde bewoners van wijk %(wijk)s kunnen stemmen.", wijk=wijk),
            "talk": _(
                "Alleen bewoners van wijk %(wijk)s met een bevestigd account praten mee.",
                wijk=wijk,
            ),
        }
        return for_residents[activity]

    def proposal_refusal(self, user: User | None) -> str | None:
        """Why ``user`` cannot put in a new proposal now, in plain Dutch; None when they can."""
        if self.phase != Phase.SUBMISSION:
            return _("Voorstellen indienen kan alleen in de fase 'Indienen'.")
        refusal = self.take_part_refusal(user, "propose")
        if refusal is not None:
            return refusal
        if user is not None and not self.is_old_enough(user):  # (None was refused above)
            return _("Voor deze ronde moet je minstens %(age)d jaar zijn.", age=self.min_age)
        return None

    def topic_refusal(self, user: User | None) -> str | None:
        """Why ``user`` cannot open or suggest a topic for the wijkdialoog of this round now, in
        plain Dutch; None when they can (the board opens one, a resident suggests one)."""
        wijk = self.neighbourhood
        if not (permissions.is_board(user, wijk) or permissions.is_resident(user, wijk)):
            return _("Alleen bewoners en het bestuur van de wijk kunnen een onderwerp voorstellen.")
        if not self.is_published or self.has_reached(Phase.RESULT):
            return _("In deze fase van de ronde kunnen geen onderwerpen meer bij.")
        return None

    def is_old_enough(self, user: User) -> bool:
        """Age rule: the age a person reaches in the year voting opens (or this year)."""
        if self.min_age is None:
            return True
        if user.birth_year is None:
            return False
        year = (self.voting_opens or utcnow()).year
        return year - user.birth_year >= self.min_age

    def area_in_scope(self, area: Area | None) -> bool:
        if not self.areas:
            return True
        return area is not None and any(a.id == area.id for a in self.areas)

    def __repr__(self) -> str:
        return f"<Round {self.id} {self.phase}>"


@event.listens_for(Round, "before_insert")
def _give_the_round_its_keys(_mapper: object, _connection: object, rnd: Round) -> None:
    """Every round is made with the key pair its ballots will be sealed with."""
    if rnd.ballot_public_key is None:
        rnd.ballot_public_key, rnd.ballot_private_key = new_round_keys()


class Category(Model):
    __tablename__ = "round_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("budget_round.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(default=0)

    round: Mapped[Round] = relationship(back_populates="categories")


class Criterion(Model):
    """A review criterion, shown to submitters and named when the board rejects a proposal."""

    __tablename__ = "round_criterion"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("budget_round.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(default=0)

    round: Mapped[Round] = relationship(back_populates="criteria")


class PhaseChange(Model):
    """The public timeline: each move of a round, by date (no actor) or by the board (reason)."""

    __tablename__ = "round_phase_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("budget_round.id", ondelete="CASCADE"), index=True
    )
    from_phase: Mapped[Phase] = mapped_column(enum_column(Phase))
    to_phase: Mapped[Phase] = mapped_column(enum_column(Phase))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")

    round: Mapped[Round] = relationship(back_populates="phase_changes")
    actor: Mapped[User | None] = relationship()


class VotingExtension(Model):
    """The board moved the end of voting to a later moment while the vote was on, with a
    public reason (the only date change once voting has opened): shown on the round page."""

    __tablename__ = "round_voting_extension"
    __table_args__ = (CheckConstraint("ends_after > ends_before", name="later"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("budget_round.id", ondelete="CASCADE"), index=True
    )
    ends_before: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_after: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    round: Mapped[Round] = relationship(back_populates="voting_extensions")
    actor: Mapped[User | None] = relationship()


def phase_label(phase: Phase | str) -> str:
    labels = {
        Phase.CONCEPT: _("Concept"),
        Phase.SUBMISSION: _("Indienen"),
        Phase.REVIEW: _("Toetsing"),
        Phase.SUPPORT: _("Steunen"),
        Phase.VOTING: _("Stemmen"),
        Phase.RESULT: _("Uitslag"),
        Phase.EXECUTION: _("Uitvoering"),
        Phase.CLOSED: _("Afgesloten"),
    }
    return labels[Phase(phase)]


def phase_explained(phase: Phase | str, rnd: Round | None = None) -> str:
    """Each phase in one plain sentence: what residents can do in it (the round page shows it
    beside the phase and in the timeline). With ``rnd``: its support threshold, when it has one."""
    phase = Phase(phase)
    if phase == Phase.SUPPORT and rnd is not None and rnd.support_threshold > 0:
        return _(
            "Bewoners steunen de voorstellen die ze goed vinden; alleen voorstellen met minstens "
            "%(n)d steunbetuigingen komen op het stembiljet.",
            n=rnd.support_threshold,
        )
    sentences = {
        Phase.CONCEPT: _("Het bestuur maakt de ronde klaar; alleen het bestuur ziet hem nog."),
        Phase.SUBMISSION: _("Bewoners doen voorstellen voor de wijk, met wat ze kosten."),
        Phase.REVIEW: _(
            "Het bestuur kijkt of elk voorstel past bij de regels van de ronde, en zegt waarom "
            "als het niet past."
        ),
        Phase.SUPPORT: _("Bewoners steunen de voorstellen die ze goed vinden."),
        Phase.VOTING: _("Bewoners stemmen op de toegelaten voorstellen."),
        Phase.RESULT: _(
            "De stemmen zijn geteld: de uitslag laat zien welke voorstellen geld krijgen, en "
            "waarom."
        ),
        Phase.EXECUTION: _(
            "De gekozen voorstellen worden uitgevoerd; elke uitgave is te zien, met de bon."
        ),
        Phase.CLOSED: _("De ronde is afgelopen; alles wat er gebeurde, blijft hier te lezen."),
    }
    return sentences[phase]
