"""The councillor's audit desk: what a councillor should look at in a wijk's spending.

Expenses without a receipt or waiting more than 30 days, projects without an update for more
than 90 days or over their grant, and an approval by someone who was involved in the project
*when they approved it*: the person who recorded the expense, an author of the proposal, or
whoever was the project's treasurer (penvoerder) at that moment. The application refuses such
an approval already (``Expense.approval_refusal``); the flag is the councillor's second look.

Judged at the time of the action, two false alarms are avoided:

- a *rejected* expense is never "approved by someone involved" (it was not approved; an
  expense that was approved and later reversed was approved, so it is judged);
- the treasurer is the one of that moment. The treasurer's terms are read from the audit log's
  ``project.treasurer`` events (each says who was treasurer before and after, and when; the
  log is append-only and written in the same transaction as the change), so no separate table
  is needed and projects from before issue 22 are judged right too. A project whose treasurer
  was set without an event (none is, by the application) counts its current treasurer from the
  project's start: the cautious reading, which flags rather than misses.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..audit.models import AuditEvent
from ..extensions import db, utcnow
from ..neighbourhoods.models import Neighbourhood
from ..proposals.models import Proposal
from .models import Expense, ExpenseState, FundedProject
from .queries import money_by_project, projects_of

#: what approved an expense at some moment (a reversed one was approved before it was reversed)
WAS_APPROVED = (ExpenseState.APPROVED, ExpenseState.REVERSED)


@dataclass(frozen=True)
class Flag:
    kind: str
    project: FundedProject
    text: str
    expense: Expense | None = None


@dataclass(frozen=True)
class Term:
    """One treasurer of a project, from ``start`` until ``end`` (None: still)."""

    user_id: int
    start: datetime
    end: datetime | None

    def covers(self, when: datetime) -> bool:
        return self.start <= when and (self.end is None or when < self.end)


def _treasurer_in(summary: str) -> int | None:
    """The treasurer's id in an audit summary: "penvoerder=13" → 13; "" (none) → None."""
    for part in summary.split(", "):
        key, _sep, value = part.partition("=")
        if key == "penvoerder" and value.isdigit():
            return int(value)
    return None


def treasurer_terms(projects: list[FundedProject]) -> dict[int, list[Term]]:
    """Every project's treasurers and their terms, from the audit log (one query)."""
    by_id = {p.id: p for p in projects}
    events: dict[int, list[AuditEvent]] = defaultdict(list)
    if by_id:
        for event in db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action == "project.treasurer",
                AuditEvent.object_type == FundedProject.__tablename__,
                AuditEvent.object_id.in_(by_id),
            )
            .order_by(AuditEvent.created_at, AuditEvent.id)
        ):
            events[event.object_id or 0].append(event)
    terms: dict[int, list[Term]] = {}
    for project in projects:
        mine = events.get(project.id, [])
        found: list[Term] = []
        if not mine:
            if project.treasurer_id is not None:
                found.append(Term(project.treasurer_id, project.created_at, None))
            terms[project.id] = found
            continue
        first = _treasurer_in(mine[0].before)
        if first is not None:  # a treasurer before the first change (set without an event)
            found.append(Term(first, project.created_at, mine[0].created_at))
        for event, following in zip(mine, [*mine[1:], None], strict=True):
            user_id = _treasurer_in(event.after)
            if user_id is not None:
                end = following.created_at if following is not None else None
                found.append(Term(user_id, event.created_at, end))
        terms[project.id] = found
    return terms


def treasurer_at(terms: list[Term], when: datetime) -> set[int]:
    return {t.user_id for t in terms if t.covers(when)}


def approved_by_someone_involved(
    expense: Expense, project: FundedProject, terms: list[Term]
) -> bool:
    """Whether the expense was approved (now or before it was reversed) by its recorder, an
    author of the proposal, or the treasurer of the project at the moment of the approval."""
    if expense.state not in WAS_APPROVED or expense.decided_by_id is None:
        return False
    who = expense.decided_by_id
    if who == expense.recorded_by_id or who in project.proposal.author_ids():
        return True
    when = expense.decided_at or expense.recorded_at
    return who in treasurer_at(terms, when)


def flags(wijk: Neighbourhood, now: datetime | None = None) -> list[Flag]:
    """What a councillor should look at in the wijk (see the module's docstring)."""
    now = now or utcnow()
    projects = projects_of(
        wijk,
        selectinload(FundedProject.proposal).selectinload(Proposal.coauthors),
        selectinload(FundedProject.expenses),
    )
    money = money_by_project([p.id for p in projects])
    terms = treasurer_terms(projects)
    result: list[Flag] = []
    for project in projects:
        for expense in project.expenses:
            if expense.state in (ExpenseState.PENDING, ExpenseState.APPROVED) and not (
                expense.receipt_name
            ):
                result.append(
                    Flag("no-receipt", project, _("Uitgave zonder bon of factuur."), expense)
                )
            if expense.state == ExpenseState.PENDING and expense.recorded_at < now - timedelta(
                days=30
            ):
                result.append(
                    Flag(
                        "waiting", project, _("Wacht langer dan 30 dagen op goedkeuring."), expense
                    )
                )
            if approved_by_someone_involved(expense, project, terms[project.id]):
                result.append(
                    Flag(
                        "involved",
                        project,
                        _("Goedgekeurd door iemand die op dat moment zelf bij het project hoorde."),
                        expense,
                    )
                )
        last = project.last_update_at or project.created_at
        if not project.is_closed and last < now - timedelta(days=90):
            result.append(Flag("quiet", project, _("Langer dan 90 dagen geen voortgangsbericht.")))
        if money[project.id].spent > money[project.id].granted:
            result.append(Flag("over", project, _("Meer uitgegeven dan toegekend.")))
    return result
