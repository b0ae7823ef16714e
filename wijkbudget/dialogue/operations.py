"""Wijkdialoog use cases: topics, comments (post, edit, delete), reports and moderation, posting
blocks, meetings, follows and the mail digest. Board actions are audit-logged.

Each public function that writes is one use case (``@use_case``: one transaction, committed when
it returns, rolled back as a whole when a rule says no). It locks what its rule reads before
reading it. The lock order is the same everywhere: the round → the thread → the comment → the
person (the user row: their pace, their blocks, their follows and mail settings). Mail goes out
after the commit (``after_commit``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, select

from .. import permissions
from ..accounts.models import User
from ..audit.operations import record
from ..extensions import db, utcnow
from ..mail import send_template
from ..neighbourhoods.models import Neighbourhood
from ..proposals.models import Proposal
from ..rounds.models import Round
from ..rounds.operations import lock_round
from ..urls import external_url
from ..usecase import Conflict, after_commit, lock, lock_or_gone, use_case
from .models import (
    HIDE_AT_REPORTS,
    MAX_DEPTH,
    Comment,
    DialogueError,
    Follow,
    MailSettings,
    Meeting,
    PendingNotice,
    PostingBlock,
    RateLimited,
    Report,
    Thread,
    ThreadKind,
    ThreadStatus,
)

COMMENT_INTERVAL = timedelta(seconds=30)
COMMENTS_PER_THREAD_PER_DAY = 20
DIGEST_INTERVAL = timedelta(hours=1)
MAX_COMMENT = 5000
#: the same form sent again this soon (a double click, a reload) finds what the first one made
REPLAY_WINDOW = timedelta(minutes=10)


# --- threads ----------------------------------------------------------------------------------


def new_proposal_thread(proposal: Proposal) -> Thread:
    """The conversation about a proposal, made with it: for a use case that just created the
    proposal (proposals.operations.create_proposal) or holds its lock.

    Locks: nothing itself (its caller holds the proposal: made in this transaction, or
    locked)."""
    thread = Thread(
        neighbourhood_id=proposal.neighbourhood_id,
        round_id=proposal.round_id,
        proposal_id=proposal.id,
        kind=ThreadKind.PROPOSAL,
        status=ThreadStatus.OPEN,
        title=proposal.title,
    )
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


# --- comments ---------------------------------------------------------------------------------


def active_block(user: User, wijk_id: int, now: datetime | None = None) -> PostingBlock | None:
    return db.session.scalar(
        select(PostingBlock)
        .where(
            PostingBlock.user_id == user.id,
            PostingBlock.neighbourhood_id == wijk_id,
            PostingBlock.until > (now or utcnow()),
        )
        .order_by(PostingBlock.until.desc())
        .limit(1)
    )


def _check_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise DialogueError(_("Schrijf eerst je reactie."))
    if len(body) > MAX_COMMENT:
        raise DialogueError(_("Een reactie heeft hoogstens %(n)d tekens.", n=MAX_COMMENT))
    return body


def _check_pace(user: User, thread: Thread, now: datetime) -> None:
    """Read under the lock of the person's row (post_comment): their comments come one after
    another, so N sent at once cannot all pass."""
    recent = db.session.scalar(
        select(func.count(Comment.id)).where(
            Comment.author_id == user.id,
            Comment.created_at > now - COMMENT_INTERVAL,
            Comment.created_at <= now,
        )
    )
    if recent:
        raise RateLimited(
            _("Rustig aan: je kunt één reactie per 30 seconden plaatsen. Probeer het zo nog eens.")
        )
    today = db.session.scalar(
        select(func.count(Comment.id)).where(
            Comment.author_id == user.id,
            Comment.thread_id == thread.id,
            Comment.created_at > now - timedelta(days=1),
            Comment.created_at <= now,
        )
    )
    if today >= COMMENTS_PER_THREAD_PER_DAY:
        raise RateLimited(
            _(
                "Je hebt vandaag al %(n)d keer gereageerd in dit gesprek. Geef anderen ook de "
                "beurt; morgen kan het weer.",
                n=COMMENTS_PER_THREAD_PER_DAY,
            )
        )


def _refresh_counts(thread: Thread) -> None:
    """Counted under the thread's lock (post_comment): the stored counts equal the rows."""
    thread.comment_count = db.session.scalar(
        select(func.count(Comment.id)).where(Comment.thread_id == thread.id)
    )
    thread.participant_count = db.session.scalar(
        select(func.count(func.distinct(Comment.author_id))).where(Comment.thread_id == thread.id)
    )


@use_case
def post_comment(
    user: User,
    thread: Thread,
    body: str,
    *,
    parent: Comment | None = None,
    as_board: bool = False,
    now: datetime | None = None,
) -> Comment:
    """A comment or a reply, within the pace limits (one per 30 seconds, 20 per thread per
    day), however many the person sends at once.

    Locks: the round (shared: the conversation closes with the vote, and the vote cannot close
    halfway), the thread (its counts are counted again after the lock), then the person's row
    (their pace, their turn in the thread and a block are read after it)."""
    lock_or_gone(Round, thread.round_id, read=True)
    thread = lock_or_gone(Thread, thread.id)
    lock_or_gone(User, user.id)
    # the time is read once the locks are held: a comment that waited for another one of the
    # same person is judged at the moment the other one was already there
    now = now or utcnow()
    refusal = thread.post_refusal(user)
    if refusal:
        raise DialogueError(refusal)
    block = active_block(user, thread.neighbourhood_id, now)
    if block is not None:
        raise DialogueError(
            _(
                "Je kunt tot %(until)s niet reageren in deze wijk. Reden: %(reason)s",
                until=block.until.strftime("%d-%m-%Y %H:%M"),
                reason=block.reason,
            )
        )
    body = _check_body(body)
    if parent is not None and parent.thread_id != thread.id:
        raise DialogueError(_("Deze reactie hoort bij een ander gesprek."))
    _check_pace(user, thread, now)
    depth = 0
    root_id = None
    if parent is not None:
        # replies go at most MAX_DEPTH deep; a deeper reply joins its parent's level
        while parent.depth >= MAX_DEPTH and parent.parent_id is not None:
            parent = db.session.get(Comment, parent.parent_id)  # type: ignore[assignment]
        depth = parent.depth + 1
        root_id = parent.root_id or parent.id
    turn = db.session.scalar(
        select(func.count(Comment.id)).where(
            Comment.thread_id == thread.id, Comment.author_id == user.id
        )
    )
    comment = Comment(
        thread=thread,
        author_id=user.id,
        parent_id=parent.id if parent is not None else None,
        root_id=root_id,
        depth=depth,
        author_turn=turn + 1,
        body=body,
        is_board_response=as_board and permissions.is_board(user, thread.round.neighbourhood),
        created_at=now,
    )
    db.session.add(comment)
    db.session.flush()
    _refresh_counts(thread)
    _queue_notices(thread, comment, now)
    return comment


@use_case
def edit_comment(user: User, comment: Comment, body: str) -> None:
    """The author changes their comment in its first 15 minutes.

    Locks: the comment (deleted, hidden, the author's: read after the lock)."""
    comment = lock_or_gone(Comment, comment.id)
    if not comment.can_edit(user):
        raise DialogueError(_("Je kunt een reactie alleen in de eerste 15 minuten aanpassen."))
    comment.body = _check_body(body)
    comment.edited_at = utcnow()


@use_case
def delete_comment(user: User, comment: Comment) -> None:
    """The text goes; "verwijderd door schrijver" and the replies stay. Pressed twice: the
    second press finds it deleted and changes nothing.

    Locks: the comment."""
    comment = lock_or_gone(Comment, comment.id)
    if comment.is_deleted and comment.author_id == user.id:
        return
    if not comment.can_delete(user):
        raise DialogueError(_("Je kunt alleen je eigen reacties verwijderen."))
    comment.body = ""
    comment.deleted_at = utcnow()


# --- reports and moderation -------------------------------------------------------------------

ALREADY_REPORTED = _l("Je hebt deze reactie al gemeld. Het bestuur kijkt ernaar.")


@use_case(conflict=ALREADY_REPORTED)
def report_comment(user: User, comment: Comment, reason: str) -> None:
    """Someone who takes part reports a comment; at HIDE_AT_REPORTS open reports it is hidden
    until the board looks. The same person twice is a 409 (a unique constraint as well).

    Locks: the comment (its reports are counted after the lock: the third report hides it
    once, however many come at once)."""
    comment = lock_or_gone(Comment, comment.id)
    wijk = comment.thread.round.neighbourhood
    if not comment.thread.may_take_part(user):
        raise DialogueError(_("Alleen wie in dit gesprek mag meepraten, kan een reactie melden."))
    if comment.author_id == user.id:
        raise DialogueError(_("Je kunt je eigen reactie niet melden. Je kunt hem wel verwijderen."))
    if not reason.strip():
        raise DialogueError(_("Schrijf waarom je deze reactie meldt."))
    exists = db.session.scalar(
        select(Report.id).where(Report.comment_id == comment.id, Report.reporter_id == user.id)
    )
    if exists is not None:
        raise Conflict(str(ALREADY_REPORTED))
    db.session.add(Report(comment_id=comment.id, reporter_id=user.id, reason=reason.strip()[:300]))
    db.session.flush()
    comment.report_count = db.session.scalar(
        select(func.count(Report.id)).where(
            Report.comment_id == comment.id, Report.handled_at.is_(None)
        )
    )
    if comment.report_count >= HIDE_AT_REPORTS and not comment.is_hidden:
        comment.hidden_at = utcnow()
        comment.hidden_reason = str(_l("gemeld door bewoners, het bestuur kijkt ernaar"))
        record(
            "comment.auto_hide",
            actor=None,
            role="system",
            obj=comment,
            neighbourhood=wijk,
            after={"meldingen": comment.report_count},
        )


def _moderated(board: User, comment: Comment) -> tuple[Comment, Neighbourhood]:
    """The comment locked and read afresh, and its wijk, for a board member of that wijk."""
    comment = lock_or_gone(Comment, comment.id)
    wijk = comment.thread.round.neighbourhood
    if not permissions.is_board(board, wijk):
        raise DialogueError(_("Alleen het bestuur van de wijk kan dit doen."))
    return comment, wijk


def _handle_reports(comment: Comment) -> None:
    now = utcnow()
    for report in db.session.scalars(
        select(Report).where(Report.comment_id == comment.id, Report.handled_at.is_(None))
    ):
        report.handled_at = now
    comment.report_count = 0


@use_case
def hide_comment(board: User, comment: Comment, reason: str) -> None:
    """The board hides a comment, with a public reason. Hidden by the board already (two board
    members, or a double click): a 409, one decision in the log.

    Locks: the comment."""
    comment, wijk = _moderated(board, comment)
    if not reason.strip():
        raise DialogueError(
            _("Schrijf waarom de reactie verborgen wordt. Iedereen ziet die reden.")
        )
    if comment.hidden_by_id is not None:
        raise Conflict(_("Het bestuur heeft deze reactie al verborgen."))
    comment.hidden_at = utcnow()
    comment.hidden_reason = reason.strip()[:300]
    comment.hidden_by_id = board.id
    _handle_reports(comment)
    record(
        "comment.hide",
        actor=board,
        role="board",
        obj=comment,
        neighbourhood=wijk,
        after={"reden": comment.hidden_reason},
    )


@use_case
def restore_comment(board: User, comment: Comment) -> None:
    """The board shows a hidden comment again. Not hidden (any more): a 409.

    Locks: the comment."""
    comment, wijk = _moderated(board, comment)
    if not comment.is_hidden:
        raise Conflict(_("Deze reactie is niet verborgen."))
    before = comment.hidden_reason
    comment.hidden_at = None
    comment.hidden_reason = ""
    comment.hidden_by_id = None
    _handle_reports(comment)
    record(
        "comment.restore",
        actor=board,
        role="board",
        obj=comment,
        neighbourhood=wijk,
        before={"reden": before},
    )


@use_case
def dismiss_reports(board: User, comment: Comment) -> None:
    """The board finds the reports unfounded. No open reports (any more): a 409.

    Locks: the comment (its reports are read after the lock)."""
    comment, wijk = _moderated(board, comment)
    count = comment.report_count
    if not count:
        raise Conflict(_("Er zijn geen open meldingen bij deze reactie."))
    _handle_reports(comment)
    record(
        "comment.dismiss_reports",
        actor=board,
        role="board",
        obj=comment,
        neighbourhood=wijk,
        before={"meldingen": count},
    )


@use_case
def block_user(
    board: User, wijk: Neighbourhood, user: User, days: int, reason: str
) -> PostingBlock:
    """The board blocks someone from posting in the wijk for ``days``; they get a mail after
    the commit. The same block twice (a double click) is made and mailed once.

    Locks: the blocked person's row (their comments read their blocks under the same lock, so a
    comment either comes before the block or is refused)."""
    if not permissions.is_board(board, wijk):
        raise DialogueError(_("Alleen het bestuur van de wijk kan dit doen."))
    if user.id == board.id:
        raise DialogueError(_("Je kunt jezelf niet blokkeren."))
    if not reason.strip():
        raise DialogueError(_("Schrijf de reden. Die krijgt de persoon ook te lezen."))
    if not 1 <= days <= 365:
        raise DialogueError(_("Kies een periode van 1 tot 365 dagen."))
    user = lock_or_gone(User, user.id)
    now = utcnow()
    replay = db.session.scalar(
        select(PostingBlock)
        .where(
            PostingBlock.neighbourhood_id == wijk.id,
            PostingBlock.user_id == user.id,
            PostingBlock.reason == reason.strip()[:500],
            PostingBlock.until > now,
            PostingBlock.created_at > now - REPLAY_WINDOW,
        )
        .limit(1)
    )
    if replay is not None:
        return replay
    block = PostingBlock(
        neighbourhood_id=wijk.id,
        user_id=user.id,
        until=now + timedelta(days=days),
        reason=reason.strip()[:500],
        created_by_id=board.id,
        created_at=now,
    )
    db.session.add(block)
    db.session.flush()
    record(
        "user.block",
        actor=board,
        role="board",
        obj=block,
        neighbourhood=wijk,
        after={"user": user.id, "dagen": days, "reden": block.reason},
    )
    after_commit(
        lambda: send_template(
            user,
            "dialogue/mail/blocked.txt",
            _l("Je kunt tijdelijk niet reageren"),
            user=user,
            wijk=wijk,
            block=block,
        )
    )
    return block


# --- meetings ---------------------------------------------------------------------------------


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


# --- follows and mail -------------------------------------------------------------------------


@use_case(quiet=True)
def set_follow(user: User, thread: Thread, want: bool) -> bool:
    """Follow the thread (``want``) or stop. The form says which, so the same request twice
    changes nothing the second time. Returns whether something changed.

    Locks: the person's row (their follows one after another; a unique constraint on (thread,
    person) as well)."""
    lock_or_gone(User, user.id)
    existing = db.session.scalar(
        select(Follow).where(Follow.thread_id == thread.id, Follow.user_id == user.id)
    )
    if want == (existing is not None):
        return False
    if want:
        db.session.add(Follow(thread_id=thread.id, user_id=user.id))
    else:
        db.session.delete(existing)
    return True


def mail_settings(user: User) -> MailSettings:
    """The person's mail settings to read (the defaults, not saved, when they have none)."""
    settings = db.session.get(MailSettings, user.id)
    return settings if settings is not None else MailSettings(user_id=user.id, comment_mail=True)


def _settings_to_change(user_id: int) -> MailSettings:
    """Inside a use case that holds the person's row: their settings, made when missing."""
    settings = db.session.get(MailSettings, user_id)
    if settings is None:
        settings = MailSettings(user_id=user_id, comment_mail=True)
        db.session.add(settings)
    return settings


@use_case(quiet=True)
def set_comment_mail(user: User, wanted: bool) -> None:
    """Whether the person wants mail about new comments.

    Locks: the person's row (their settings are made once)."""
    lock_or_gone(User, user.id)
    settings = _settings_to_change(user.id)
    settings.comment_mail = wanted
    if not wanted:
        db.session.execute(delete(PendingNotice).where(PendingNotice.user_id == user.id))


def _queue_notices(thread: Thread, comment: Comment, now: datetime) -> None:
    wanted: set[int] = set(
        db.session.scalars(select(Follow.user_id).where(Follow.thread_id == thread.id))
    )
    if thread.proposal is not None:
        wanted |= thread.proposal.author_ids()
    wanted.discard(comment.author_id)
    if not wanted:
        return
    opted_out = set(
        db.session.scalars(
            select(MailSettings.user_id).where(
                MailSettings.user_id.in_(wanted), MailSettings.comment_mail.is_(False)
            )
        )
    )
    for user_id in wanted - opted_out:
        db.session.add(PendingNotice(user_id=user_id, comment_id=comment.id, created_at=now))


def _unsubscribe_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe-comments")


def unsubscribe_token(user: User) -> str:
    return _unsubscribe_serializer().dumps({"u": user.id})


@use_case(quiet=True)
def unsubscribe(token: str) -> User:
    """One click in a mail: no more comment mail, and nothing waiting is sent. Twice: the same.

    Locks: the person's row (their settings are made once)."""
    try:
        payload = _unsubscribe_serializer().loads(token)
    except BadSignature as error:
        raise DialogueError(_("Deze afmeldlink klopt niet.")) from error
    user = lock(User, int(payload.get("u", 0)))
    if user is None:
        raise DialogueError(_("Deze afmeldlink klopt niet."))
    _settings_to_change(user.id).comment_mail = False
    db.session.execute(delete(PendingNotice).where(PendingNotice.user_id == user.id))
    return user


def send_digests(now: datetime | None = None) -> int:
    """One mail per person with everything new since their last digest, at most once an hour.
    Returns how many mails went out. Run it from cron, e.g. every 10 minutes. Each person is
    one use case (``_send_digest``): a failure for one leaves the others' done.

    Locks: each person's row in turn (``_send_digest``); finding who has mail waiting only
    reads."""
    now = now or utcnow()
    user_ids = list(
        db.session.scalars(select(PendingNotice.user_id).distinct().order_by(PendingNotice.user_id))
    )
    return sum(1 for user_id in user_ids if _send_digest(user_id, now))


@use_case(quiet=True)
def _send_digest(user_id: int, now: datetime) -> bool:
    """The digest of one person; the mail goes out after the commit. Returns whether it did.

    Locks: the person's row (two runs of send-digests at once mail them once)."""
    user = lock(User, user_id)
    if user is None or user.is_deleted or not user.email:
        db.session.execute(delete(PendingNotice).where(PendingNotice.user_id == user_id))
        return False
    settings = _settings_to_change(user_id)
    if not settings.comment_mail:
        db.session.execute(delete(PendingNotice).where(PendingNotice.user_id == user_id))
        return False
    if settings.last_digest_at is not None and now - settings.last_digest_at < DIGEST_INTERVAL:
        return False
    notices = list(
        db.session.scalars(
            select(PendingNotice).where(PendingNotice.user_id == user_id).order_by(PendingNotice.id)
        )
    )
    if not notices:
        return False
    items = [
        (
            n.comment,
            external_url("dialogue.thread", thread_id=n.comment.thread_id)
            + f"#reactie-{n.comment.id}",
        )
        for n in notices
        if not n.comment.is_hidden and not n.comment.is_deleted
    ]
    for notice in notices:
        db.session.delete(notice)
    if not items:
        return False
    settings.last_digest_at = now
    unsubscribe_link = external_url("dialogue.unsubscribe", token=unsubscribe_token(user))
    after_commit(
        lambda: send_template(
            user,
            "dialogue/mail/digest.txt",
            _l("Nieuwe reacties in de wijkdialoog"),
            user=user,
            items=items,
            unsubscribe_link=unsubscribe_link,
        )
    )
    return True
