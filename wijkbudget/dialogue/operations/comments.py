"""Comments: post one or a reply (within the pace limits, not while blocked), edit it in its
first 15 minutes, delete it; the people who follow the thread get a notice for their digest.
Each public function that writes is one use case; the lock order is in the package's
docstring."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from ... import permissions
from ...accounts.models import User
from ...extensions import db, utcnow
from ...rounds.models import Round
from ...usecase import lock_or_gone, use_case
from ..models import (
    MAX_DEPTH,
    Comment,
    DialogueError,
    Follow,
    MailSettings,
    PendingNotice,
    PostingBlock,
    RateLimited,
    Thread,
)

COMMENT_INTERVAL = timedelta(seconds=30)
COMMENTS_PER_THREAD_PER_DAY = 20
MAX_COMMENT = 5000


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
    today = db.session.execute(
        select(func.count(Comment.id)).where(
            Comment.author_id == user.id,
            Comment.thread_id == thread.id,
            Comment.created_at > now - timedelta(days=1),
            Comment.created_at <= now,
        )
    ).scalar_one()
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
    thread.comment_count = db.session.execute(
        select(func.count(Comment.id)).where(Comment.thread_id == thread.id)
    ).scalar_one()
    thread.participant_count = db.session.execute(
        select(func.count(func.distinct(Comment.author_id))).where(Comment.thread_id == thread.id)
    ).scalar_one()


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
            above = db.session.get(Comment, parent.parent_id)
            if above is None:  # cannot be: a comment is deleted only in text, never as a row
                break
            parent = above
        depth = parent.depth + 1
        root_id = parent.root_id or parent.id
    turn = db.session.execute(
        select(func.count(Comment.id)).where(
            Comment.thread_id == thread.id, Comment.author_id == user.id
        )
    ).scalar_one()
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


def _queue_notices(thread: Thread, comment: Comment, now: datetime) -> None:
    wanted: set[int] = set(
        db.session.scalars(select(Follow.user_id).where(Follow.thread_id == thread.id))
    )
    if thread.proposal is not None:
        wanted |= thread.proposal.author_ids()
    project = thread.funded_project
    if project is not None:  # after the vote: the initiators and the treasurer hear of it
        wanted |= project.initiator_ids()
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
