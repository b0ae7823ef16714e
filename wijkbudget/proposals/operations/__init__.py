"""Proposal use cases: residents write, submit, edit and withdraw a bewonersbod, invite
co-submitters, add photos and support proposals; the board reviews in public.

Each public function is one use case (``@use_case``: one transaction, committed when it returns,
rolled back as a whole when a rule says no). It locks what its rule reads, checks the rule on the
model, changes, writes the public history (and the audit log for board decisions). Mail to the
authors and to invitees goes out after the commit (``after_commit``): a refused or rolled-back
attempt sends nothing.

The lock order is the same in every use case, so two of them never wait for each other in a
circle: the round (``lock_round``: read afresh and moved along its dates, so the phase a rule
reads is the phase the dates say, whether or not ``flask tick`` ran) → the proposal → another
proposal of the same round (by id) → an invitation row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update

from .. import images as image_files
from ..accounts.models import User
from ..audit.operations import record
from ..extensions import db, utcnow
from ..mail import send_template
from ..rounds.models import Round
from ..rounds.operations import lock_round
from ..urls import external_url
from ..usecase import Conflict, after_commit, lock_or_gone, use_case
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
#: invitations (open or accepted) per proposal, and co-submitters who accepted
MAX_COAUTHORS = 10
#: the same form sent again this soon (a double click, a reload) finds the first proposal
REPLAY_WINDOW = timedelta(minutes=10)


class Forbidden(ProposalError):
    """This person may not do this (not only: not now): 403."""

    status = 403


@dataclass
class ProposalData:
    title: str
    summary: str
    description: str
    category_id: int | None
    area_id: int | None
    location: str = ""
    cost_lines: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class SupportOutcome:
    supports: bool  # whether the person supports the proposal now
    changed: bool  # False: it already was so (the same button pressed twice)


def money(cents: int) -> str:
    from ..money import format_cents

    return format_cents(cents)


def _locked(proposal: Proposal | int) -> Proposal:
    """The proposal's round locked and moved along its dates (``lock_round``), then the proposal
    locked and read afresh, with the collections a rule counts (co-submitters, photos, cost
    lines) loaded again after the lock. A Conflict (409) when the proposal was deleted."""
    if isinstance(proposal, Proposal):
        proposal_id, round_id = proposal.id, proposal.round_id
    else:
        proposal_id = proposal
        round_id = db.session.scalar(select(Proposal.round_id).where(Proposal.id == proposal_id))
        if round_id is None:
            lock_or_gone(Proposal, proposal_id)  # gone: raises the Conflict
    lock_round(round_id)
    locked = lock_or_gone(Proposal, proposal_id)
    db.session.expire(locked, ["coauthors", "images", "cost_lines"])
    return locked


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
    """Mail the authors about ``event`` once the use case has committed."""
    link = external_url("proposals.show", proposal_id=proposal.id)
    authors = _authors(proposal)

    def send() -> None:
        for author in authors:
            send_template(
                author,
                "proposals/mail/decision.txt",
                subject,
                user=author,
                proposal=proposal,
                event=event,
                link=link,
            )

    after_commit(send)


# --- residents ------------------------------------------------------------------------------


def _replayed(user: User, rnd: Round, data: ProposalData) -> Proposal | None:
    """The proposal this person made from the same form a moment ago (a second press of the
    button, a reload that posts again), if any."""
    return db.session.scalar(
        select(Proposal)
        .where(
            Proposal.round_id == rnd.id,
            Proposal.submitter_id == user.id,
            Proposal.title == data.title.strip(),
            Proposal.summary == data.summary.strip(),
            Proposal.state.in_([State.CONCEPT, State.SUBMITTED]),
            Proposal.created_at > utcnow() - REPLAY_WINDOW,
        )
        .order_by(Proposal.id)
        .limit(1)
    )


@use_case
def create_proposal(user: User, rnd: Round, data: ProposalData, *, submit: bool) -> Proposal:
    """A new proposal (a concept, or submitted at once), with its conversation in the
    wijkdialoog. The same form sent twice gives the one proposal.

    Locks: the round (lock_round: whether proposals may come in is the phase by the dates; and
    two presses of the button find each other instead of making two proposals)."""
    from ..dialogue.operations import new_proposal_thread

    rnd = lock_round(rnd)
    refusal = rnd.proposal_refusal(user)
    if refusal:
        raise Forbidden(refusal)
    _validate(rnd, data)
    replay = _replayed(user, rnd, data)
    if replay is not None:
        if submit and replay.state == State.CONCEPT:
            _submit(replay, user)
        return replay
    proposal = Proposal(
        round=rnd, neighbourhood_id=rnd.neighbourhood_id, submitter=user, state=State.CONCEPT
    )
    _apply(proposal, data)
    db.session.add(proposal)
    _event(proposal, "created", user, "resident")
    if submit:
        _submit(proposal, user)
    db.session.flush()
    new_proposal_thread(proposal)
    return proposal


@use_case
def update_proposal(
    user: User, proposal: Proposal, data: ProposalData, *, submit: bool = False
) -> Proposal:
    """The authors change their proposal (and submit it, with ``submit``, when they may), in one
    go. No cost changes once voting has begun (the rule's phases, judged under the lock).

    Locks: the round (lock_round) and the proposal."""
    proposal = _locked(proposal)
    proposal.check(Action.EDIT, user)
    _validate(proposal.round, data)
    _apply(proposal, data)
    _event(proposal, "edited", user, "resident")
    if submit and proposal.allows(Action.SUBMIT, user):
        _submit(proposal, user)
    db.session.flush()
    return proposal


def _submit(proposal: Proposal, user: User) -> None:
    proposal.submitted_at = proposal.submitted_at or utcnow()
    _event(proposal, "submitted", user, "resident", to_state=State.SUBMITTED)


@use_case
def submit(user: User, proposal: Proposal) -> None:
    """A concept (or a proposal the board sent back) goes to the board. Pressed twice: the
    second press finds it submitted and changes nothing.

    Locks: the round (lock_round: submitting a concept is for the phase 'indienen' by its
    dates) and the proposal (its state)."""
    proposal = _locked(proposal)
    if proposal.state == State.SUBMITTED and proposal.is_author(user):
        return
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


@use_case
def withdraw(user: User, proposal: Proposal, reason: str) -> None:
    """The authors withdraw their proposal (before voting). Pressed twice: changes nothing.

    Locks: the round (lock_round: before voting, by the dates) and the proposal (its state)."""
    proposal = _locked(proposal)
    if proposal.state == State.WITHDRAWN and proposal.is_author(user):
        return
    proposal.check(Action.WITHDRAW, user)
    _event(
        proposal, "withdrawn", user, "resident", to_state=State.WITHDRAWN, message=reason.strip()
    )
    db.session.flush()


# --- co-submitters --------------------------------------------------------------------------


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
    proposal = _locked(proposal)
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
    proposal = _locked(proposal)
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

    proposal = _locked(invite.proposal_id)
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
    _event(proposal, "coauthor_joined", user, "resident")
    db.session.flush()
    return proposal


# --- photos ---------------------------------------------------------------------------------


def add_image(user: User, proposal: Proposal, upload: Any, alt: str) -> ProposalImage:
    """A photo with the proposal. The upload is checked, cleaned and written to disk first
    (slow work, outside any lock and outside the transaction); then ``_attach_image`` saves it
    as one use case. When that is refused or fails, the file is deleted again.

    Locks: see _attach_image."""
    proposal.check(Action.EDIT, user)  # early, so a refusal costs no upload work
    processed = image_files.process_upload(upload, max_bytes=current_app.config["UPLOAD_MAX_BYTES"])
    directory = image_files.upload_dir(current_app)
    name = image_files.store(processed, directory)
    try:
        return _attach_image(user, proposal, processed, name, alt)
    except BaseException:
        image_files.delete(directory, name)
        raise


@use_case
def _attach_image(
    user: User,
    proposal: Proposal,
    processed: image_files.ProcessedImage,
    name: str,
    alt: str,
) -> ProposalImage:
    """Locks: the round (lock_round: editing is for phases before voting) and the proposal:
    the photos are counted after the lock, so at most MAX_IMAGES however many come at once."""
    proposal = _locked(proposal)
    proposal.check(Action.EDIT, user)
    if len(proposal.images) >= MAX_IMAGES:
        raise ProposalError(_("Een voorstel heeft hoogstens %(n)d foto's.", n=MAX_IMAGES))
    image = ProposalImage(
        filename=name,
        content_type=processed.content_type,
        width=processed.width,
        height=processed.height,
        alt=alt.strip(),
        position=max((i.position for i in proposal.images), default=-1) + 1,
    )
    proposal.images.append(image)
    db.session.flush()
    return image


@use_case
def remove_image(user: User, proposal: Proposal, image_id: int) -> None:
    """The photo goes; its file is deleted after the commit. Pressed twice: the second press
    finds it gone and changes nothing.

    Locks: the round (lock_round) and the proposal (its photos are read after the lock)."""
    proposal = _locked(proposal)
    proposal.check(Action.EDIT, user)
    image = next((i for i in proposal.images if i.id == image_id), None)
    if image is None:
        return
    proposal.images.remove(image)
    db.session.flush()
    directory, name = image_files.upload_dir(current_app), image.filename
    after_commit(lambda: image_files.delete(directory, name))


def image_path(image: ProposalImage) -> Path:
    return image_files.upload_dir(current_app) / image.filename


# --- supports -------------------------------------------------------------------------------


@use_case(conflict=_l("Je steun stond er al."))
def set_support(user: User, proposal: Proposal, want: bool) -> SupportOutcome:
    """Support the proposal (``want``) or take the support back. The form says which (never
    "the other way round"), so the same request twice, a double click or a second tab, changes
    nothing the second time and says so. The support row and the stored count change together,
    the count in SQL (``support_count + 1``) under the proposal's lock: count = rows.

    Locks: the round (lock_round: supporting is for the phase 'steunen' by its dates, and the
    move out of that phase counts the supports under the same lock, so a support either counts
    or is refused), then the proposal (its supports one after another). A unique constraint on
    (proposal, person) as well."""
    proposal = _locked(proposal)
    proposal.check(Action.SUPPORT, user)
    existing = db.session.scalar(
        select(Support).where(Support.proposal_id == proposal.id, Support.user_id == user.id)
    )
    if want == (existing is not None):
        return SupportOutcome(supports=want, changed=False)
    if want:
        db.session.add(Support(proposal_id=proposal.id, user_id=user.id, created_at=utcnow()))
    else:
        db.session.delete(existing)
    db.session.flush()
    db.session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id)
        .values(support_count=Proposal.support_count + (1 if want else -1))
        .execution_options(synchronize_session=False)
    )
    db.session.expire(proposal, ["support_count"])
    return SupportOutcome(supports=want, changed=True)


@use_case
def apply_support_threshold(rnd: Round) -> None:
    """At the end of the steunen phase: admitted proposals with fewer supports than the
    threshold leave the ballot. Runs inside the use case that moves the round on
    (rounds.operations: a nested use case, it joins that transaction). It counts the support
    rows (never the stored count), and stores what it counted with each proposal.

    Locks: the round (the caller's lock_round already holds it; taken here again, without
    reading the round afresh, so the count is right whoever calls): no support comes in or goes
    out while it counts. Then the admitted proposals of the round."""
    db.session.execute(select(Round.id).where(Round.id == rnd.id).with_for_update(key_share=True))
    if not rnd.support_enabled or rnd.support_threshold <= 0:
        return
    counted = (
        select(func.count(Support.id))
        .where(Support.proposal_id == Proposal.id)
        .correlate(Proposal)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Proposal, counted)
        .where(Proposal.round_id == rnd.id, Proposal.state == State.ADMITTED)
        .order_by(Proposal.id)
        .with_for_update(of=Proposal, key_share=True)
        .execution_options(populate_existing=True)
    ).all()
    for proposal, supports in rows:
        if proposal.support_count != supports:
            log.warning(
                "proposal %s: stored support count %s, rows %s (corrected)",
                proposal.id,
                proposal.support_count,
                supports,
            )
            proposal.support_count = supports
        if supports >= rnd.support_threshold:
            continue
        _event(
            proposal,
            "insufficient_support",
            None,
            "system",
            to_state=State.INSUFFICIENT_SUPPORT,
            message=_(
                "%(count)d keer gesteund; nodig waren er %(needed)d.",
                count=supports,
                needed=rnd.support_threshold,
            ),
        )
        record(
            "proposal.support_threshold",
            actor=None,
            role="system",
            obj=proposal,
            neighbourhood=rnd.neighbourhood_id,
            after={"steun": supports, "drempel": rnd.support_threshold},
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
    """Locks: the round (lock_round: reviewing is for the phases before voting, by the dates)
    and the proposal (its state). The same decision twice is a 409: it was just taken."""
    proposal = _locked(proposal)
    if proposal.state == to_state and proposal.who_refusal(action, board) is None:
        raise Conflict(
            _("Dit besluit is net al genomen. Kijk in de geschiedenis van het voorstel.")
        )
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


@use_case
def admit(board: User, proposal: Proposal, message: str = "") -> None:
    """The board puts the proposal on the ballot. Locks: see _decide."""
    _decide(
        board,
        proposal,
        Action.ADMIT,
        State.ADMITTED,
        message.strip(),
        _l("Je voorstel staat op het stembiljet"),
    )


@use_case
def reject(board: User, proposal: Proposal, criterion_ids: list[int], reason: str) -> None:
    """The board rejects, naming the round's criteria or a reason. Locks: see _decide."""
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


@use_case
def request_changes(board: User, proposal: Proposal, message: str) -> None:
    """The board sends the proposal back to its authors. Locks: see _decide."""
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


@use_case
def set_estimate(board: User, proposal: Proposal, cents: int | None, note: str) -> None:
    """The board's own estimate of the cost (None: the authors' cost again). Never once voting
    has begun: judged under the lock, so an estimate racing the move to voting happens strictly
    before it or is refused. The same estimate twice changes nothing.

    Locks: the round (lock_round: the phase by the dates) and the proposal."""
    proposal = _locked(proposal)
    proposal.check(Action.ESTIMATE, board)
    if proposal.round.rules_locked:
        raise ProposalError(_("Het stemmen is begonnen: de kosten liggen vast."))
    if cents is not None and not note.strip():
        raise ProposalError(_("Leg uit waarom de kosten anders zijn. Dit is openbaar."))
    before = proposal.board_cost_cents
    new_note = note.strip() if cents is not None else ""
    if before == cents and proposal.board_cost_note == new_note:
        return
    proposal.board_cost_cents = cents
    proposal.board_cost_note = new_note
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


@use_case
def mark_duplicate(board: User, proposal: Proposal, original: Proposal | None, note: str) -> None:
    """The board marks the proposal as looking like ``original`` (None: not any more). The same
    mark twice changes nothing.

    Locks: the round (lock_round), then both proposals in the order of their ids (two board
    members marking A as B's duplicate and B as A's at once: the second is refused)."""
    if original is not None and (
        original.id == proposal.id or original.round_id != proposal.round_id
    ):
        raise ProposalError(_("Kies een ander voorstel uit dezelfde ronde."))
    ids = sorted({proposal.id} | ({original.id} if original is not None else set()))
    locked = {
        pid: (_locked(pid) if i == 0 else lock_or_gone(Proposal, pid)) for i, pid in enumerate(ids)
    }
    proposal = locked[proposal.id]
    original = locked[original.id] if original is not None else None
    proposal.check(Action.MARK_DUPLICATE, board)
    if original is not None and original.duplicate_of_id == proposal.id:
        raise ProposalError(_("Dat voorstel staat al als dubbel van dit voorstel."))
    if proposal.duplicate_of_id == (original.id if original is not None else None):
        return
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
