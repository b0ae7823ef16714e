"""Read queries for the wijkdialoog: a thread page (top-level comments paged in the chosen order,
their replies in one query), topics of a round, the moderation queue."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..extensions import db, paginate
from ..neighbourhoods.models import Neighbourhood
from ..rounds.models import Round
from .models import (
    Comment,
    Follow,
    Meeting,
    Report,
    Thread,
    ThreadKind,
    ThreadStatus,
    meeting_proposal,
)

ORDERS = ("turns", "oldest", "newest")


def top_level(thread: Thread, order: str) -> Select[Comment]:
    query = select(Comment).where(Comment.thread_id == thread.id, Comment.parent_id.is_(None))
    if order == "oldest":
        return query.order_by(Comment.created_at, Comment.id)
    if order == "newest":
        return query.order_by(Comment.created_at.desc(), Comment.id.desc())
    # iedereen aan het woord: everyone's first comment, then everyone's second, ...
    return query.order_by(Comment.author_turn, Comment.created_at, Comment.id)


REPLIES_SHOWN = 20  # replies under one top-level comment on the thread page; the rest on its own
REPLIES_PER_PAGE = 50  # replies on one comment's own page


@dataclass
class Replies:
    """The replies on a page, grouped by parent (oldest first), the authors on the page (kept
    alive so that ``comment.author`` comes from the session's identity map, not a query each),
    and for each top-level comment with more replies than shown: how many it has."""

    by_parent: dict[int, list[Comment]] = field(default_factory=dict)
    authors: list[User] = field(default_factory=list)
    more: dict[int, int] = field(default_factory=dict)


def _grouped(shown: list[Comment], others: list[Comment], more: dict[int, int]) -> Replies:
    author_ids = {c.author_id for c in others} | {c.author_id for c in shown}
    authors = list(db.session.scalars(select(User).where(User.id.in_(author_ids))))
    grouped: dict[int, list[Comment]] = defaultdict(list)
    for reply in shown:
        grouped[reply.parent_id or 0].append(reply)
    return Replies(grouped, authors, more)


def replies_by_parent(roots: list[Comment], per_root: int = REPLIES_SHOWN) -> Replies:
    """The first ``per_root`` replies under each of these top-level comments (oldest first: a
    reply's parent is always older, so no shown reply misses its parent), in one query."""
    if not roots:
        return Replies()
    numbered = (
        select(
            Comment.id,
            func.row_number()
            .over(partition_by=Comment.root_id, order_by=(Comment.created_at, Comment.id))
            .label("n"),
            func.count().over(partition_by=Comment.root_id).label("total"),
        )
        .where(Comment.root_id.in_([c.id for c in roots]))
        .subquery()
    )
    rows = db.session.execute(
        select(Comment, numbered.c.total)
        .join(numbered, numbered.c.id == Comment.id)
        .where(numbered.c.n <= per_root)
        .order_by(Comment.created_at, Comment.id)
    ).all()
    more = {c.root_id: total for c, total in rows if total > per_root and c.root_id is not None}
    return _grouped([c for c, _total in rows], roots, more)


def replies_page(root: Comment) -> Any:
    """All replies under one top-level comment, oldest first, a page at a time."""
    return paginate(
        select(Comment).where(Comment.root_id == root.id).order_by(Comment.created_at, Comment.id),
        per_page=REPLIES_PER_PAGE,
    )


def replies_on_page(root: Comment, items: list[Comment]) -> Replies:
    return _grouped(items, [root], {})


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
    return list(
        db.session.scalars(
            select(Meeting)
            .join(meeting_proposal, meeting_proposal.c.meeting_id == Meeting.id)
            .where(meeting_proposal.c.proposal_id == proposal_id)
            .order_by(Meeting.held_at.desc())
        )
    )


def moderation_queue(wijk: Neighbourhood) -> Select[Comment]:
    return (
        select(Comment)
        .options(selectinload(Comment.author), selectinload(Comment.thread))
        .join(Thread, Thread.id == Comment.thread_id)
        .where(Thread.neighbourhood_id == wijk.id, Comment.report_count > 0)
        .order_by(Comment.report_count.desc(), Comment.created_at)
    )


def report_reasons(comment_ids: list[int]) -> dict[int, list[str]]:
    """The reasons of the open (not yet handled) reports of each comment, oldest first, for
    the moderation page: one query for a page of comments. Who reported stays unknown."""
    reasons: dict[int, list[str]] = {}
    if not comment_ids:
        return reasons
    rows = db.session.execute(
        select(Report.comment_id, Report.reason)
        .where(Report.comment_id.in_(comment_ids), Report.handled_at.is_(None))
        .order_by(Report.created_at, Report.id)
    )
    for row in rows:
        reasons.setdefault(row.comment_id, []).append(row.reason)
    return reasons


def hidden_comments(wijk: Neighbourhood) -> Select[Comment]:
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
