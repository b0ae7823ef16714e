"""Where the wijkdialoog talks: the conversation about a proposal, topics (the board opens one,
a resident suggests one for the board to approve) and the meetings the board records. Each
public function that writes is one use case; the lock order is in the package's docstring."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from ... import permissions
from ...accounts.models import User
from ...audit.operations import record
from ...extensions import db, utcnow
from ...proposals.models import Proposal
from ...rounds.models import Round
from ...rounds.operations import lock_round
from ...spending.models import Expense, FundedProject
from ...usecase import Conflict, lock_or_gone, use_case
from ..models import Comment, DialogueError, Meeting, Thread, ThreadKind, ThreadStatus
from .comments import post_comment

#: the same form sent again this soon (a double click, a reload) finds what the first one made
REPLAY_WINDOW = timedelta(minutes=10)


def new_proposal_thread(proposal: Proposal) -> Thread:
    """The conversation about a proposal, for a use case that holds the proposal's lock.

    Locks: nothing itself (its caller holds the proposal)."""
    thread = Thread.about(proposal)
    db.session.add(thread)
    db.session.flush()
    return thread


@use_case
def thread_for_proposal(proposal: Proposal) -> Thread:
    """The conversation about a proposal, made now if the proposal has none yet (one made before
    every new proposal got its own). Locks: the proposal, so two at once make one thread (a
    unique constraint on thread.proposal_id as well)."""
    thread = db.session.scalar(select(Thread).where(Thread.proposal_id == proposal.id))
    if thread is not None:
        return thread
    proposal = lock_or_gone(Proposal, proposal.id)
    thread = db.session.scalar(select(Thread).where(Thread.proposal_id == proposal.id))
    return thread if thread is not None else new_proposal_thread(proposal)


def _subject_thread(subject: FundedProject | Expense) -> Thread | None:
    if isinstance(subject, FundedProject):
        return db.session.scalar(select(Thread).where(Thread.project_id == subject.id))
    return db.session.scalar(select(Thread).where(Thread.expense_id == subject.id))


@use_case
def thread_after_the_vote(subject: FundedProject | Expense) -> Thread:
    """The conversation about a funded project or one of its expenses, made now if it has none
    yet (a thread is made on the first question, not for every project and bill).

    Locks: the round (shared, as post_comment does first), then the project (an expense's:
    its project), so two first questions at once make one thread; the unique
    thread.project_id / thread.expense_id as well."""
    thread = _subject_thread(subject)
    if thread is not None:
        return thread
    project_id = subject.id if isinstance(subject, FundedProject) else subject.project_id
    project = db.session.get(FundedProject, project_id)
    if project is None:
        raise DialogueError(_("Dit project bestaat niet meer."))
    lock_or_gone(Round, project.round_id, read=True)
    lock_or_gone(FundedProject, project_id)
    thread = _subject_thread(subject)
    if thread is not None:
        return thread
    if isinstance(subject, FundedProject):
        thread = Thread.about_project(subject)
    else:
        thread = Thread.about_expense(subject)
    db.session.add(thread)
    db.session.flush()
    return thread


@use_case
def ask_after_the_vote(
    user: User,
    subject: FundedProject | Expense,
    body: str,
    *,
    as_board: bool = False,
    now: datetime | None = None,
) -> Comment:
    """The first question about a funded project or an expense (or any later one): the thread
    (made now if need be) and the comment, in one transaction; a refused comment (closed,
    too fast, blocked) leaves no empty thread behind.

    Locks: as thread_after_the_vote, then as post_comment (round → project → thread → person)."""
    thread = thread_after_the_vote(subject)
    return post_comment(user, thread, body, as_board=as_board, now=now)


@use_case
def propose_topic(user: User, rnd: Round, title: str, body: str) -> Thread:
    """The board opens a topic; a resident suggests one, which a board member approves. The
    same form twice gives the one topic.

    Locks: the round (lock_round: whether topics may still be added is the phase by its dates;
    and two presses of the button find each other)."""
    rnd = lock_round(rnd)
    refusal = rnd.topic_refusal(user)
    if refusal is not None:
        raise DialogueError(refusal)
    wijk = rnd.neighbourhood
    is_board = permissions.is_board(user, wijk)
    if not title.strip():
        raise DialogueError(_("Geef het onderwerp een titel."))
    replay = db.session.scalar(
        select(Thread)
        .where(
            Thread.round_id == rnd.id,
            Thread.kind == ThreadKind.TOPIC,
            Thread.created_by_id == user.id,
            Thread.title == title.strip(),
            Thread.created_at > utcnow() - REPLAY_WINDOW,
        )
        .limit(1)
    )
    if replay is not None:
        return replay
    thread = Thread(
        neighbourhood_id=rnd.neighbourhood_id,
        round_id=rnd.id,
        kind=ThreadKind.TOPIC,
        status=ThreadStatus.OPEN if is_board else ThreadStatus.PROPOSED,
        title=title.strip(),
        body=body.strip(),
        created_by_id=user.id,
        created_at=utcnow(),
    )
    db.session.add(thread)
    db.session.flush()
    if is_board:
        record(
            "topic.open",
            actor=user,
            role="board",
            obj=thread,
            neighbourhood=wijk,
            after={"titel": thread.title},
        )
    return thread


@use_case
def approve_topic(board: User, thread: Thread) -> None:
    """A board member opens a suggested topic. Twice at once: the second is a 409.

    Locks: the thread (its status)."""
    thread = lock_or_gone(Thread, thread.id)
    if not permissions.is_board(board, thread.round.neighbourhood):
        raise DialogueError(_("Alleen het bestuur van de wijk kan dit doen."))
    if thread.status != ThreadStatus.PROPOSED:
        raise Conflict(_("Dit onderwerp is al open."))
    thread.status = ThreadStatus.OPEN
    record(
        "topic.approve",
        actor=board,
        role="board",
        obj=thread,
        neighbourhood=thread.neighbourhood_id,
        after={"titel": thread.title},
    )


@use_case
def record_meeting(
    board: User,
    rnd: Round,
    *,
    held_at: datetime,
    place: str,
    attendees: int,
    summary: str,
    proposal_ids: list[int],
) -> Meeting:
    """The board records a meeting at the kitchen table. The same meeting twice (the same
    moment and place; a double click) is recorded once; another with that moment and place but
    different details is a 409.

    Locks: the round (its meetings are looked up after the lock)."""
    if not permissions.is_board(board, rnd.neighbourhood):
        raise DialogueError(_("Alleen het bestuur van de wijk kan dit doen."))
    if attendees < 0:
        raise DialogueError(_("Het aantal aanwezigen kan niet negatief zijn."))
    rnd = lock_or_gone(Round, rnd.id)
    proposals = list(
        db.session.scalars(
            select(Proposal).where(Proposal.id.in_(proposal_ids), Proposal.round_id == rnd.id)
        )
    )
    if len(proposals) != len(set(proposal_ids)):
        raise DialogueError(_("Kies alleen voorstellen uit deze ronde."))
    same = db.session.scalar(
        select(Meeting)
        .where(
            Meeting.round_id == rnd.id,
            Meeting.held_at == held_at,
            Meeting.place == place.strip(),
        )
        .limit(1)
    )
    if same is not None:
        if (
            same.attendees == attendees
            and same.summary == summary.strip()
            and {p.id for p in same.proposals} == set(proposal_ids)
        ):
            return same
        raise Conflict(
            _("Er staat al een bijeenkomst op dit moment en deze plek. Kijk in de tijdlijn.")
        )
    meeting = Meeting(
        round=rnd,
        held_at=held_at,
        place=place.strip(),
        attendees=attendees,
        summary=summary.strip(),
        created_by_id=board.id,
        proposals=proposals,
    )
    db.session.add(meeting)
    db.session.flush()
    record(
        "meeting.create",
        actor=board,
        role="board",
        obj=meeting,
        neighbourhood=rnd.neighbourhood,
        after={"plek": meeting.place, "aanwezig": attendees, "voorstellen": len(proposals)},
    )
    return meeting
