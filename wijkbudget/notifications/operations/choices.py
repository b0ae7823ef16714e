"""What a person chooses: follow a proposal (or its project) or stop, which kinds of mail they
want, and one-click unsubscribe from a signed link without signing in. Each write is one use
case; locks: the person's row (their follows and settings one after another)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update

from ...accounts.models import User
from ...extensions import db
from ...proposals.models import Proposal
from ...usecase import lock, lock_or_gone, use_case
from ..models import Follow, Kind, NotificationError, NotificationSettings, Outbox, OutboxState

#: an unsubscribe link works this long (a year: mails are read late, and kept)
TOKEN_MAX_AGE = 365 * 24 * 3600


class BadLink(NotificationError):
    """An unsubscribe link that does not hold: "not found", and said kindly."""

    status = 404


@use_case(quiet=True)
def set_follow(user: User, proposal: Proposal, want: bool) -> bool:
    """Follow the proposal — and the project it becomes — (``want``) or stop. The form says
    which, so the same request twice changes nothing the second time. Returns whether
    something changed.

    Locks: the person's row (their follows one after another; a unique constraint on (person,
    proposal) as well)."""
    lock_or_gone(User, user.id)
    existing = db.session.scalar(
        select(Follow).where(Follow.user_id == user.id, Follow.proposal_id == proposal.id)
    )
    if want == (existing is not None):
        return False
    if want:
        if not proposal.is_public:
            raise NotificationError(_("Je kunt alleen een gepubliceerd voorstel volgen."))
        db.session.add(Follow(user_id=user.id, proposal_id=proposal.id))
    else:
        db.session.delete(existing)
    return True


def settings_of(user_id: int) -> NotificationSettings:
    """The person's settings to read (the defaults, not saved, when they have none)."""
    found = db.session.get(NotificationSettings, user_id)
    return found if found is not None else NotificationSettings.defaults(user_id)


def _settings_to_change(user_id: int) -> NotificationSettings:
    """Inside a use case that holds the person's row: their settings, made when missing."""
    found = db.session.get(NotificationSettings, user_id)
    if found is None:
        found = NotificationSettings.defaults(user_id)
        db.session.add(found)
    return found


def _drop_pending(user_id: int, kinds: list[Kind]) -> None:
    """Mails of ``kinds`` still waiting for the person are no longer sent."""
    if kinds:
        db.session.execute(
            update(Outbox)
            .where(
                Outbox.user_id == user_id,
                Outbox.kind.in_(kinds),
                Outbox.state == OutboxState.PENDING,
            )
            .values(state=OutboxState.DROPPED)
        )


@use_case(quiet=True)
def update_settings(user: User, wanted: Mapping[Kind, bool], weekly_digest: bool) -> None:
    """Which kinds of mail the person wants, and follow news weekly or one by one. Mails of a
    kind turned off that still wait are not sent.

    Locks: the person's row (their settings are made once)."""
    lock_or_gone(User, user.id)
    settings = _settings_to_change(user.id)
    for kind, on in wanted.items():
        settings.set(kind, on)
    settings.weekly_digest = weekly_digest
    _drop_pending(user.id, [kind for kind, on in wanted.items() if not on])


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt="notifications-unsubscribe"
    )


def unsubscribe_token(user_id: int, kind: Kind) -> str:
    """The signed part of the unsubscribe link of ``kind`` for this person (no login needed)."""
    return _serializer().dumps([user_id, kind.value])


def _read_token(token: str) -> tuple[int, Kind]:
    try:
        payload = _serializer().loads(token, max_age=TOKEN_MAX_AGE)
    except SignatureExpired as error:
        raise BadLink(
            _(
                "Deze afmeldlink is te oud. Log in en kies bij je account welke mail je wilt "
                "krijgen."
            )
        ) from error
    except BadSignature as error:
        raise BadLink(
            _("Deze afmeldlink klopt niet. Kijk of je de hele link hebt gebruikt.")
        ) from error
    try:
        user_id, kind_value = payload
        return int(user_id), Kind(kind_value)
    except (TypeError, ValueError) as error:
        raise BadLink(
            _("Deze afmeldlink klopt niet. Kijk of je de hele link hebt gebruikt.")
        ) from error


def token_kind(token: str) -> Kind:
    """The kind an unsubscribe link is for (to show on its page); a :class:`BadLink` when the
    link does not hold or its account is gone. Only reads."""
    user_id, kind = _read_token(token)
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise BadLink(_("Deze afmeldlink klopt niet. Kijk of je de hele link hebt gebruikt."))
    return kind


@use_case(quiet=True)
def unsubscribe(token: str) -> tuple[Kind, bool]:
    """One click in a mail: no more mail of the link's kind, and none of it that waits is sent.
    Only that kind: the others stay as they were. Returns the kind and whether it changed
    anything (a link used twice: nothing the second time).

    Locks: the person's row (their settings are made once)."""
    user_id, kind = _read_token(token)
    user = lock(User, user_id)
    if user is None or user.deleted_at is not None:
        raise BadLink(_("Deze afmeldlink klopt niet. Kijk of je de hele link hebt gebruikt."))
    settings = _settings_to_change(user_id)
    changed = settings.wants(kind)
    settings.set(kind, False)
    _drop_pending(user_id, [kind])
    return kind, changed
