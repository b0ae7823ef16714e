"""Co-submitters: an author invites someone by e-mail (a signed link, valid for
``INVITE_MAX_AGE_DAYS``), takes an invitation back, and the invited person accepts. Each public
function that writes is one use case; locks as ``base`` says: the round, the proposal, then the
invitation row."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer

from ...accounts.models import User
from ...extensions import db, utcnow
from ...mail import send_template
from ...urls import external_url
from ...usecase import Conflict, after_commit, lock_or_gone, use_case
from ..models import Action, CoAuthor, Proposal, ProposalError, State
from .base import Forbidden, locked

#: invitations (open or accepted) per proposal, and co-submitters who accepted
MAX_COAUTHORS = 10


def _invite_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="proposal-coauthor")


@use_case(conflict=_l("Dit adres is al uitgenodigd."))
def invite_coauthor(user: User, proposal: Proposal, email: str) -> CoAuthor:
    """Invite someone by e-mail to co-submit; the mail goes out after the commit. At most
    MAX_COAUTHORS invitations per proposal; the same address twice is a 409. Expired invitations
    (``invite_expired``) are cleared first: they hold no place, and the address can be invited
    again.

    Locks: the round (lock_round: the phase) and the proposal: the invitations are counted
    after the lock (a unique constraint on proposal and address as well)."""
    proposal = locked(proposal)
    proposal.check(Action.INVITE, user)
    email = email.strip().lower()
    if email == (user.email or "").lower():
        raise ProposalError(_("Je bent zelf al indiener."))
    now = utcnow()
    for expired in [c for c in proposal.coauthors if invite_expired(c, now)]:
        proposal.coauthors.remove(expired)  # room for a new invitation, also to the same address
    db.session.flush()
    if any(c.email == email for c in proposal.coauthors):
        raise Conflict(_("Dit adres is al uitgenodigd."))
    if len(proposal.coauthors) >= MAX_COAUTHORS:
        raise ProposalError(
            _("Een voorstel heeft hoogstens %(n)d mede-indieners.", n=MAX_COAUTHORS)
        )
    invite = CoAuthor(email=email, invited_by_id=user.id, invited_at=now)
    proposal.coauthors.append(invite)
    db.session.flush()
    # the time tells this invitation from a later one that got the same id (SQLite reuses ids)
    token = _invite_serializer().dumps({"c": invite.id, "e": email, "t": _stamp(invite)})
    link = external_url("proposals.accept_invite", token=token)
    after_commit(
        lambda: send_template(
            email,
            "proposals/mail/invite.txt",
            _l("Uitnodiging om mee te doen met een voorstel"),
            inviter=user,
            proposal=proposal,
            link=link,
        )
    )
    return invite


def load_invite(token: str) -> CoAuthor:
    try:
        payload = _invite_serializer().loads(token)
    except BadSignature as error:
        raise ProposalError(_("Deze uitnodiging klopt niet. Vraag om een nieuwe link.")) from error
    invite = db.session.get(CoAuthor, int(payload.get("c", 0)))
    if (
        invite is None
        or invite.email != payload.get("e")
        or payload.get("t", _stamp(invite)) != _stamp(invite)  # (links from before had no time)
    ):
        raise ProposalError(_("Deze uitnodiging is ingetrokken."))
    _refuse_expired(invite)
    return invite


def _stamp(invite: CoAuthor) -> int:
    return int(invite.invited_at.timestamp())


def invite_expired(invite: CoAuthor, now: datetime | None = None) -> bool:
    """An invitation that was not accepted within ``INVITE_MAX_AGE_DAYS`` can no longer be."""
    if invite.accepted_at is not None:
        return False
    days = int(current_app.config["INVITE_MAX_AGE_DAYS"])
    return (now or utcnow()) - invite.invited_at > timedelta(days=days)


def _refuse_expired(invite: CoAuthor) -> None:
    if invite_expired(invite):
        raise ProposalError(
            _(
                "Deze uitnodiging is verlopen: je kon hem %(days)d dagen gebruiken. Vraag de "
                "indiener om je opnieuw uit te nodigen.",
                days=int(current_app.config["INVITE_MAX_AGE_DAYS"]),
            )
        )


@use_case
def withdraw_invite(user: User, proposal: Proposal, invite_id: int) -> None:
    """An author takes back an invitation that was not accepted yet; its link stops working.
    Pressed twice (or already gone): nothing more happens.

    Locks: the round (lock_round) and the proposal, as ``invite_coauthor`` and ``accept_invite``
    do: an acceptance waits for it, then finds the invitation gone."""
    proposal = locked(proposal)
    if not proposal.is_author(user):
        raise Forbidden(_("Alleen de indieners van dit voorstel kunnen een uitnodiging intrekken."))
    invite = next((c for c in proposal.coauthors if c.id == invite_id), None)
    if invite is None:
        return
    if invite.accepted_at is not None:
        raise ProposalError(_("Deze uitnodiging is al aangenomen. Intrekken kan niet meer."))
    proposal.coauthors.remove(invite)
    db.session.flush()


@use_case(conflict=_l("Je doet al mee met dit voorstel."))
def accept_invite(user: User, invite: CoAuthor) -> Proposal:
    """The invited person joins as co-submitter. Pressed twice: the second press finds them in.
    At most MAX_COAUTHORS co-submitters, however many accept at once.

    Locks: the round (lock_round) and the proposal (the co-submitters are counted after it),
    then the invitation row (read afresh: accepted or not)."""

    proposal = locked(invite.proposal_id)
    invite = lock_or_gone(CoAuthor, invite.id)
    if invite.accepted_at is not None:
        if invite.user_id == user.id:
            return proposal
        raise Conflict(_("Deze uitnodiging is al gebruikt."))
    _refuse_expired(invite)
    if (user.email or "").lower() != invite.email:
        raise Forbidden(
            _("Deze uitnodiging is voor %(email)s. Log in met dat adres.", email=invite.email)
        )
    refusal = proposal.round.take_part_refusal(user, "coauthor")
    if refusal is not None:
        raise Forbidden(refusal)
    if proposal.state in {State.WITHDRAWN, State.REJECTED}:
        raise ProposalError(_("Dit voorstel is niet meer open."))
    if proposal.is_author(user):
        return proposal
    if sum(1 for c in proposal.coauthors if c.accepted_at is not None) >= MAX_COAUTHORS:
        raise Conflict(
            _(
                "Dit voorstel heeft al %(n)d mede-indieners. Meer kan niet.",
                n=MAX_COAUTHORS,
            )
        )
    invite.user_id = user.id
    invite.accepted_at = utcnow()
    proposal.add_event("coauthor_joined", user, "resident")
    db.session.flush()
    return proposal
