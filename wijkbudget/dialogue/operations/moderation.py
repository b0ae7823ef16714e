"""Reports and moderation: someone who takes part reports a comment (hidden at
``HIDE_AT_REPORTS`` open reports until the board looks); the board hides a comment with a public
reason, shows it again, finds the reports unfounded, or blocks someone from posting in the wijk
for a while. Board actions are audit-logged. Each is one use case; locks: the comment, or the
blocked person's row."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ... import permissions
from ...accounts.models import User
from ...audit.operations import record
from ...extensions import db, utcnow
from ...mail import send_template
from ...neighbourhoods.models import Neighbourhood
from ...usecase import Conflict, after_commit, lock_or_gone, use_case
from ..models import HIDE_AT_REPORTS, Comment, DialogueError, PostingBlock, Report
from .threads import REPLAY_WINDOW

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
    comment.report_count = db.session.execute(
        select(func.count(Report.id)).where(
            Report.comment_id == comment.id, Report.handled_at.is_(None)
        )
    ).scalar_one()
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


def _decided(
    action: str,
    board: User,
    comment: Comment,
    wijk: Neighbourhood,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """The board has decided on ``comment``: its open reports are handled, and the decision is
    in the audit log (``action``, with what it changed)."""
    now = utcnow()
    for report in db.session.scalars(
        select(Report).where(Report.comment_id == comment.id, Report.handled_at.is_(None))
    ):
        report.handled_at = now
    comment.report_count = 0
    record(
        action,
        actor=board,
        role="board",
        obj=comment,
        neighbourhood=wijk,
        before=before,
        after=after,
    )


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
    _decided("comment.hide", board, comment, wijk, after={"reden": comment.hidden_reason})


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
    _decided("comment.restore", board, comment, wijk, before={"reden": before})


@use_case
def dismiss_reports(board: User, comment: Comment) -> None:
    """The board finds the reports unfounded. No open reports (any more): a 409.

    Locks: the comment (its reports are read after the lock)."""
    comment, wijk = _moderated(board, comment)
    count = comment.report_count
    if not count:
        raise Conflict(_("Er zijn geen open meldingen bij deze reactie."))
    _decided("comment.dismiss_reports", board, comment, wijk, before={"meldingen": count})


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
