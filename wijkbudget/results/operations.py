"""Closing the vote: in one transaction (one use case) the round leaves voting for good, the
ballots are counted with the round's rule by the tally engine, the result is stored, never to
change, and each chosen proposal gets its grant."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import permissions
from ..accounts.models import User
from ..audit.operations import record
from ..extensions import db, utcnow
from ..i18n import utc_to_local
from ..proposals.models import Proposal, State
from ..rounds import operations as rounds
from ..rounds.models import Aggregation, BallotType, Phase, Round
from ..spending import operations as spending
from ..tally.model import BallotKind, Election, Project
from ..usecase import use_case
from ..voting import operations as voting
from ..voting.models import Ballot, BallotChoice, PaperBatch
from .models import TIE_BREAK, AlreadyClosed, Result, ResultError, ResultLine

if TYPE_CHECKING:
    from ..tally.payments import Payment  # (numpy: loaded when counting, not at start-up)

RULE_NAMES = {Aggregation.GREEDY: "greedy", Aggregation.EQUAL_SHARES: "equal-shares"}
#: the completion a round's equal-shares result uses: "add one", as the cities that use it do
ROUND_COMPLETION = "add1"


def _scale(rnd: Round, proposals: list[Proposal]) -> int:
    """Count in whole euros when every amount is whole euros (as the cities do: the add-one
    steps are one euro), else in cents."""
    amounts = [rnd.budget_cents, *(p.effective_cost_cents for p in proposals)]
    return 1 if all(a % 100 == 0 for a in amounts) else 100


def round_election(rnd: Round, *, shuffle: bool = True) -> tuple[Election, dict[str, Proposal]]:
    """The counted ballots of a round as an anonymous election (projects are proposal ids).
    Shuffled: the order of the file says nothing about the order of voting."""
    proposals = list(
        db.session.scalars(
            select(Proposal)
            .where(Proposal.round_id == rnd.id, Proposal.state.in_((State.ADMITTED,)))
            .order_by(Proposal.id)
        )
    )
    scale = _scale(rnd, proposals)
    unit = 100 // scale  # cents per internal unit
    projects = {
        str(p.id): Project(id=str(p.id), cost=p.effective_cost_cents // unit, name=p.title)
        for p in proposals
    }
    # one plain query, no ORM objects: a round can have a hundred thousand ballots
    names = {p.id: str(p.id) for p in proposals}
    by_ballot: dict[str, list[tuple[int, int]]] = {}
    rows = db.session.execute(
        select(Ballot.id, BallotChoice.proposal_id, BallotChoice.points)
        .outerjoin(BallotChoice, BallotChoice.ballot_id == Ballot.id)
        .where(Ballot.round_id == rnd.id)
    )
    for ballot_id, proposal_id, points in rows:
        choices = by_ballot.get(ballot_id)
        if choices is None:
            choices = by_ballot[ballot_id] = []
        if proposal_id in names:
            choices.append((proposal_id, points))
    # each ballot's choices in proposal order, as the file lists them
    ballots = [{names[pid]: points for pid, points in sorted(c)} for c in by_ballot.values()]
    if shuffle:
        secrets.SystemRandom().shuffle(ballots)
    kind = (
        BallotKind.CUMULATIVE if rnd.ballot_type == BallotType.CUMULATIVE else BallotKind.APPROVAL
    )
    election = Election(
        projects=projects,
        budget=rnd.budget_cents // unit,
        kind=kind,
        ballots=ballots,
        scale=scale,
        meta={
            "description": f"wijkbudget: {rnd.neighbourhood.name} — {rnd.title}",
            "country": "Netherlands",
            "unit": rnd.neighbourhood.name,
            "instance": rnd.title,
            "currency": "EUR",
            "rule": RULE_NAMES[rnd.aggregation],
            "date_begin": _date(rnd.voting_opens),
            "date_end": _date(rnd.voting_ends),
            "language": "nl",
        },
    )
    return election, {str(p.id): p for p in proposals}


def _date(when: datetime | None) -> str:
    return f"{utc_to_local(when):%d.%m.%Y}" if when else ""


def _cents(amount: Fraction | int | None, scale: int) -> int | None:
    if amount is None:
        return None
    return int(Fraction(amount) * 100 / scale)  # rounded down to a cent


def _payment_columns(payment: Payment | None, scale: int) -> dict[str, int | None]:
    """How the supporters paid for a proposal equal shares chose, as the result line stores
    it (amounts rounded down to a cent); all None for any other line."""
    if payment is None:
        return dict.fromkeys(
            ("supporters_had_cents", "price_cents", "paid_in_full", "paid_all_left",
             "paid_all_left_cents", "had_nothing_left"),
        )  # fmt: skip
    return {
        "supporters_had_cents": _cents(payment.had, scale),
        "price_cents": _cents(payment.price, scale),
        "paid_in_full": payment.full,
        "paid_all_left": payment.rest,
        "paid_all_left_cents": _cents(payment.rest_paid, scale),
        "had_nothing_left": payment.broke,
    }


@use_case(conflict=_l("De stemming is net al gesloten. Kijk bij de uitslag."))
def close_voting(
    board: User, rnd: Round, *, confirmed: bool, now: datetime | None = None
) -> Result:
    """Stemming sluiten: only the board of the wijk, only after the voting end date (when one is
    set), never with a paper batch still open, and only once. Counts the ballots, stores the
    result and grants the chosen proposals (spending.grant_chosen), all in this use case.

    Locks: the round (``rounds.lock_round``, ``FOR UPDATE``) before anything is checked. Every
    cast holds it ``FOR SHARE``, so the close waits for the ballots being cast and a cast after
    it finds the vote closed; opening a paper batch locks it too, and a batch being entered,
    confirmed or discarded (under the batch's own lock) shows here as still open. A second close
    waits, then finds the round out of voting (409): one result (``round_result.round_id`` is
    unique), one grant per chosen proposal (``funded_project.proposal_id`` is unique)."""
    now = now or utcnow()
    if not permissions.is_board(board, rnd.neighbourhood):
        raise ResultError(_("Alleen het bestuur van de wijk kan de stemming sluiten."))
    rnd = rounds.lock_round(rnd, now)
    if rnd.phase != Phase.VOTING:
        raise AlreadyClosed(_("De stemming is al gesloten."))
    if not confirmed:
        raise ResultError(_("Vink aan dat je de stemming wilt sluiten. Dit kan niet terug."))
    ends = rnd.voting_ends
    if ends is not None and now < ends:
        raise ResultError(
            _(
                "De stemming loopt nog tot %(when)s. Sluiten kan pas daarna.",
                when=f"{utc_to_local(ends):%d-%m-%Y %H:%M}",
            )
        )
    open_batches = db.session.scalar(
        select(PaperBatch.label).where(
            PaperBatch.round_id == rnd.id,
            PaperBatch.confirmed_at.is_(None),
            PaperBatch.discarded_at.is_(None),
        )
    )
    if open_batches is not None:
        raise ResultError(
            _(
                "De stapel papieren stemmen '%(label)s' is nog open. Laat hem eerst bevestigen "
                "of gooi hem weg.",
                label=open_batches,
            )
        )
    rounds.close_voting_phase(board, rnd, now)
    # the sealed ballots opened and written in a random order, the round's private key wiped
    voting.unseal_ballots(rnd)
    return _count(board, rnd, now)


def _count(board: User, rnd: Round, now: datetime) -> Result:
    from ..tally import pabulib, rules  # numpy: loaded when counting, not at start-up

    election, proposals = round_election(rnd)
    rule = RULE_NAMES[rnd.aggregation]
    completion = ROUND_COMPLETION if rule == "equal-shares" else None
    # may use a second CPU; with each chosen proposal's payments, for its explanation
    outcome = rules.run(election, rule, completion, parallel=True, explain=True)
    text = pabulib.dumps(election)
    result = Result(
        round_id=rnd.id,
        rule=rule,
        completion=completion,
        tie_break=TIE_BREAK,
        budget_cents=rnd.budget_cents,
        cost_cents=sum(proposals[pid].effective_cost_cents for pid in outcome.funded),
        ballots_counted=election.voters,
        ballot_type=rnd.ballot_type.value,
        ballots_file=text,
        ballots_sha256=hashlib.sha256(text.encode()).hexdigest(),
        notes="\n".join(election.notes),
        closed_at=now,
        closed_by_id=board.id,
        voter_share_cents=_cents(outcome.voter_budget, election.scale),
    )
    funded_order = {pid: i for i, pid in enumerate(outcome.funded, start=1)}
    others = sorted(
        (pid for pid in proposals if pid not in funded_order),
        key=lambda pid: (-outcome.scores.get(pid, 0), proposals[pid].effective_cost_cents, pid),
    )
    ranks = {**funded_order, **{pid: len(funded_order) + i for i, pid in enumerate(others, 1)}}
    for pid, proposal in proposals.items():
        explanation = outcome.explanations[pid]
        funded = pid in funded_order
        result.lines.append(
            ResultLine(
                proposal_id=proposal.id,
                funded=funded,
                rank=ranks[pid],
                score=outcome.scores.get(pid, 0),
                supporters=explanation.supporters,
                cost_cents=proposal.effective_cost_cents,
                stage=explanation.stage,
                supporters_money_cents=_cents(explanation.supporters_money, election.scale),
                budget_left_cents=_cents(explanation.left_before, election.scale),
                **_payment_columns(explanation.payment, election.scale),
            )
        )
        proposal.state = State.CHOSEN if funded else State.NOT_CHOSEN
    db.session.add(result)
    db.session.flush()
    # the result is final: each chosen proposal becomes a funded project, its grant a ledger entry
    spending.grant_chosen(board, rnd, [proposals[pid] for pid in outcome.funded], now)
    record(
        "round.close",
        actor=board,
        role="board",
        obj=rnd,
        neighbourhood=rnd.neighbourhood_id,
        after={
            "regel": rule,
            "aanvulling": completion,
            "stemmen": election.voters,
            "gekozen": len(outcome.funded),
            "sha256": result.ballots_sha256,
        },
    )
    return result
