"""What the open data API shows: only what the public pages show (no concepts, no withdrawn
proposals, no vote counts before the result, private payees as "particulier"), as plain dicts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..neighbourhoods.models import Neighbourhood
from ..proposals.models import Proposal, State
from ..results import queries as results
from ..results.models import Result, ResultLine
from ..rounds.models import Phase, Round
from ..spending import queries as spending
from ..spending.models import Expense, FundedProject, LedgerEntry

#: proposals the API lists: handed in and not withdrawn
API_STATES = [s for s in State if s not in (State.CONCEPT, State.WITHDRAWN)]


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def wijken() -> Select[Neighbourhood]:
    return (
        select(Neighbourhood)
        .options(selectinload(Neighbourhood.areas))
        .order_by(Neighbourhood.name, Neighbourhood.id)
    )


def wijk_dict(wijk: Neighbourhood) -> dict[str, Any]:
    return {
        "slug": wijk.slug,
        "name": wijk.name,
        "description": wijk.description,
        "cbs_code": wijk.cbs_code,
        "areas": [area.name for area in wijk.areas],
    }


def rounds(wijk: Neighbourhood, phase: Phase | None) -> Select[Round]:
    query = select(Round).where(Round.neighbourhood_id == wijk.id, Round.phase != Phase.CONCEPT)
    if phase is not None:
        query = query.where(Round.phase == phase)
    return query.order_by(Round.id.desc())


def round_dict(rnd: Round, wijk_slug: str) -> dict[str, Any]:
    return {
        "id": rnd.id,
        "wijk": wijk_slug,
        "title": rnd.title,
        "introduction": rnd.introduction,
        "phase": rnd.phase.value,
        "budget_cents": rnd.budget_cents,
        "min_cost_cents": rnd.min_cost_cents,
        "max_cost_cents": rnd.max_cost_cents,
        "ballot_type": rnd.ballot_type.value,
        "rule": rnd.aggregation.value,
        "submission_opens": _time(rnd.submission_opens),
        "voting_opens": _time(rnd.voting_opens),
        "voting_ends": _time(rnd.result_opens),
    }


def proposals(rnd: Round, state: State | None, area_id: int | None) -> Select[Proposal]:
    query = (
        select(Proposal)
        .where(Proposal.round_id == rnd.id, Proposal.state.in_(API_STATES))
        .options(selectinload(Proposal.category), selectinload(Proposal.area))
        .order_by(Proposal.id)
    )
    if state is not None:
        query = query.where(Proposal.state == state)
    if area_id is not None:
        query = query.where(Proposal.area_id == area_id)
    return query


def proposal_dict(proposal: Proposal) -> dict[str, Any]:
    return {
        "id": proposal.id,
        "round": proposal.round_id,
        "title": proposal.title,
        "summary": proposal.summary,
        "state": proposal.state.value,
        "cost_cents": proposal.effective_cost_cents,
        "category": proposal.category.name if proposal.category else None,
        "area": proposal.area.name if proposal.area else None,
        "supports": proposal.support_count,
        "submitted_at": _time(proposal.submitted_at),
    }


def result_dict(rnd: Round) -> dict[str, Any] | None:
    """Only after the close: before it, no vote counts exist anywhere in the API."""
    result = db.session.scalar(
        select(Result)
        .where(Result.round_id == rnd.id)
        .options(selectinload(Result.lines).selectinload(ResultLine.proposal))
    )
    if result is None:
        return None
    return {
        "round": rnd.id,
        "rule": result.rule,
        "completion": result.completion,
        "tie_break": result.tie_break,
        "budget_cents": result.budget_cents,
        "cost_cents": result.cost_cents,
        "left_cents": result.left_cents,
        "voter_share_cents": result.voter_share_cents,
        "ballots_counted": result.ballots_counted,
        "ballots_sha256": result.ballots_sha256,
        "closed_at": _time(result.closed_at),
        "proposals": [
            {
                "id": line.proposal_id,
                "title": line.proposal.title,
                "funded": line.funded,
                "rank": line.rank,
                "score": line.score,
                "supporters": line.supporters,
                "cost_cents": line.cost_cents,
                "supporters_money_cents": line.supporters_money_cents,
                **results.figures(line),
                # the sentence of the result page, in the request's language
                "explanation": results.explanation(result, line),
            }
            for line in result.lines
        ],
    }


def projects(wijk: Neighbourhood) -> Select[FundedProject]:
    return spending.projects_query(wijk).order_by(None).order_by(FundedProject.id)


def project_dicts(items: list[FundedProject]) -> list[dict[str, Any]]:
    money = spending.money_by_project([p.id for p in items])
    return [
        {
            "id": p.id,
            "proposal": p.proposal_id,
            "round": p.round_id,
            "title": p.title,
            "status": p.status.value,
            "percent_done": p.percent_done,
            "granted_cents": money[p.id].granted,
            "spent_cents": money[p.id].spent,
            "returned_cents": money[p.id].returned,
            "remaining_cents": money[p.id].remaining,
        }
        for p in items
    ]


def expenses(project: FundedProject) -> Select[Expense]:
    return select(Expense).where(Expense.project_id == project.id).order_by(Expense.id)


def expense_dict(expense: Expense) -> dict[str, Any]:
    return {
        "id": expense.id,
        "project": expense.project_id,
        "spent_on": expense.spent_on.isoformat(),
        "amount_cents": expense.amount_cents,
        "payee": expense.public_payee(),
        "payee_type": expense.payee_type.value,
        "description": expense.description,
        "state": expense.state.value,
        "has_receipt": bool(expense.receipt_name),
    }


def ledger(wijk: Neighbourhood) -> Select[LedgerEntry]:
    return (
        select(LedgerEntry).where(LedgerEntry.neighbourhood_id == wijk.id).order_by(LedgerEntry.seq)
    )


def entry_dict(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "kind": entry.kind.value,
        "amount_cents": entry.amount_cents,
        "round": entry.round_id,
        "project": entry.project_id,
        "expense": entry.expense_id,
        "corrects": entry.corrects_id,
        "reason": entry.reason,
        "created_at": _time(entry.created_at),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
        "canonical": entry.canonical(),
    }
