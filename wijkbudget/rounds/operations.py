"""Round use cases: the board creates and edits a round and moves it through its phases; the
dates move it too. Every change is audit-logged; each use case is one transaction.

A move by date is written in one place only, :func:`sync_phase`, which runs under the round's
lock: from the ``tick`` command (:func:`tick`, every minute from cron or a systemd timer), when
the board moves the round (publish, advance, go back), and at the start of every write that
depends on the phase (:func:`lock_round`). A page that only reads shows the phase the dates
imply without writing it (``queries.as_of_now``).

Lock order: the round first (``lock_round``), then its proposals (the support threshold), then
anything else.

Once voting has opened, the dates of voting and of the phases before it are frozen
(:func:`update_round` refuses a change); the one change left is :func:`extend_voting`, a later
end of voting with a public reason, only before the current end has passed.

Size: over 500 lines because every change of a round's phase or dates is written here, under
the same lock and with the same audit entries; splitting the phases from the dates would split
the one lock order in two places.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from .. import permissions
from ..accounts.models import User
from ..audit.operations import record
from ..extensions import db, utcnow
from ..neighbourhoods.models import Area, Neighbourhood
from ..proposals.threshold import apply_support_threshold
from ..usecase import Conflict, guarded, lock, lock_or_gone, use_case
from .models import (
    PHASE_DATE_FIELDS,
    PHASES,
    Aggregation,
    BallotType,
    Category,
    Criterion,
    Eligibility,
    Phase,
    PhaseChange,
    Round,
    RoundError,
    VotingExtension,
    phase_label,
)
from .queries import phase_by_dates, transition_problem

__all__ = ["transition_problem"]  # re-exported: the board's checks and the pages share it


@dataclass
class RoundData:
    title: str
    introduction: str
    budget_cents: int
    min_cost_cents: int
    max_cost_cents: int
    categories: list[str]
    criteria: list[str]
    area_ids: list[int] = field(default_factory=list)
    min_age: int | None = None
    workers_eligible: bool = False
    support_enabled: bool = True
    support_threshold: int = 0
    ballot_type: BallotType = BallotType.APPROVAL
    ballot_max_choices: int | None = None
    ballot_points: int | None = None
    ballot_min_choices: int | None = None
    ballot_min_percent: int | None = None
    ballot_max_points_each: int | None = None
    eligibility: Eligibility = Eligibility.ACCOUNTS_AND_CODES
    aggregation: Aggregation = Aggregation.GREEDY
    dates: dict[Phase, datetime | None] = field(default_factory=dict)


#: what cannot change once voting has opened
LOCKED_FIELDS = (
    "budget_cents",
    "min_cost_cents",
    "max_cost_cents",
    "ballot_type",
    "ballot_max_choices",
    "ballot_points",
    "ballot_min_choices",
    "ballot_min_percent",
    "ballot_max_points_each",
    "eligibility",
    "aggregation",
    "min_age",
    "workers_eligible",
    "support_enabled",
    "support_threshold",
)


def _check(data: RoundData) -> None:
    if data.budget_cents <= 0:
        raise RoundError(_("Het budget moet meer dan € 0 zijn."))
    if data.min_cost_cents > data.max_cost_cents:
        raise RoundError(_("Het minimumbedrag per voorstel is hoger dan het maximumbedrag."))
    if data.max_cost_cents > data.budget_cents:
        raise RoundError(_("Het maximumbedrag per voorstel is hoger dan het hele budget."))
    if not data.categories:
        raise RoundError(_("Geef minstens één categorie, bijvoorbeeld: groen."))
    if len({c.lower() for c in data.categories}) != len(data.categories):
        raise RoundError(_("Een categorie staat twee keer in de lijst."))
    if data.ballot_type == BallotType.CUMULATIVE and not data.ballot_points:
        raise RoundError(_("Vul in hoeveel punten iedereen mag verdelen."))
    if data.ballot_type == BallotType.APPROVAL and _above(
        data.ballot_min_choices, data.ballot_max_choices
    ):
        raise RoundError(_("Het minimum aantal keuzes is hoger dan het maximum."))
    if data.ballot_type == BallotType.CUMULATIVE and _above(
        data.ballot_max_points_each, data.ballot_points
    ):
        raise RoundError(_("Het maximum per voorstel is hoger dan het totaal aantal punten."))
    if data.ballot_type != BallotType.APPROVAL:
        data.ballot_max_choices = None
        data.ballot_min_choices = None
    if data.ballot_type != BallotType.KNAPSACK:
        data.ballot_min_percent = None
    if data.ballot_type != BallotType.CUMULATIVE:
        data.ballot_points = None
        data.ballot_max_points_each = None


def _above(part: int | None, limit: int | None) -> bool:
    """Both are set (0 is not set) and ``part`` is more than ``limit``."""
    return bool(part and limit and part > limit)


def _areas(wijk: Neighbourhood, ids: list[int]) -> list[Area]:
    areas = [a for a in wijk.areas if a.id in set(ids)]
    if len(areas) != len(set(ids)):
        raise RoundError(_("Kies alleen buurten van deze wijk."))
    return areas


def _snapshot(rnd: Round) -> dict[str, object]:
    return {
        "titel": rnd.title,
        "budget": rnd.budget_cents,
        "min": rnd.min_cost_cents,
        "max": rnd.max_cost_cents,
        "stembiljet": rnd.ballot_type.value,
        "k": rnd.ballot_max_choices,
        "punten": rnd.ballot_points,
        "regel": rnd.aggregation.value,
        "stemmers": rnd.eligibility.value,
        "steunen": rnd.support_enabled,
        "drempel": rnd.support_threshold,
        "leeftijd": rnd.min_age,
        **_dates(rnd),
    }


def _dates(rnd: Round) -> dict[str, object]:
    """The phase dates for the audit log, under their column names (audit/render.py shows them
    as Dutch words with the date in Amsterdam time); ISO 8601 in UTC, so before and after show
    each its own date."""
    dates: dict[str, object] = {}
    for name in PHASE_DATE_FIELDS.values():
        when = getattr(rnd, name)
        dates[name] = when.isoformat(timespec="minutes") if when is not None else None
    return dates


#: the phases whose dates are frozen once voting has opened: voting's start and end (the start
#: of the result) and every phase before it
FROZEN_ONCE_VOTING = (
    Phase.SUBMISSION,
    Phase.REVIEW,
    Phase.SUPPORT,
    Phase.VOTING,
    Phase.RESULT,
)


def _same_minute(one: datetime | None, other: datetime | None) -> bool:
    """The form shows and sends dates to the minute: 12:34:56 stored is 12:34 sent back."""
    if one is None or other is None:
        return one is other
    return one.replace(second=0, microsecond=0) == other.replace(second=0, microsecond=0)


def _check_frozen_dates(rnd: Round, dates: dict[Phase, datetime | None]) -> None:
    """From voting on, the dates of voting and before cannot change (an empty field for a phase
    that has started keeps its date, as it always did)."""
    for phase in FROZEN_ONCE_VOTING:
        if phase not in dates:
            continue
        wanted, now = dates[phase], rnd.starts(phase)
        if wanted is None and rnd.has_reached(phase):
            continue
        if not _same_minute(wanted, now):
            raise RoundError(
                _(
                    "Het stemmen is begonnen: de datums van het stemmen en van de fasen ervoor "
                    "liggen nu vast. Het einde van de stemming kan alleen later, met een "
                    "openbare reden: gebruik daarvoor 'Stemming verlengen'."
                )
            )


def _apply(rnd: Round, data: RoundData, wijk: Neighbourhood) -> None:
    rnd.title = data.title.strip()
    rnd.introduction = data.introduction.strip()
    for name in LOCKED_FIELDS:
        setattr(rnd, name, getattr(data, name))
    rnd.areas = _areas(wijk, data.area_ids)
    # categories keep their ids (proposals point at them); renamed by position
    existing = {c.name.lower(): c for c in rnd.categories}
    rnd.categories = [existing.get(name.lower()) or Category(name=name) for name in data.categories]
    for position, category in enumerate(rnd.categories):
        category.position = position
        category.name = data.categories[position]
    rnd.criteria = [Criterion(text=t, position=i) for i, t in enumerate(data.criteria)]


@use_case
def create_round(actor: User, wijk: Neighbourhood, data: RoundData) -> Round:
    """A new round, as a concept only the board sees.

    Locks: nothing: it is a new row, and no other row's state decides whether it may exist."""
    _check(data)
    rnd = Round(neighbourhood=wijk, created_by_id=actor.id, phase=Phase.CONCEPT)
    _apply(rnd, data, wijk)
    for phase, when in data.dates.items():
        rnd.set_start(phase, when)
    rnd.check_dates()
    db.session.add(rnd)
    db.session.flush()
    record(
        "round.create", actor=actor, role="board", obj=rnd, neighbourhood=wijk, after=_snapshot(rnd)
    )
    return rnd


@use_case
def update_round(actor: User, rnd: Round, data: RoundData) -> None:
    """The board edits a round; from voting on (by the dates too) the rules cannot change.

    Locks: the round (``lock_round``), so the move to voting and this edit cannot overlap: an
    edit that waited for the move sees the voting phase and is refused."""
    _check(data)
    rnd = lock_round(rnd)
    before = _snapshot(rnd)
    if rnd.rules_locked:
        changed = [n for n in LOCKED_FIELDS if getattr(rnd, n) != getattr(data, n)]
        same_areas = {a.id for a in rnd.areas} == set(data.area_ids)
        same_categories = [c.name for c in rnd.categories] == data.categories
        if changed or not same_areas or not same_categories:
            raise RoundError(
                _(
                    "Het stemmen is begonnen. Het budget, de regels van het stembiljet, de "
                    "buurten en de categorieën liggen nu vast."
                )
            )
        _check_frozen_dates(rnd, data.dates)
    for phase, when in data.dates.items():
        if rnd.has_reached(phase) and rnd.is_published:
            continue  # a phase that has started keeps the date it started on
        if rnd.rules_locked and phase in FROZEN_ONCE_VOTING:
            continue  # frozen (checked above: the form sent the same minute)
        rnd.set_start(phase, when)
    _apply(rnd, data, rnd.neighbourhood)
    rnd.check_dates()
    db.session.flush()
    record(
        "round.update",
        actor=actor,
        role="board",
        obj=rnd,
        neighbourhood=rnd.neighbourhood,
        before=before,
        after=_snapshot(rnd),
    )


#: the longest public reason for an extension (the column's length)
EXTENSION_REASON_MAX = 500


@use_case
def extend_voting(
    actor: User,
    rnd: Round,
    new_end: datetime,
    reason: str,
    expected_end: datetime | None = None,
    now: datetime | None = None,
) -> VotingExtension:
    """The board moves the end of voting to a later moment, with a public reason: only while
    the vote is on and before its current end has passed (a vote that has ended, as the site
    said, does not open again), only later, never earlier. ``expected_end`` is the end the
    board's page showed: when another extension came first, nothing changes (409), so two
    extensions at once give one.

    Locks: the round (``lock_round``), which the close of the vote also takes: an extension
    and the close cannot overlap (the close after an extension finds the vote still running;
    an extension after the close finds the round out of voting)."""
    now = now or utcnow()
    rnd = lock_round(rnd, now)
    if not permissions.is_board(actor, rnd.neighbourhood):
        raise RoundError(_("Alleen het bestuur van de wijk kan de stemming verlengen."))
    if rnd.phase != Phase.VOTING:
        raise Conflict(
            _("De stemming is niet (meer) bezig. Verlengen kan alleen tijdens het stemmen.")
        )
    current = rnd.voting_ends
    if current is None:
        raise RoundError(
            _("De stemming heeft geen einddatum: ze loopt tot het bestuur haar sluit.")
        )
    if expected_end is not None and not _same_minute(current, expected_end):
        raise Conflict(
            _(
                "Het einde van de stemming is intussen al veranderd. Er is niets veranderd. "
                "Kijk of het nog nodig is."
            )
        )
    if now >= current:
        raise RoundError(
            _(
                "De stemming is al voorbij. Verlengen kan alleen vóór het einde van de "
                "stemming; sluit nu de stemming."
            )
        )
    new_end = new_end.replace(second=0, microsecond=0)
    if new_end <= current:
        raise RoundError(_("Kies een einde dat later is dan het huidige einde van de stemming."))
    text = " ".join(reason.split())
    if not text:
        raise RoundError(_("Schrijf waarom de stemming langer duurt. Dit is openbaar."))
    if len(text) > EXTENSION_REASON_MAX:
        raise RoundError(_("Hoogstens %(max)d tekens.", max=EXTENSION_REASON_MAX))
    before = _dates(rnd)
    rnd.set_start(Phase.RESULT, new_end)
    rnd.check_dates()
    extension = VotingExtension(
        round=rnd,
        ends_before=current,
        ends_after=new_end,
        reason=text,
        actor_id=actor.id,
        created_at=now,
    )
    db.session.add(extension)
    db.session.flush()
    record(
        "round.extend_voting",
        actor=actor,
        role="board",
        obj=rnd,
        neighbourhood=rnd.neighbourhood_id,
        before={"result_opens": before["result_opens"]},
        after={"result_opens": _dates(rnd)["result_opens"], "reden": text},
    )
    return extension


# --- phases -----------------------------------------------------------------------------------

_MOVED_MEANWHILE = _l("De ronde is net al naar een andere fase gegaan. Er is niets veranderd.")


def _move(rnd: Round, target: Phase, actor: User | None, reason: str, when: datetime) -> None:
    """Write one move. The phase changes with a conditional ``UPDATE … WHERE phase = <the phase
    this move starts from>``: under the round's lock it always changes the row; where a lock is
    not honoured (SQLite has no ``FOR UPDATE``) a second mover that read the old phase changes
    nothing and is refused, so a move is never written twice."""
    source = rnd.phase
    if source == Phase.SUPPORT and PHASES.index(target) > PHASES.index(Phase.SUPPORT):
        apply_support_threshold(rnd)
    if not guarded(
        update(Round).where(Round.id == rnd.id, Round.phase == source).values(phase=target)
    ):
        raise Conflict(str(_MOVED_MEANWHILE))
    set_committed_value(rnd, "phase", target)  # written just now
    if target != Phase.CONCEPT and PHASES.index(target) > PHASES.index(source):
        rnd.set_start(target, when if actor is not None else (rnd.starts(target) or when))
    rnd.phase_changes.append(
        PhaseChange(
            from_phase=source,
            to_phase=target,
            actor_id=actor.id if actor else None,
            reason=reason,
            created_at=when,
        )
    )
    record(
        "round.phase",
        actor=actor,
        role="board" if actor is not None else "system",
        obj=rnd,
        neighbourhood=rnd.neighbourhood_id,
        before={"fase": source.value},
        after={"fase": target.value, "reden": reason or None},
    )


def _sync(rnd: Round, now: datetime | None = None) -> list[tuple[Phase, Phase]]:
    now = now or utcnow()
    moves: list[tuple[Phase, Phase]] = []
    while (target := rnd.due_phase(now)) is not None:
        if transition_problem(rnd, target) is not None:
            break
        moves.append((rnd.phase, target))
        _move(rnd, target, None, "", now)
    return moves


def sync_phase(rnd: Round, now: datetime | None = None) -> bool:
    """Move the round along the dates that have passed (with the support threshold when it
    leaves steunen). Returns whether anything changed. Stops where a move is not possible yet
    (e.g. proposals still unreviewed).

    Locks: nothing itself: only for a round the caller has locked (``lock_round``,
    ``tick_round``) inside a use case, as it writes."""
    return bool(_sync(rnd, now))


def lock_round(rnd: Round | int, now: datetime | None = None) -> Round:
    """The round's row locked (``FOR UPDATE``) for the rest of the use case, read afresh and
    moved along the dates that have passed (so a write that depends on the phase judges by
    the dates, whether or not ``flask tick`` has run). Raises Conflict if it was deleted.

    Locks: the round, then (the support threshold, when steunen ends) its proposals: take it
    before any proposal, user or wijk row."""
    locked = lock_or_gone(Round, rnd)
    sync_phase(locked, now)
    return locked


@dataclass(frozen=True)
class Moved:
    """One move by date that :func:`tick` wrote."""

    round_id: int
    wijk: str
    title: str
    source: Phase
    target: Phase

    def __str__(self) -> str:
        return (
            f"{self.wijk} · {self.title} (ronde {self.round_id}): "
            f"{phase_label(self.source)} → {phase_label(self.target)}"
        )


@use_case
def tick_round(round_id: int, now: datetime | None = None) -> list[Moved]:
    """Write the moves by date of one round (and the support threshold they apply).

    Locks: the round (``FOR UPDATE``); a second tick or a board move waits, reads the moved
    round afresh and finds nothing left to do (idempotent)."""
    rnd = lock(Round, round_id)
    if rnd is None:  # deleted meanwhile
        return []
    moves = _sync(rnd, now)
    return [
        Moved(rnd.id, rnd.neighbourhood.name, rnd.title, source, target) for source, target in moves
    ]


def tick(now: datetime | None = None) -> list[Moved]:
    """The ``flask tick`` command: every published round whose dates have passed moves on, one
    transaction per round (a round that cannot move yet, e.g. with unreviewed proposals, is
    left as it is). Safe to run at the same time from two places: each move is written once.

    Locks: each round that is due, one at a time (``tick_round``); finding them reads only."""
    now = now or utcnow()
    candidates = db.session.scalars(
        select(Round)
        .where(Round.phase.not_in((Phase.CONCEPT, Phase.VOTING, Phase.CLOSED)))
        .order_by(Round.id)
    ).all()
    due = [rnd.id for rnd in candidates if phase_by_dates(rnd, now) != rnd.phase]
    moved: list[Moved] = []
    for round_id in due:
        try:
            moved.extend(tick_round(round_id, now))
        except Conflict:  # moved by another at the same moment (where locks are not honoured)
            continue
    return moved


def close_voting_phase(actor: User, rnd: Round, when: datetime) -> None:
    """Voting → uitslag, for results.operations.close_voting only (which counts the votes in the
    same transaction). The caller holds the round (``lock_round``) and found it in voting, so a
    second close cannot get here.

    Locks: nothing itself: the caller holds the round's row."""
    _move(rnd, Phase.RESULT, actor, _("Stemming gesloten en geteld."), when)


def _expect(rnd: Round, expected: Phase | None) -> None:
    """The board pressed the button on a page that showed the round in ``expected``: if it has
    moved since (another board member, a second click, the dates), nothing more happens."""
    if expected is not None and rnd.phase != expected:
        raise Conflict(
            _(
                "De ronde is intussen al in de fase '%(phase)s'. Er is niets veranderd. Kijk "
                "of er nog iets moet gebeuren.",
                phase=phase_label(rnd.phase),
            )
        )


@use_case
def publish(actor: User, rnd: Round) -> None:
    """Concept → indienen: the round becomes public and open for proposals (and moves on at
    once along dates that have already passed).

    Locks: the round (``lock_round``): a second click finds it published (409)."""
    rnd = lock_round(rnd)
    if rnd.is_published:
        raise Conflict(_("Deze ronde is al gepubliceerd."))
    if not rnd.introduction:
        raise RoundError(_("Schrijf eerst een uitleg voor bewoners."))
    _move(rnd, Phase.SUBMISSION, actor, "", utcnow())
    sync_phase(rnd)


@use_case
def advance(actor: User, rnd: Round, reason: str, expected: Phase | None = None) -> Phase:
    """The board moves the round to its next phase now, with a reason. ``expected`` is the
    phase the board's page showed (the form carries it): when the round is no longer there,
    nothing moves (409), so two clicks move it one phase.

    Locks: the round (``lock_round``, which first writes the moves its dates call for); the
    proposal counts of the transition check are read under that lock."""
    rnd = lock_round(rnd)
    _expect(rnd, expected)
    if not rnd.is_published:
        raise RoundError(_("Publiceer de ronde eerst."))
    target = rnd.next_phase()
    if target is None:
        raise RoundError(_("Deze ronde is afgesloten."))
    if rnd.phase == Phase.VOTING:
        raise RoundError(
            _("Sluit de stemming met de knop 'Stemming sluiten': dan worden de stemmen ook geteld.")
        )
    if not reason.strip():
        raise RoundError(_("Schrijf waarom de fase nu verandert."))
    problem = transition_problem(rnd, target)
    if problem:
        raise RoundError(problem)
    _move(rnd, target, actor, reason.strip(), utcnow())
    return target


@use_case
def go_back(
    actor: User, rnd: Round, target: Phase, reason: str, expected: Phase | None = None
) -> None:
    """Back to an earlier phase, only before voting. Later phases lose their dates (they had
    passed), so the round waits for the board to set new ones. ``expected``: as for advance.

    Locks: the round (``lock_round``): a round the dates moved to voting cannot go back."""
    rnd = lock_round(rnd)
    _expect(rnd, expected)
    if target not in rnd.back_targets():
        raise RoundError(
            _(
                "Terug naar '%(phase)s' kan niet: terug kan alleen vóór het stemmen.",
                phase=phase_label(target),
            )
        )
    if not reason.strip():
        raise RoundError(_("Schrijf waarom de ronde teruggaat."))
    now = utcnow()
    for phase in rnd.phases():
        start = rnd.starts(phase)
        if PHASES.index(phase) > PHASES.index(target) and start is not None and start <= now:
            rnd.set_start(phase, None)
    _move(rnd, target, actor, reason.strip(), now)
