"""Progress and closing: the initiators' updates with photos, the board's milestones, and closing
a project (afgerond or gestopt), whose unspent remainder goes back to the wijk.

Locks, in the area's order (see the package): project → wijk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from ... import images
from ...accounts.models import User
from ...audit.operations import record
from ...extensions import db, utcnow
from ...usecase import Conflict, lock_or_gone, use_case
from .. import queries, receipts
from ..models import (
    EntryKind,
    FundedProject,
    NotAllowed,
    ProgressPhoto,
    ProgressUpdate,
    ProjectStatus,
    SpendingError,
)
from .common import check_board, clean_reason, plain
from .ledger import append


@use_case
def close_project(board: User, project: FundedProject, status: ProjectStatus, note: str) -> None:
    """Afgerond or gestopt. Pending expenses must be decided first; the unspent remainder goes
    back to the wijk as a ledger entry ("besparingen vloeien terug naar de wijk"). Closing
    twice: 409.

    Locks: the project (its status and money are read under it, so no expense is recorded or
    approved in between), then the wijk (:func:`append`)."""
    project = lock_or_gone(FundedProject, project)
    check_board(board, project)
    if status not in (ProjectStatus.DONE, ProjectStatus.STOPPED):
        raise SpendingError(_("Kies afgerond of gestopt."))
    if project.is_closed:
        raise Conflict(_("Dit project is al afgesloten."))
    money = queries.project_money(project)
    if money.pending:
        raise SpendingError(_("Er wachten nog uitgaven op goedkeuring. Besluit daar eerst over."))
    text = clean_reason(note)
    project.status = status
    project.closed_at = utcnow()
    if status == ProjectStatus.DONE:
        project.percent_done = 100
    remainder = money.granted - money.spent
    seq = None
    if remainder > 0:
        seq = append(
            project.neighbourhood_id,
            EntryKind.RETURN,
            remainder,
            actor=board,
            project=project,
            reason=text,
        ).seq
    db.session.add(
        ProgressUpdate(
            project_id=project.id,
            author_id=board.id,
            milestone=True,
            body=text,
            percent_done=project.percent_done,
            created_at=utcnow(),
        )
    )
    project.last_update_at = utcnow()
    db.session.flush()
    record(
        "project.close",
        actor=board,
        role="board",
        obj=project,
        neighbourhood=project.neighbourhood_id,
        after={"status": status.value, "terug": remainder, "boeking": seq},
    )


MAX_PHOTOS = 3


@use_case
def add_update(
    user: User,
    project: FundedProject,
    body: str,
    percent: int | None,
    *,
    photos: Sequence[Any] = (),
    alt: str = "",
) -> ProgressUpdate:
    """Initiators tell how it goes, with up to three photos; the board adds milestones.

    Locks: the project (closed? its percentage and status change). The photos are checked
    before the lock and written to disk last; if the use case fails after that, they are
    deleted again."""
    text = (body or "").strip()
    if not text:
        raise SpendingError(_("Schrijf wat er is gebeurd."))
    if len(text) > 5000:
        raise SpendingError(_("Het bericht is te lang (hoogstens 5000 tekens)."))
    if percent is not None and not 0 <= percent <= 100:
        raise SpendingError(_("Het percentage moet tussen 0 en 100 liggen."))
    if not project.can_post_update(user):
        raise NotAllowed(_("Alleen de initiatiefnemers schrijven een voortgangsbericht."))
    uploads = [f for f in photos if f is not None and getattr(f, "filename", None)]
    if len(uploads) > MAX_PHOTOS:
        raise SpendingError(_("Hoogstens %(n)d foto's bij een bericht.", n=MAX_PHOTOS))
    processed = [
        images.process_upload(receipts.rewound(f), max_bytes=current_app.config["UPLOAD_MAX_BYTES"])
        for f in uploads
    ]
    project = lock_or_gone(FundedProject, project)
    if not project.can_post_update(user):
        raise NotAllowed(_("Alleen de initiatiefnemers schrijven een voortgangsbericht."))
    if project.is_closed:
        raise SpendingError(_("Dit project is afgesloten."))
    milestone = project.update_is_milestone(user)
    update = ProgressUpdate(
        project_id=project.id,
        author_id=user.id,
        milestone=milestone,
        body=text,
        percent_done=percent,
        created_at=utcnow(),
    )
    directory = images.upload_dir(current_app)
    stored: list[str] = []
    try:
        for photo in processed:
            stored.append(images.store(photo, directory))
            update.photos.append(
                ProgressPhoto(
                    filename=stored[-1],
                    content_type=photo.content_type,
                    width=photo.width,
                    height=photo.height,
                    alt=plain(alt)[:200],
                )
            )
        db.session.add(update)
        if percent is not None:
            project.percent_done = percent
        if project.status == ProjectStatus.NOT_STARTED:
            project.status = ProjectStatus.IN_PROGRESS
        project.last_update_at = update.created_at
        db.session.flush()
        if milestone:
            record(
                "project.milestone",
                actor=user,
                role="board",
                obj=project,
                neighbourhood=project.neighbourhood_id,
                after={"percentage": percent},
            )
            db.session.flush()  # every constraint checked here, while the files can still go
    except BaseException:
        for name in stored:
            images.delete(directory, name)
        raise
    return update
