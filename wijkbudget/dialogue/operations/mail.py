"""Follows and mail: follow a thread or stop, whether someone wants mail about new comments,
one-click unsubscribe from a signed link, and the hourly digest (``flask send-digests``). Each
write is one use case; locks: the person's row."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select

from ...accounts.models import User
from ...extensions import db, utcnow
from ...mail import send_template
from ...urls import external_url
from ...usecase import after_commit, lock, lock_or_gone, use_case
from ..models import DialogueError, Follow, MailSettings, PendingNotice, Thread

DIGEST_INTERVAL = timedelta(hours=1)


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
