"""Read queries for the wijkdialoog: a thread page (top-level comments paged in the chosen order,
their replies in one query), topics of a round, the moderation queue."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..extensions import db
from ..neighbourhoods.models import Neighbourhood
from ..rounds.models import Round
from .models import Comment, Follow, Meeting, Thread, ThreadKind, ThreadStatus

ORDERS = ("turns", "oldest", "newest")


def top_level(thread: Thread, order: str) -> Select[tuple[Comment]]:
    query = select(Comment).where(Comment.thread_id == thread.id, Comment.parent_id.is_(None))
    if order == "oldest":
        return query.order_by(Comment.created_at, Comment.id)
    if order == "newest":
        return query.order_by(Comment.created_at.desc(), Comment.id.desc())
    # iedereen aan het woord: everyone's first comment, then everyone's second, ...
    return query.order_by(Comment.author_turn, Comment.created_at, Comment.id)


def replies_by_parent(roots: list[Comment]) -> tuple[dict[int, list[Comment]], list[User]]:
    """All replies under these top-level comments, in one query, grouped by parent, oldest first;
    and every author on the page, in one query (the caller keeps the list alive, so that
    ``comment.author`` is found in the session's identity map instead of queried one by one)."""
    if not roots:
        return {}, []
    rows = list(
        db.session.scalars(
            select(Comment)
            .where(Comment.root_id.in_([c.id for c in roots]))
            .order_by(Comment.created_at, Comment.id)
        )
    )
    # every author on the page in one query; comment.author then comes from the identity map
    author_ids = {c.author_id for c in roots} | {c.author_id for c in rows}
    authors = list(db.session.scalars(select(User).where(User.id.in_(author_ids))))
    grouped: dict[int, list[Comment]] = defaultdict(list)
    for reply in rows:
        grouped[reply.parent_id or 0].append(reply)
    return grouped, authors


def topics_of(rnd: Round, *, include_proposed: bool) -> list[Thread]:
    query = select(Thread).where(Thread.round_id == rnd.id, Thread.kind == ThreadKind.TOPIC)
    if not include_proposed:
        query = query.where(Thread.status == ThreadStatus.OPEN)
    return list(
        db.session.scalars(query.order_by(Thread.created_at.desc(), Thread.id.desc()).limit(50))
    )


def meetings_of(rnd: Round) -> list[Meeting]:
    return list(
        db.session.scalars(
            select(Meeting)
            .options(selectinload(Meeting.proposals))
            .where(Meeting.round_id == rnd.id)
            .order_by(Meeting.held_at.desc())
        )
    )


def meetings_about(proposal_id: int) -> list[Meeting]:
    from .models import meeting_proposal

    return list(
        db.session.scalars(
            select(Meeting)
            .join(meeting_proposal, meeting_proposal.c.meeting_id == Meeting.id)
            .where(meeting_proposal.c.proposal_id == proposal_id)
            .order_by(Meeting.held_at.desc())
        )
    )


def moderation_queue(wijk: Neighbourhood) -> Select[tuple[Comment]]:
    return (
        select(Comment)
        .options(selectinload(Comment.author), selectinload(Comment.thread))
        .join(Thread, Thread.id == Comment.thread_id)
        .where(Thread.neighbourhood_id == wijk.id, Comment.report_count > 0)
        .order_by(Comment.report_count.desc(), Comment.created_at)
    )


def hidden_comments(wijk: Neighbourhood) -> Select[tuple[Comment]]:
    return (
        select(Comment)
        .options(selectinload(Comment.author), selectinload(Comment.thread))
        .join(Thread, Thread.id == Comment.thread_id)
        .where(Thread.neighbourhood_id == wijk.id, Comment.hidden_at.is_not(None))
        .order_by(Comment.hidden_at.desc())
    )


def follows(user_id: int | None, thread: Thread) -> bool:
    if user_id is None:
        return False
    return (
        db.session.scalar(
            select(Follow.id).where(Follow.thread_id == thread.id, Follow.user_id == user_id)
        )
        is not None
    )
