"""Wijkdialoog use cases: topics, comments (post, edit, delete), reports and moderation, posting
blocks, meetings, follows and the mail digest. Board actions are audit-logged."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, url_for
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


# --- threads ----------------------------------------------------------------------------------


def thread_for_proposal(proposal: Proposal) -> Thread:
    thread = db.session.scalar(select(Thread).where(Thread.proposal_id == proposal.id))
    if thread is None:
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


def propose_topic(user: User, rnd: Round, title: str, body: str) -> Thread:
    """The board opens a topic; a resident suggests one, which a board member approves."""
    refusal = rnd.topic_refusal(user)
    if refusal is not None:
        raise DialogueError(refusal)
    wijk = rnd.neighbourhood
    is_board = permissions.is_board(user, wijk)
    if not title.strip():
        raise DialogueError(_("Geef het onderwerp een titel."))
    thread = Thread(
        neighbourhood_id=rnd.neighbourhood_id,
        round_id=rnd.id,
        kind=ThreadKind.TOPIC,
        status=ThreadStatus.OPEN if is_board else ThreadStatus.PROPOSED,
        title=title.strip(),
        body=body.strip(),
        created_by_id=user.id,
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


def approve_topic(board: User, thread: Thread) -> None:
    if not permissions.is_board(board, thread.round.neighbourhood):
        raise DialogueError(_("Alleen het bestuur van de wijk kan dit doen."))
    if thread.status != ThreadStatus.PROPOSED:
        raise DialogueError(_("Dit onderwerp is al open."))
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
    thread.comment_count = db.session.scalar(
        select(func.count(Comment.id)).where(Comment.thread_id == thread.id)
    )
    thread.participant_count = db.session.scalar(
        select(func.count(func.distinct(Comment.author_id))).where(Comment.thread_id == thread.id)
    )


def post_comment(
    user: User,
    thread: Thread,
    body: str,
    *,
    parent: Comment | None = None,
    as_board: bool = False,
    now: datetime | None = None,
) -> Comment:
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


def edit_comment(user: User, comment: Comment, body: str) -> None:
    if not comment.can_edit(user):
        raise DialogueError(_("Je kunt een reactie alleen in de eerste 15 minuten aanpassen."))
    comment.body = _check_body(body)
    comment.edited_at = utcnow()


def delete_comment(user: User, comment: Comment) -> None:
    """The text goes; "verwijderd door schrijver" and the replies stay."""
    if not comment.can_delete(user):
        raise DialogueError(_("Je kunt alleen je eigen reacties verwijderen."))
    comment.body = ""
    comment.deleted_at = utcnow()


# --- reports and moderation -------------------------------------------------------------------


def report_comment(user: User, comment: Comment, reason: str) -> None:
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
        raise DialogueError(_("Je hebt deze reactie al gemeld. Het bestuur kijkt ernaar."))
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


def _moderator(board: User, comment: Comment) -> Neighbourhood:
    wijk = comment.thread.round.neighbourhood
    if not permissions.is_board(board, wijk):
        raise DialogueError(_("Alleen het bestuur van de wijk kan dit doen."))
    return wijk


def _handle_reports(comment: Comment) -> None:
    now = utcnow()
    for report in db.session.scalars(
        select(Report).where(Report.comment_id == comment.id, Report.handled_at.is_(None))
    ):
        report.handled_at = now
    comment.report_count = 0


def hide_comment(board: User, comment: Comment, reason: str) -> None:
    wijk = _moderator(board, comment)
    if not reason.strip():
        raise DialogueError(
            _("Schrijf waarom de reactie verborgen wordt. Iedereen ziet die reden.")
        )
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


def restore_comment(board: User, comment: Comment) -> None:
    wijk = _moderator(board, comment)
    if not comment.is_hidden:
        raise DialogueError(_("Deze reactie is niet verborgen."))
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


def dismiss_reports(board: User, comment: Comment) -> None:
    wijk = _moderator(board, comment)
    count = comment.report_count
    _handle_reports(comment)
    record(
        "comment.dismiss_reports",
        actor=board,
        role="board",
        obj=comment,
        neighbourhood=wijk,
        before={"meldingen": count},
    )


def block_user(
    board: User, wijk: Neighbourhood, user: User, days: int, reason: str
) -> PostingBlock:
    if not permissions.is_board(board, wijk):
        raise DialogueError(_("Alleen het bestuur van de wijk kan dit doen."))
    if user.id == board.id:
        raise DialogueError(_("Je kunt jezelf niet blokkeren."))
    if not reason.strip():
        raise DialogueError(_("Schrijf de reden. Die krijgt de persoon ook te lezen."))
    if not 1 <= days <= 365:
        raise DialogueError(_("Kies een periode van 1 tot 365 dagen."))
    block = PostingBlock(
        neighbourhood_id=wijk.id,
        user_id=user.id,
        until=utcnow() + timedelta(days=days),
        reason=reason.strip()[:500],
        created_by_id=board.id,
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
    send_template(
        user,
        "dialogue/mail/blocked.txt",
        _l("Je kunt tijdelijk niet reageren"),
        user=user,
        wijk=wijk,
        block=block,
    )
    return block


# --- meetings ---------------------------------------------------------------------------------


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
    if not permissions.is_board(board, rnd.neighbourhood):
        raise DialogueError(_("Alleen het bestuur van de wijk kan dit doen."))
    proposals = list(
        db.session.scalars(
            select(Proposal).where(Proposal.id.in_(proposal_ids), Proposal.round_id == rnd.id)
        )
    )
    if len(proposals) != len(set(proposal_ids)):
        raise DialogueError(_("Kies alleen voorstellen uit deze ronde."))
    if attendees < 0:
        raise DialogueError(_("Het aantal aanwezigen kan niet negatief zijn."))
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


def toggle_follow(user: User, thread: Thread) -> bool:
    existing = db.session.scalar(
        select(Follow).where(Follow.thread_id == thread.id, Follow.user_id == user.id)
    )
    if existing is None:
        db.session.add(Follow(thread_id=thread.id, user_id=user.id))
        return True
    db.session.delete(existing)
    return False


def mail_settings(user: User) -> MailSettings:
    settings = db.session.get(MailSettings, user.id)
    if settings is None:
        settings = MailSettings(user_id=user.id, comment_mail=True)
        db.session.add(settings)
    return settings


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


def unsubscribe(token: str) -> User:
    try:
        payload = _unsubscribe_serializer().loads(token)
    except BadSignature as error:
        raise DialogueError(_("Deze afmeldlink klopt niet.")) from error
    user = db.session.get(User, int(payload.get("u", 0)))
    if user is None:
        raise DialogueError(_("Deze afmeldlink klopt niet."))
    mail_settings(user).comment_mail = False
    db.session.execute(delete(PendingNotice).where(PendingNotice.user_id == user.id))
    return user


def send_digests(now: datetime | None = None) -> int:
    """One mail per person with everything new since their last digest, at most once an hour.
    Returns how many mails went out. Run it from cron, e.g. every 10 minutes."""
    now = now or utcnow()
    user_ids = list(db.session.scalars(select(PendingNotice.user_id).distinct()))
    sent = 0
    for user_id in user_ids:
        user = db.session.get(User, user_id)
        if user is None or user.is_deleted or not user.email:
            db.session.execute(delete(PendingNotice).where(PendingNotice.user_id == user_id))
            continue
        settings = mail_settings(user)
        if not settings.comment_mail:
            db.session.execute(delete(PendingNotice).where(PendingNotice.user_id == user_id))
            continue
        if settings.last_digest_at is not None and now - settings.last_digest_at < DIGEST_INTERVAL:
            continue
        notices = list(
            db.session.scalars(
                select(PendingNotice)
                .where(PendingNotice.user_id == user_id)
                .order_by(PendingNotice.id)
            )
        )
        items = [
            (
                n.comment,
                url_for("dialogue.thread", thread_id=n.comment.thread_id, _external=True)
                + f"#reactie-{n.comment.id}",
            )
            for n in notices
            if not n.comment.is_hidden and not n.comment.is_deleted
        ]
        if items:
            unsubscribe_link = url_for(
                "dialogue.unsubscribe", token=unsubscribe_token(user), _external=True
            )
            send_template(
                user,
                "dialogue/mail/digest.txt",
                _l("Nieuwe reacties in de wijkdialoog"),
                user=user,
                items=items,
                unsubscribe_link=unsubscribe_link,
            )
            sent += 1
            settings.last_digest_at = now
        for notice in notices:
            db.session.delete(notice)
        db.session.commit()
    return sent
