"""Photos with a proposal: the upload is checked and stored outside the transaction, then
attached in one use case (at most ``MAX_IMAGES``), or removed. Locks as ``base`` says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from ... import images as image_files
from ...accounts.models import User
from ...extensions import db
from ...usecase import after_commit, use_case
from ..models import Action, Proposal, ProposalError, ProposalImage
from .base import locked

MAX_IMAGES = 3


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
    proposal = locked(proposal)
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
    proposal = locked(proposal)
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
