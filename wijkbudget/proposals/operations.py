"""Proposal use cases: residents write, submit, edit and withdraw a bewonersbod, invite
co-submitters, add photos and support proposals; the board reviews in public. Each function
checks the rule on the model, changes, writes the public history (and the audit log for board
decisions) and flushes; the request commits."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update

from ..accounts.models import User
from ..audit.operations import record
from ..extensions import db, utcnow
from ..mail import send_template
from ..rounds.models import Round
from . import images as image_files
from .models import (
    Action,
    CoAuthor,
    CostLine,
    Proposal,
    ProposalError,
    ProposalEvent,
    ProposalImage,
    State,
    Support,
)

log = logging.getLogger(__name__)

MAX_IMAGES = 3
MAX_COST_LINES = 20


@dataclass
class ProposalData:
    title: str
    summary: str
    description: str
    category_id: int | None
    area_id: int | None
    location: str = ""
    cost_lines: list[tuple[str, int]] = field(default_factory=list)


def money(cents: int) -> str:
    from ..money import format_cents

    return format_cents(cents)


def _validate(rnd: Round, data: ProposalData) -> None:
    if not data.title.strip():
        raise ProposalError(_("Geef je voorstel een titel."))
    if data.category_id is not None and data.category_id not in {c.id for c in rnd.categories}:
        raise ProposalError(_("Kies een categorie van deze ronde."))
    if data.area_id is not None:
        area = next((a for a in rnd.neighbourhood.areas if a.id == data.area_id), None)
        if area is None or not rnd.area_in_scope(area):
            raise ProposalError(_("Deze buurt doet niet mee aan deze ronde."))
    if not data.cost_lines:
        raise ProposalError(_("Vul minstens één kostenpost in: wat kost het, en waaraan?"))
    if len(data.cost_lines) > MAX_COST_LINES:
        raise ProposalError(_("Gebruik hoogstens %(n)d kostenposten.", n=MAX_COST_LINES))
    total = sum(amount for _desc, amount in data.cost_lines)
    if total < rnd.min_cost_cents or total > rnd.max_cost_cents:
        raise ProposalError(
            _(
                "Je voorstel kost %(total)s. In deze ronde mag een voorstel tussen %(min)s en "
                "%(max)s kosten.",
                total=money(total),
                min=money(rnd.min_cost_cents),
                max=money(rnd.max_cost_cents),
            )
        )


def _apply(proposal: Proposal, data: ProposalData) -> None:
    proposal.title = data.title.strip()
    proposal.summary = data.summary.strip()
    proposal.description = data.description.strip()
    proposal.category_id = data.category_id
    proposal.area_id = data.area_id
    proposal.location = data.location.strip()
    proposal.cost_lines = [
        CostLine(position=i, description=desc.strip(), amount_cents=amount)
        for i, (desc, amount) in enumerate(data.cost_lines)
    ]
    proposal.cost_cents = sum(amount for _desc, amount in data.cost_lines)
    proposal.updated_at = utcnow()


def _event(
    proposal: Proposal,
    kind: str,
    actor: User | None,
    role: str,
    *,
    to_state: State | None = None,
    message: str = "",
    criteria: list[str] | None = None,
) -> ProposalEvent:
    event = ProposalEvent(
        kind=kind,
        actor_id=actor.id if actor else None,
        actor_role=role,
        from_state=proposal.state if to_state is not None else None,
        to_state=to_state,
        message=message,
        criteria="\n".join(criteria or []),
        created_at=utcnow(),
    )
    proposal.events.append(event)
    if to_state is not None:
        proposal.state = to_state
    return event


def _authors(proposal: Proposal) -> list[User]:
    ids = proposal.author_ids()
    return list(db.session.scalars(select(User).where(User.id.in_(ids))))


def _tell_authors(proposal: Proposal, event: ProposalEvent, subject: Any) -> None:
    link = url_for("proposals.show", proposal_id=proposal.id, _external=True)
    for author in _authors(proposal):
        send_template(
            author,
            "proposals/mail/decision.txt",
            subject,
            user=author,
            proposal=proposal,
            event=event,
            link=link,
        )


# --- residents ------------------------------------------------------------------------------


def create_proposal(user: User, rnd: Round, data: ProposalData, *, submit: bool) -> Proposal:
    refusal = rnd.proposal_refusal(user)
    if refusal:
        raise ProposalError(refusal)
    _validate(rnd, data)
    proposal = Proposal(
        round=rnd, neighbourhood_id=rnd.neighbourhood_id, submitter=user, state=State.CONCEPT
    )
    _apply(proposal, data)
    db.session.add(proposal)
    _event(proposal, "created", user, "resident")
    if submit:
        _submit(proposal, user)
    db.session.flush()
    return proposal


def update_proposal(user: User, proposal: Proposal, data: ProposalData) -> None:
    proposal.check(Action.EDIT, user)
    _validate(proposal.round, data)
    _apply(proposal, data)
    _event(proposal, "edited", user, "resident")
    db.session.flush()


def _submit(proposal: Proposal, user: User) -> None:
    proposal.submitted_at = proposal.submitted_at or utcnow()
    _event(proposal, "submitted", user, "resident", to_state=State.SUBMITTED)


def submit(user: User, proposal: Proposal) -> None:
    proposal.check(Action.SUBMIT, user)
    _validate(
        proposal.round,
        ProposalData(
            proposal.title,
            proposal.summary,
            proposal.description,
            proposal.category_id,
            proposal.area_id,
            proposal.location,
            [(line.description, line.amount_cents) for line in proposal.cost_lines],
        ),
    )
    _submit(proposal, user)
    db.session.flush()


def withdraw(user: User, proposal: Proposal, reason: str) -> None:
    proposal.check(Action.WITHDRAW, user)
    _event(
        proposal, "withdrawn", user, "resident", to_state=State.WITHDRAWN, message=reason.strip()
    )
    db.session.flush()


# --- co-submitters --------------------------------------------------------------------------


def _invite_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="proposal-coauthor")


def invite_coauthor(user: User, proposal: Proposal, email: str) -> CoAuthor:
    proposal.check(Action.INVITE, user)
    email = email.strip().lower()
    if email == (user.email or "").lower():
        raise ProposalError(_("Je bent zelf al indiener."))
    if any(c.email == email for c in proposal.coauthors):
        raise ProposalError(_("Dit adres is al uitgenodigd."))
    if len(proposal.coauthors) >= 10:
        raise ProposalError(_("Een voorstel heeft hoogstens 10 mede-indieners."))
    invite = CoAuthor(email=email, invited_by_id=user.id, invited_at=utcnow())
    proposal.coauthors.append(invite)
    db.session.flush()
    token = _invite_serializer().dumps({"c": invite.id, "e": email})
    send_template(
        email,
        "proposals/mail/invite.txt",
        _l("Uitnodiging om mee te doen met een voorstel"),
        inviter=user,
        proposal=proposal,
        link=url_for("proposals.accept_invite", token=token, _external=True),
    )
    return invite


def load_invite(token: str) -> CoAuthor:
    try:
        payload = _invite_serializer().loads(token)
    except BadSignature as error:
        raise ProposalError(_("Deze uitnodiging klopt niet. Vraag om een nieuwe link.")) from error
    invite = db.session.get(CoAuthor, int(payload.get("c", 0)))
    if invite is None or invite.email != payload.get("e"):
        raise ProposalError(_("Deze uitnodiging is ingetrokken."))
    return invite


def accept_invite(user: User, invite: CoAuthor) -> Proposal:
    from .. import permissions

    proposal = invite.proposal
    if invite.accepted_at is not None:
        if invite.user_id == user.id:
            return proposal
        raise ProposalError(_("Deze uitnodiging is al gebruikt."))
    if (user.email or "").lower() != invite.email:
        raise ProposalError(
            _("Deze uitnodiging is voor %(email)s. Log in met dat adres.", email=invite.email)
        )
    if not permissions.takes_part(user, proposal.round):
        if proposal.round.workers_eligible:
            raise ProposalError(
                _(
                    "Alleen bewoners van wijk %(wijk)s, en in deze ronde ook mensen die er "
                    "werken, kunnen mede-indiener worden.",
                    wijk=proposal.neighbourhood.name,
                )
            )
        raise ProposalError(
            _(
                "Alleen bewoners van wijk %(wijk)s kunnen mede-indiener worden.",
                wijk=proposal.neighbourhood.name,
            )
        )
    if proposal.state in {State.WITHDRAWN, State.REJECTED}:
        raise ProposalError(_("Dit voorstel is niet meer open."))
    invite.user_id = user.id
    invite.accepted_at = utcnow()
    _event(proposal, "coauthor_joined", user, "resident")
    db.session.flush()
    return proposal


# --- photos ---------------------------------------------------------------------------------


def add_image(user: User, proposal: Proposal, upload: Any, alt: str) -> ProposalImage:
    proposal.check(Action.EDIT, user)
    if len(proposal.images) >= MAX_IMAGES:
        raise ProposalError(_("Een voorstel heeft hoogstens %(n)d foto's.", n=MAX_IMAGES))
    processed = image_files.process_upload(upload, max_bytes=current_app.config["UPLOAD_MAX_BYTES"])
    directory = image_files.upload_dir(current_app)
    name = image_files.store(processed, directory)
    image = ProposalImage(
        filename=name,
        content_type=processed.content_type,
        width=processed.width,
        height=processed.height,
        alt=alt.strip(),
        position=len(proposal.images),
    )
    proposal.images.append(image)
    try:
        db.session.flush()
    except Exception:
        image_files.delete(directory, name)
        raise
    return image


def remove_image(user: User, proposal: Proposal, image: ProposalImage) -> str:
    """Returns the file name, to delete after the commit."""
    proposal.check(Action.EDIT, user)
    if image.proposal_id != proposal.id:
        raise ProposalError(_("Deze foto hoort niet bij dit voorstel."))
    proposal.images.remove(image)
    db.session.flush()
    return image.filename


def image_path(image: ProposalImage) -> Path:
    return image_files.upload_dir(current_app) / image.filename


# --- supports -------------------------------------------------------------------------------


def toggle_support(user: User, proposal: Proposal) -> bool:
    """Support, or take support back. Returns whether the user supports it now."""
    proposal.check(Action.SUPPORT, user)
    existing = db.session.scalar(
        select(Support).where(Support.proposal_id == proposal.id, Support.user_id == user.id)
    )
    if existing is None:
        db.session.add(Support(proposal_id=proposal.id, user_id=user.id, created_at=utcnow()))
    else:
        db.session.delete(existing)
    db.session.flush()
    count = select(func.count(Support.id)).where(Support.proposal_id == proposal.id)
    db.session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id)
        .values(support_count=count.scalar_subquery())
    )
    db.session.refresh(proposal, ["support_count"])
    return existing is None


def apply_support_threshold(rnd: Round) -> None:
    """At the end of the steunen phase: admitted proposals below the threshold leave the ballot."""
    if not rnd.support_enabled or rnd.support_threshold <= 0:
        return
    below = db.session.scalars(
        select(Proposal).where(
            Proposal.round_id == rnd.id,
            Proposal.state == State.ADMITTED,
            Proposal.support_count < rnd.support_threshold,
        )
    )
    for proposal in below:
        _event(
            proposal,
            "insufficient_support",
            None,
            "system",
            to_state=State.INSUFFICIENT_SUPPORT,
            message=_(
                "%(count)d keer gesteund; nodig waren er %(needed)d.",
                count=proposal.support_count,
                needed=rnd.support_threshold,
            ),
        )
        record(
            "proposal.support_threshold",
            actor=None,
            role="system",
            obj=proposal,
            neighbourhood=rnd.neighbourhood_id,
            after={"steun": proposal.support_count, "drempel": rnd.support_threshold},
        )


# --- the board's review ------------------------------------------------------------------------


def _decide(
    board: User,
    proposal: Proposal,
    action: Action,
    to_state: State,
    message: str,
    subject: Any,
    criteria: list[str] | None = None,
) -> ProposalEvent:
    proposal.check(action, board)
    before = proposal.state
    event = _event(
        proposal,
        action.value,
        board,
        "board",
        to_state=to_state,
        message=message,
        criteria=criteria,
    )
    record(
        f"proposal.{action.value}",
        actor=board,
        role="board",
        obj=proposal,
        neighbourhood=proposal.neighbourhood_id,
        before={"status": before.value},
        after={"status": to_state.value, "reden": message or None},
    )
    db.session.flush()
    _tell_authors(proposal, event, subject)
    return event


def admit(board: User, proposal: Proposal, message: str = "") -> None:
    _decide(
        board,
        proposal,
        Action.ADMIT,
        State.ADMITTED,
        message.strip(),
        _l("Je voorstel staat op het stembiljet"),
    )


def reject(board: User, proposal: Proposal, criterion_ids: list[int], reason: str) -> None:
    chosen = [c.text for c in proposal.round.criteria if c.id in set(criterion_ids)]
    if not chosen and not reason.strip():
        raise ProposalError(
            _("Kies de regel waar het voorstel niet aan voldoet, of schrijf waarom.")
        )
    if len(chosen) != len(set(criterion_ids)):
        raise ProposalError(_("Kies alleen regels van deze ronde."))
    _decide(
        board,
        proposal,
        Action.REJECT,
        State.REJECTED,
        reason.strip(),
        _l("Besluit over je voorstel"),
        criteria=chosen,
    )


def request_changes(board: User, proposal: Proposal, message: str) -> None:
    if not message.strip():
        raise ProposalError(_("Schrijf wat er anders moet."))
    _decide(
        board,
        proposal,
        Action.REQUEST_CHANGES,
        State.CHANGES_REQUESTED,
        message.strip(),
        _l("Het bestuur vraagt een aanpassing van je voorstel"),
    )


def set_estimate(board: User, proposal: Proposal, cents: int | None, note: str) -> None:
    proposal.check(Action.ESTIMATE, board)
    if proposal.round.rules_locked:
        raise ProposalError(_("Het stemmen is begonnen: de kosten liggen vast."))
    if cents is not None and not note.strip():
        raise ProposalError(_("Leg uit waarom de kosten anders zijn. Dit is openbaar."))
    before = proposal.board_cost_cents
    proposal.board_cost_cents = cents
    proposal.board_cost_note = note.strip() if cents is not None else ""
    message = (
        _("Het bestuur schat de kosten op %(cost)s. %(note)s", cost=money(cents), note=note.strip())
        if cents is not None
        else _("Het bestuur gaat weer uit van de kosten van de indieners.")
    )
    event = _event(proposal, "estimate", board, "board", message=message)
    record(
        "proposal.estimate",
        actor=board,
        role="board",
        obj=proposal,
        neighbourhood=proposal.neighbourhood_id,
        before={"schatting": before},
        after={"schatting": cents},
    )
    db.session.flush()
    _tell_authors(proposal, event, _l("Het bestuur schat de kosten van je voorstel anders"))


def mark_duplicate(board: User, proposal: Proposal, original: Proposal | None, note: str) -> None:
    proposal.check(Action.MARK_DUPLICATE, board)
    if original is not None:
        if original.id == proposal.id or original.round_id != proposal.round_id:
            raise ProposalError(_("Kies een ander voorstel uit dezelfde ronde."))
        if original.duplicate_of_id == proposal.id:
            raise ProposalError(_("Dat voorstel staat al als dubbel van dit voorstel."))
    proposal.duplicate_of = original
    message = (
        _(
            "Lijkt op voorstel #%(id)d: %(title)s. %(note)s",
            id=original.id,
            title=original.title,
            note=note.strip(),
        )
        if original is not None
        else _("Niet meer gemarkeerd als dubbel.")
    )
    event = _event(proposal, "duplicate", board, "board", message=message.strip())
    record(
        "proposal.duplicate",
        actor=board,
        role="board",
        obj=proposal,
        neighbourhood=proposal.neighbourhood_id,
        after={"dubbel_van": original.id if original else None},
    )
    db.session.flush()
    _tell_authors(proposal, event, _l("Je voorstel lijkt op een ander voorstel"))
