"""Wijkdialoog use cases: topics, comments (post, edit, delete), reports and moderation, posting
blocks, meetings, follows and the mail digest. Board actions are audit-logged.

Each public function that writes is one use case (``@use_case``: one transaction, committed when
it returns, rolled back as a whole when a rule says no). It locks what its rule reads before
reading it. The lock order is the same everywhere: the round → the thread → the comment → the
person (the user row: their pace, their blocks, their follows and mail settings). Mail goes out
after the commit (``after_commit``).

By concern: ``threads`` (proposal threads, topics, meetings), ``comments``, ``moderation``
(reports, hiding, blocks), ``mail`` (follows, settings, unsubscribe, digests). Callers use
``from wijkbudget.dialogue import operations; operations.post_comment(...)``: the names are here.
"""

from __future__ import annotations

from ..models import DialogueError, RateLimited
from .comments import (
    COMMENT_INTERVAL,
    COMMENTS_PER_THREAD_PER_DAY,
    MAX_COMMENT,
    active_block,
    delete_comment,
    edit_comment,
    post_comment,
)
from .mail import (
    DIGEST_INTERVAL,
    mail_settings,
    send_digests,
    set_comment_mail,
    set_follow,
    unsubscribe,
    unsubscribe_token,
)
from .moderation import (
    ALREADY_REPORTED,
    block_user,
    dismiss_reports,
    hide_comment,
    report_comment,
    restore_comment,
)
from .threads import (
    REPLAY_WINDOW,
    approve_topic,
    ask_after_the_vote,
    new_proposal_thread,
    propose_topic,
    record_meeting,
    thread_after_the_vote,
    thread_for_proposal,
)

__all__ = [
    "ALREADY_REPORTED",
    "COMMENTS_PER_THREAD_PER_DAY",
    "COMMENT_INTERVAL",
    "DIGEST_INTERVAL",
    "MAX_COMMENT",
    "REPLAY_WINDOW",
    "DialogueError",
    "RateLimited",
    "active_block",
    "approve_topic",
    "ask_after_the_vote",
    "block_user",
    "delete_comment",
    "dismiss_reports",
    "edit_comment",
    "hide_comment",
    "mail_settings",
    "new_proposal_thread",
    "post_comment",
    "propose_topic",
    "record_meeting",
    "report_comment",
    "restore_comment",
    "send_digests",
    "set_comment_mail",
    "set_follow",
    "thread_after_the_vote",
    "thread_for_proposal",
    "unsubscribe",
    "unsubscribe_token",
]
