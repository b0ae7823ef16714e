"""What the start page of one signed-in person shows, read in a fixed number of queries.

Every "can they do this now?" is asked of the rule that decides it, never worded again here:
proposing is ``Round.proposal_refusal``, supporting the rule for supporting in ``Proposal.RULES``
(``proposals.status.support_open``), voting ``Round.voting_open`` and the ballot's own
``voting.operations.voter_refusal`` (eligibility, already voted, the address register); the
board's waiting work is counted with the reviewing rule (``RULES[ADMIT]``), the moderation queue,
the expenses' four eyes (``Expense.approval_refusal``) and the paper batches' four eyes
(``voting.operations.four_eyes_refusal``). Only the wijken the person belongs to are read: their
own (and where they work, in rounds open to workers), the wijken they are on the board of, the
wijken they are a councillor for. Reads only; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from .. import permissions
from ..accounts.models import Role
from ..dialogue import queries as dialogue_queries
from ..extensions import db, utcnow
from ..neighbourhoods.models import Neighbourhood
from ..notifications.models import Follow
from ..proposals import queries as proposal_queries
from ..proposals.models import RULES, Action, CoAuthor, Proposal, State
from ..proposals.status import support_open
from ..rounds import queries as rounds_queries
from ..rounds.models import PHASES, Phase, Round
from ..spending import queries as spending_queries
from ..spending.models import Expense, FundedProject
from ..voting import operations as voting_operations
from ..voting.models import PaperBatch

if TYPE_CHECKING:
    from ..accounts.models import User

#: at most this many current rounds and own proposals on the page (the rest: their own pages)
ROUNDS_SHOWN = 6
PROPOSALS_SHOWN = 10
FOLLOWS_SHOWN = 20


@dataclass(frozen=True)
class VoteNow:
    """While a vote can be cast: whether this person can (``can``), or why not (``message``;
    ``voted`` when they did already)."""

    can: bool
    voted: bool = False
    message: str | None = None


@dataclass(frozen=True)
class RoundNow:
    """A current round of the person's wijk and what they can do in it now."""

    round: Round
    propose: bool
    propose_refusal: str | None  # why not, while proposals are open
    support: bool
    vote: VoteNow | None  # None: no vote can be cast now

    @property
    def anything(self) -> bool:
        return self.propose or self.support or bool(self.vote and self.vote.can)


@dataclass
class BoardWork:
    """What waits for one board member in one wijk; each a count, with where to do it."""

    wijk: Neighbourhood
    review: list[tuple[Round, int]] = field(default_factory=list)  # proposals to decide on
    reported: int = 0  # reported comments
    expenses: int = 0  # expenses this member may approve (four eyes: not their own)
    expenses_for_others: int = 0  # expenses only another board member may approve
    paper: list[tuple[Round, int]] = field(default_factory=list)  # batches to confirm

    @property
    def total(self) -> int:
        return (
            sum(n for _, n in self.review)
            + self.reported
            + self.expenses
            + sum(n for _, n in self.paper)
        )


@dataclass
class Start:
    rounds: list[RoundNow]
    proposals: list[Proposal]
    more_proposals: bool
    followed: list[Proposal]  # the proposals they follow
    board: list[BoardWork]
    #: the wijken this person reads as a councillor (an empty list: all wijken)
    councillor_of: list[Neighbourhood] | None


def start_of(user: User, now: datetime | None = None) -> Start:
    now = now or utcnow()
    rounds = current_rounds(user)
    rounds_queries.all_as_of_now(rounds, now)  # the phase the dates imply, shown, not written
    proposals = list(
        db.session.scalars(proposal_queries.proposals_of(user).limit(PROPOSALS_SHOWN + 1))
    )
    shown = proposals[:PROPOSALS_SHOWN]
    seen = {r.id for r in rounds}
    rounds_queries.all_as_of_now({p.round for p in shown if p.round_id not in seen}, now)
    return Start(
        rounds=[round_now(rnd, user, now) for rnd in rounds],
        proposals=shown,
        more_proposals=len(proposals) > PROPOSALS_SHOWN,
        followed=followed_proposals(user),
        board=board_work(user),
        councillor_of=councillor_wijken(user),
    )


def current_rounds(user: User) -> list[Round]:
    """The published rounds that are not closed of the person's own wijk, and of the wijk they
    work in when its round lets workers take part: current ones first (rounds_of's order)."""
    own = Round.neighbourhood_id == user.neighbourhood_id
    work = and_(
        Round.neighbourhood_id == user.work_neighbourhood_id, Round.workers_eligible.is_(True)
    )
    if user.neighbourhood_id is None and user.work_neighbourhood_id is None:
        return []
    order = case({p.value: i for i, p in enumerate(PHASES)}, value=Round.phase)
    return list(
        db.session.scalars(
            select(Round)
            .options(joinedload(Round.neighbourhood))
            .where(or_(own, work), Round.phase.not_in([Phase.CONCEPT, Phase.CLOSED]))
            .order_by(order, Round.created_at.desc(), Round.id.desc())
            .limit(ROUNDS_SHOWN)
        )
    )


def round_now(rnd: Round, user: User, now: datetime) -> RoundNow:
    """What ``user`` can do in ``rnd`` now, each by its own rule."""
    refusal = rnd.proposal_refusal(user)
    vote = None
    if rnd.voting_open(now):
        turn = voting_operations.voter_refusal(rnd, user, has_code=False)
        if turn is None or turn.turn == voting_operations.Turn.ADDRESS:
            vote = VoteNow(can=True)  # (the ballot asks for the address first)
        else:
            vote = VoteNow(
                can=False, voted=turn.turn == voting_operations.Turn.VOTED, message=turn.message
            )
    return RoundNow(
        round=rnd,
        propose=refusal is None,
        propose_refusal=refusal if rnd.phase == Phase.SUBMISSION else None,
        support=support_open(rnd, user),
        vote=vote,
    )


def followed_proposals(user: User) -> list[Proposal]:
    """The proposals this person follows (``notifications.models.Follow``; following a
    proposal follows the project it becomes), the latest followed first, with their rounds.
    Only public ones: what they chose to follow, read on pages anyone can open."""
    return list(
        db.session.scalars(
            select(Proposal)
            .join(Follow, Follow.proposal_id == Proposal.id)
            .options(selectinload(Proposal.round))
            .where(Follow.user_id == user.id, Proposal.state != State.CONCEPT)
            .order_by(Follow.created_at.desc(), Follow.id.desc())
            .limit(FOLLOWS_SHOWN)
        )
    )


# --- the board ----------------------------------------------------------------------------------


def board_work(user: User) -> list[BoardWork]:
    """Per wijk this person is on the board of: what waits for them. A fixed number of queries
    per such wijk (mostly one), whatever the number of proposals, comments or expenses; the
    paper batches' four eyes ask two small queries per open batch (a few piles during a vote)."""
    ids = permissions.board_wijk_ids(user)
    if not ids:
        return []
    wijken = list(
        db.session.scalars(
            select(Neighbourhood).where(Neighbourhood.id.in_(ids)).order_by(Neighbourhood.name)
        )
    )
    work = {w.id: BoardWork(wijk=w) for w in wijken}
    for rnd, n in _to_review(user, ids):
        work[rnd.neighbourhood_id].review.append((rnd, n))
    for wijk in wijken:
        work[wijk.id].reported = _reported(wijk)
        mine, others = _expenses(user, wijk)
        work[wijk.id].expenses, work[wijk.id].expenses_for_others = mine, others
    for rnd, n in _paper_to_confirm(user, ids):
        work[rnd.neighbourhood_id].paper.append((rnd, n))
    return [work[w.id] for w in wijken]


def _to_review(user: User, wijk_ids: set[int]) -> list[tuple[Round, int]]:
    """Per round: the proposals waiting for a decision (the states and phases in which the board
    admits, ``RULES[ADMIT]``) that this member did not write (an author never reviews their
    own: ``Proposal.who_refusal``)."""
    rule = RULES[Action.ADMIT]
    coauthored = select(CoAuthor.proposal_id).where(
        CoAuthor.user_id == user.id, CoAuthor.accepted_at.is_not(None)
    )
    rows = db.session.execute(
        select(Round, func.count(Proposal.id))
        .join(Proposal, Proposal.round_id == Round.id)
        .where(
            Round.neighbourhood_id.in_(wijk_ids),
            Round.phase.in_(list(rule.phases)),
            Proposal.state.in_(list(rule.states)),
            Proposal.submitter_id != user.id,
            Proposal.id.not_in(coauthored),
        )
        .group_by(Round.id)
        .order_by(Round.id)
    ).all()
    return [(rnd, int(n)) for rnd, n in rows]


def _reported(wijk: Neighbourhood) -> int:
    """The comments in the moderation queue of the wijk (the moderation page's own query)."""
    queue = dialogue_queries.moderation_queue(wijk).order_by(None).subquery()
    return int(db.session.scalar(select(func.count()).select_from(queue)) or 0)


def _expenses(user: User, wijk: Neighbourhood) -> tuple[int, int]:
    """The waiting expenses of the wijk: how many this member may approve, and how many only
    another may (four eyes: ``Expense.approval_refusal``)."""
    waiting = list(
        db.session.scalars(
            spending_queries.pending_for_board(wijk).options(
                selectinload(Expense.project)
                .selectinload(FundedProject.proposal)
                .selectinload(Proposal.coauthors),
                selectinload(Expense.project).joinedload(FundedProject.neighbourhood),
            )
        )
    )
    mine = sum(1 for e in waiting if e.approval_refusal(user) is None)
    return mine, len(waiting) - mine


def _paper_to_confirm(user: User, wijk_ids: set[int]) -> list[tuple[Round, int]]:
    """Per round: the open paper batches this member may confirm (four eyes: not begun, filled
    in or struck out by them; ``voting.operations.four_eyes_refusal``)."""
    batches = db.session.execute(
        select(PaperBatch, Round)
        .join(Round, Round.id == PaperBatch.round_id)
        .where(
            Round.neighbourhood_id.in_(wijk_ids),
            PaperBatch.confirmed_at.is_(None),
            PaperBatch.discarded_at.is_(None),
        )
        .order_by(Round.id, PaperBatch.id)
    ).all()
    counts: dict[int, tuple[Round, int]] = {}
    for batch, rnd in batches:
        if voting_operations.four_eyes_refusal(user, batch) is None:
            counts[rnd.id] = (rnd, counts.get(rnd.id, (rnd, 0))[1] + 1)
    return list(counts.values())


# --- councillors ----------------------------------------------------------------------------------


def councillor_wijken(user: User) -> list[Neighbourhood] | None:
    """The wijken this person reads as a councillor: None when they are none, an empty list
    when they read all wijken."""
    if not permissions.is_councillor(user):
        return None
    scoped: list[Any] = [
        a.neighbourhood_id for a in user.role_assignments if a.role == Role.COUNCILLOR
    ]
    if None in scoped:
        return []
    return list(
        db.session.scalars(
            select(Neighbourhood).where(Neighbourhood.id.in_(scoped)).order_by(Neighbourhood.name)
        )
    )
