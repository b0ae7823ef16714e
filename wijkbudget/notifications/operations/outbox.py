"""The outbox: discover what happened and queue a mail per person who wants to hear of it, then
send the queue — each mail at most once, retried with backoff when the mail server fails.

Discovering is idempotent: every event is found again from the rounds' dates and states, the
results, the projects' updates and approved expenses, each time the command runs, and the
outbox's unique key (person, kind, subject) keeps one row per mail (``INSERT … ON CONFLICT DO
NOTHING``). Nothing in the other areas' operations had to change, and an event missed while the
command was not running is still found afterwards (within ``RECENT``).

Sending takes one row at a time with ``SELECT … FOR UPDATE SKIP LOCKED``, hands the mail to the
server and marks it sent in the same transaction: a second sender skips the locked row, and
finds it sent once the lock goes. A weekly digest locks the person's settings row the same way.
A mail the server refused waits 2, 4, 8 … minutes and is given up after ``MAX_ATTEMPTS``.
(If the process dies between the server's "250 OK" and the commit, that one mail is sent again
on the next run: at least once in a crash, exactly once otherwise.)"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from ...accounts.models import User
from ...extensions import db, utcnow
from ...mail import MailError
from ...proposals.models import CoAuthor, Proposal, ProposalEvent, State
from ...results.models import Result
from ...rounds.models import Phase, Round
from ...rounds.queries import phase_by_dates
from ...spending.models import Expense, ExpenseState, FundedProject, ProgressUpdate
from ...usecase import use_case
from ..models import (
    DEFAULTS,
    DIGEST_INTERVAL,
    MAX_ATTEMPTS,
    Follow,
    Kind,
    NotificationSettings,
    Outbox,
    OutboxState,
    backoff,
)
from .choices import settings_of
from .mails import Mail, follow_item, mail_of, send

#: the reminder goes this long before voting closes
REMINDER_BEFORE = timedelta(hours=48)
#: an event older than this is not mailed any more (a result from last year, when someone turns
#: result mail on today; the first run after installing this)
RECENT = timedelta(days=14)


@dataclass
class Report:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    dropped: int = 0


# --- who may be mailed ------------------------------------------------------------------------


def _reachable() -> ColumnElement[bool]:
    return and_(
        User.deleted_at.is_(None), User.email.is_not(None), User.email_verified_at.is_not(None)
    )


def _wants(kind: Kind) -> ColumnElement[bool]:
    """The person (outer-joined to their settings) wants ``kind``: as saved, or by default."""
    column: ColumnElement[bool] = getattr(NotificationSettings, kind.value)
    if DEFAULTS[kind]:
        return or_(NotificationSettings.user_id.is_(None), column.is_(True))
    return column.is_(True)


def _takes_part(rnd: Round) -> ColumnElement[bool]:
    """Lives in the round's wijk, or works there when the round is open to workers."""
    lives = User.neighbourhood_id == rnd.neighbourhood_id
    works = User.work_neighbourhood_id == rnd.neighbourhood_id
    return or_(lives, works) if rnd.workers_eligible else lives


def _people(kind: Kind, *where: ColumnElement[bool]) -> list[int]:
    statement = (
        select(User.id)
        .outerjoin(NotificationSettings, NotificationSettings.user_id == User.id)
        .where(_reachable(), _wants(kind), *where)
    )
    return list(db.session.scalars(statement))


# --- discovering --------------------------------------------------------------------------------


def _queue(rows: Iterable[tuple[int, Kind, str]], now: datetime) -> int:
    """Add the rows not yet in the outbox; the unique key skips the others (also when another
    run adds them at the same moment). Returns how many were new."""
    values = [
        {
            "user_id": user_id,
            "kind": kind,
            "subject_key": key,
            "state": OutboxState.PENDING,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
            "last_error": "",
        }
        for user_id, kind, key in dict.fromkeys(rows)
    ]
    added = 0
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(values), 500):
        statement = (
            insert(Outbox)
            .values(values[start : start + 500])
            .on_conflict_do_nothing(index_elements=["user_id", "kind", "subject_key"])
            .returning(Outbox.id)
        )
        # the rows RETURNING gives are the ones added (the skipped give none): a count that
        # holds on both back ends, where rowcount of a multi-row insert does not
        added += len(db.session.execute(statement).all())
    return added


def _round_events(now: datetime) -> list[tuple[int, Kind, str]]:
    """Voting opens, and closes soon: rounds whose dates put them in voting now."""
    rows: list[tuple[int, Kind, str]] = []
    voting = db.session.scalars(
        select(Round).where(
            Round.phase.in_([Phase.SUBMISSION, Phase.REVIEW, Phase.SUPPORT, Phase.VOTING]),
            Round.voting_opens.is_not(None),
            Round.voting_opens <= now,
            Round.voting_opens > now - RECENT,
        )
    )
    for rnd in voting:
        ends = rnd.voting_ends
        if phase_by_dates(rnd, now) != Phase.VOTING or (ends is not None and now >= ends):
            continue
        key = f"round:{rnd.id}"
        rows += [
            (uid, Kind.VOTING_OPENS, key) for uid in _people(Kind.VOTING_OPENS, _takes_part(rnd))
        ]
        if ends is not None and now >= ends - REMINDER_BEFORE:
            rows += [(uid, Kind.REMINDER, key) for uid in _people(Kind.REMINDER, _takes_part(rnd))]
    return rows


def _outcomes(decided: list[tuple[int, State, int]]) -> list[tuple[int, Kind, str]]:
    """The outcome mail of each (proposal, state, submitter) to its submitter and the co-authors
    who accepted, who want it."""
    authors: dict[int, set[int]] = {pid: {submitter} for pid, _state, submitter in decided}
    if not authors:
        return []
    for pid, uid in db.session.execute(
        select(CoAuthor.proposal_id, CoAuthor.user_id).where(
            CoAuthor.proposal_id.in_(list(authors)),
            CoAuthor.accepted_at.is_not(None),
            CoAuthor.user_id.is_not(None),
        )
    ):
        if uid is not None:
            authors[pid].add(uid)
    wanting = set(_people(Kind.OWN_OUTCOME, User.id.in_(set().union(*authors.values()))))
    rows: list[tuple[int, Kind, str]] = []
    for pid, state, _submitter in decided:
        key = f"proposal:{pid}:{state.value}"
        rows += [(uid, Kind.OWN_OUTCOME, key) for uid in authors[pid] if uid in wanting]
    return rows


def _result_events(now: datetime) -> list[tuple[int, Kind, str]]:
    """A result out (to who asked for it), and the outcome to each author of a proposal on it;
    and a proposal that fell below the support threshold (it is not on the ballot)."""
    rows: list[tuple[int, Kind, str]] = []
    results = db.session.scalars(
        select(Result).where(Result.closed_at > now - RECENT, Result.closed_at <= now)
    )
    for result in results:
        rnd = db.session.get(Round, result.round_id)
        if rnd is None or not rnd.has_reached(Phase.RESULT):
            continue
        key = f"round:{rnd.id}"
        rows += [(uid, Kind.RESULT, key) for uid in _people(Kind.RESULT, _takes_part(rnd))]
        decided = db.session.execute(
            select(Proposal.id, Proposal.state, Proposal.submitter_id).where(
                Proposal.round_id == rnd.id,
                Proposal.state.in_([State.CHOSEN, State.NOT_CHOSEN]),
            )
        )
        rows += _outcomes([(pid, state, submitter) for pid, state, submitter in decided])
    dropped = db.session.execute(
        select(Proposal.id, Proposal.state, Proposal.submitter_id)
        .join(ProposalEvent, ProposalEvent.proposal_id == Proposal.id)
        .where(
            ProposalEvent.kind == "insufficient_support",
            ProposalEvent.created_at > now - RECENT,
            ProposalEvent.created_at <= now,
            Proposal.state == State.INSUFFICIENT_SUPPORT,
        )
        .distinct()
    )
    rows += _outcomes([(pid, state, submitter) for pid, state, submitter in dropped])
    return rows


def _follow_events(now: datetime) -> list[tuple[int, Kind, str]]:
    """Updates and approved expenses of followed projects, since the person began to follow."""
    since = now - RECENT
    settings = NotificationSettings
    follower = (
        select(Follow.user_id, FundedProject.id.label("project_id"), Follow.created_at)
        .join(FundedProject, FundedProject.proposal_id == Follow.proposal_id)
        .join(User, User.id == Follow.user_id)
        .outerjoin(settings, settings.user_id == User.id)
        .where(_reachable(), _wants(Kind.FOLLOWS))
        .subquery()
    )
    updates = db.session.execute(
        select(follower.c.user_id, ProgressUpdate.id).join(
            ProgressUpdate,
            and_(
                ProgressUpdate.project_id == follower.c.project_id,
                ProgressUpdate.created_at >= follower.c.created_at,
                ProgressUpdate.created_at > since,
                ProgressUpdate.created_at <= now,
                or_(
                    ProgressUpdate.author_id.is_(None),
                    ProgressUpdate.author_id != follower.c.user_id,
                ),
            ),
        )
    )
    expenses = db.session.execute(
        select(follower.c.user_id, Expense.id).join(
            Expense,
            and_(
                Expense.project_id == follower.c.project_id,
                Expense.state == ExpenseState.APPROVED,
                Expense.decided_at >= follower.c.created_at,
                Expense.decided_at > since,
                Expense.decided_at <= now,
            ),
        )
    )
    return [(uid, Kind.FOLLOWS, f"update:{i}") for uid, i in updates] + [
        (uid, Kind.FOLLOWS, f"expense:{i}") for uid, i in expenses
    ]


@use_case(quiet=True)
def discover(now: datetime | None = None) -> int:
    """Queue a mail for every event someone wants to hear of and has not been queued yet.
    Returns how many were queued. Safe to run twice at once: no locks, the unique key decides."""
    now = now or utcnow()
    rows = _round_events(now) + _result_events(now) + _follow_events(now)
    return _queue(rows, now)


def _failed(rows: list[Outbox], error: MailError, now: datetime) -> None:
    for row in rows:
        row.attempts += 1
        row.last_error = str(error)[:300]
        if row.attempts >= MAX_ATTEMPTS:
            row.state = OutboxState.FAILED
        else:
            row.next_attempt_at = now + backoff(row.attempts)


# --- sending ------------------------------------------------------------------------------------


def _digested() -> ColumnElement[bool]:
    """Rows that wait for the person's weekly digest (outer-joined to their settings)."""
    return and_(
        Outbox.kind == Kind.FOLLOWS,
        func.coalesce(NotificationSettings.weekly_digest, false()).is_(True),
    )


@use_case(quiet=True)
def _send_one(now: datetime) -> OutboxState | None:
    """The next waiting mail (not one for a digest), sent and marked. None when none waits.

    Locks: the outbox row (``FOR UPDATE SKIP LOCKED``: another sender takes the next one)."""
    row = db.session.scalars(
        select(Outbox)
        .outerjoin(NotificationSettings, NotificationSettings.user_id == Outbox.user_id)
        .where(
            Outbox.state == OutboxState.PENDING,
            Outbox.next_attempt_at <= now,
            ~_digested(),
        )
        .order_by(Outbox.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=Outbox)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        return None
    user = db.session.get(User, row.user_id)
    mail = mail_of(row)
    if (
        user is None
        or user.deleted_at is not None
        or not user.email
        or mail is None
        or not settings_of(user.id).wants(row.kind)
    ):
        row.state = OutboxState.DROPPED
        return row.state
    try:
        send(user, row.kind, mail)
    except MailError as error:
        _failed([row], error, now)
        return row.state if row.state == OutboxState.FAILED else OutboxState.PENDING
    row.state = OutboxState.SENT
    row.sent_at = now
    return row.state


def _digest_people(now: datetime) -> list[int]:
    return list(
        db.session.scalars(
            select(Outbox.user_id)
            .join(NotificationSettings, NotificationSettings.user_id == Outbox.user_id)
            .where(
                Outbox.state == OutboxState.PENDING,
                Outbox.next_attempt_at <= now,
                _digested(),
                or_(
                    NotificationSettings.last_digest_at.is_(None),
                    NotificationSettings.last_digest_at <= now - DIGEST_INTERVAL,
                ),
            )
            .distinct()
            .order_by(Outbox.user_id)
        )
    )


@use_case(quiet=True)
def _send_digest(user_id: int, now: datetime) -> OutboxState | None:
    """The weekly digest of one person: all their waiting follow news in one mail.

    Locks: the person's settings row, then their waiting rows (``SKIP LOCKED``: a second
    sender leaves this person to the first)."""
    settings = db.session.scalars(
        select(NotificationSettings)
        .where(NotificationSettings.user_id == user_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).first()
    if settings is None or not settings.weekly_digest:
        return None
    if settings.last_digest_at is not None and now - settings.last_digest_at < DIGEST_INTERVAL:
        return None
    rows = list(
        db.session.scalars(
            select(Outbox)
            .where(
                Outbox.user_id == user_id,
                Outbox.kind == Kind.FOLLOWS,
                Outbox.state == OutboxState.PENDING,
                Outbox.next_attempt_at <= now,
            )
            .order_by(Outbox.id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
    )
    user = db.session.get(User, user_id)
    items = [(row, follow_item(row.subject_key)) for row in rows]
    for row, item in items:
        if item is None:
            row.state = OutboxState.DROPPED
    news = [item for _row, item in items if item is not None]
    if user is None or user.deleted_at is not None or not user.email or not settings.follows:
        for row in rows:
            row.state = OutboxState.DROPPED
        return OutboxState.DROPPED
    if not news:
        return None
    sending = [row for row, item in items if item is not None]
    mail = Mail(
        _l("Nieuws van deze week over wat je volgt"),
        "notifications/mail/digest.txt",
        {"items": news},
    )
    try:
        send(user, Kind.FOLLOWS, mail)
    except MailError as error:
        _failed(sending, error, now)
        return OutboxState.PENDING
    for row in sending:
        row.state = OutboxState.SENT
        row.sent_at = now
    settings.last_digest_at = now
    return OutboxState.SENT


def send_queue(now: datetime | None = None) -> Report:
    """Send every mail that waits and is due, one use case each (a failure leaves the rest)."""
    now = now or utcnow()
    report = Report()
    while (state := _send_one(now)) is not None:
        _count(report, state)
    for user_id in _digest_people(now):
        state = _send_digest(user_id, now)
        if state is not None:
            _count(report, state)
    return report


def _count(report: Report, state: OutboxState) -> None:
    if state == OutboxState.SENT:
        report.sent += 1
    elif state == OutboxState.DROPPED:
        report.dropped += 1
    else:
        report.failed += 1


def send_notifications(now: datetime | None = None) -> Report:
    """What ``flask send-notifications`` does: discover, then send the queue."""
    now = now or utcnow()
    queued = discover(now)
    report = send_queue(now)
    report.queued = queued
    return report
