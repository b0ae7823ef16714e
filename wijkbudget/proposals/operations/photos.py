"""Photos with a proposal: the upload is checked and stored (with its thumbnails) outside the
transaction, then attached in one use case (at most ``MAX_IMAGES``, always with alt text), or
removed; ``make_missing_thumbnails`` makes the thumbnails of photos stored before. Locks as
``base`` says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from ... import images as image_files
from ... import thumbnails
from ...accounts.models import User
from ...extensions import db
from ...usecase import after_commit, guarded, use_case
from ..models import Action, Proposal, ProposalError, ProposalImage
from .base import locked

MAX_IMAGES = 3


def add_image(user: User, proposal: Proposal, upload: Any, alt: str) -> ProposalImage:
    """A photo with the proposal. The upload is checked, cleaned and written to disk first
    (slow work, outside any lock and outside the transaction); then ``_attach_image`` saves it
    as one use case. When that is refused or fails, the file is deleted again.

    Locks: see _attach_image."""
    proposal.check(Action.EDIT, user)  # early, so a refusal costs no upload work
    _check_alt(alt)
    processed = image_files.process_upload(upload, max_bytes=current_app.config["UPLOAD_MAX_BYTES"])
    directory = image_files.upload_dir(current_app)
    name = image_files.store(processed, directory)
    try:
        widths = thumbnails.write(
            directory, name, thumbnails.make(processed.data, processed.extension)
        )
        return _attach_image(user, proposal, processed, name, alt, widths)
    except BaseException:
        image_files.delete(directory, name)
        thumbnails.delete(directory, name)
        raise


def _check_alt(alt: str) -> None:
    if not alt.strip():
        raise ProposalError(
            _(
                "Schrijf in een paar woorden wat er op de foto staat. Dan weet ook iemand die "
                "de foto niet kan zien wat erop staat."
            )
        )


@use_case
def _attach_image(
    user: User,
    proposal: Proposal,
    processed: image_files.ProcessedImage,
    name: str,
    alt: str,
    widths: str = "",
) -> ProposalImage:
    """Locks: the round (lock_round: editing is for phases before voting) and the proposal:
    the photos are counted after the lock, so at most MAX_IMAGES however many come at once."""
    proposal = locked(proposal)
    proposal.check(Action.EDIT, user)
    _check_alt(alt)
    if len(proposal.images) >= MAX_IMAGES:
        raise ProposalError(_("Een voorstel heeft hoogstens %(n)d foto's.", n=MAX_IMAGES))
    image = ProposalImage(
        filename=name,
        content_type=processed.content_type,
        width=processed.width,
        height=processed.height,
        alt=alt.strip(),
        thumb_widths=widths,
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
    after_commit(lambda: _delete_files(directory, name))


def _delete_files(directory: Path, name: str) -> None:
    image_files.delete(directory, name)
    thumbnails.delete(directory, name)


def make_missing_thumbnails() -> tuple[int, list[str]]:
    """The thumbnails of every photo stored without them (before they were made): each photo's
    files are written first, then recorded in a use case of its own, so a photo removed in the
    meantime loses its new thumbnails again and a second run at the same time does no harm
    (it writes the same files and records the same widths). Returns how many were made and the
    problems (a photo whose file is gone or unreadable keeps showing as it was)."""
    directory = image_files.upload_dir(current_app)
    made, problems = 0, []
    missing = db.session.execute(
        select(ProposalImage.id, ProposalImage.filename)
        .where(ProposalImage.thumb_widths == "")
        .order_by(ProposalImage.id)
    ).all()
    db.session.rollback()  # end the read: each photo is its own transaction below
    for image_id, name in missing:
        try:
            widths = thumbnails.make_and_write(directory, name)
        except (OSError, image_files.ImageError) as error:
            problems.append(f"foto {image_id} ({name}): {error.__class__.__name__}")
            continue
        if _record_thumbnails(image_id, widths):
            made += 1
        else:
            thumbnails.delete(directory, name)  # the photo was removed meanwhile
    return made, problems


@use_case
def _record_thumbnails(image_id: int, widths: str) -> bool:
    """Locks: none; a conditional update: False when the photo is gone. Two runs at once both
    record the same widths of the same files."""
    return guarded(
        update(ProposalImage).where(ProposalImage.id == image_id).values(thumb_widths=widths)
    )


def image_path(image: ProposalImage) -> Path:
    return image_files.upload_dir(current_app) / image.filename
