"""Paper: the board's paper batches (begun with the count sheet, entered sheet by sheet, a sheet
struck out with a reason, confirmed by a second board member — with a reason when the count
differs — or discarded with a reason), and the paper kit: the ballot sheet and the proposal
booklet, as a page to print and as a PDF, public during the vote (the board sees them before,
to print them in time). Each POST runs one operation through ``actions.run_action``; the page
comes again with the refusal in its status, and with what was typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Response, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ... import images, permissions
from ...actions import Refusal, run_action
from ...extensions import db
from ...forms import BaseForm
from ...guards import board_required, public
from ...loaders import load_round, load_wijk_round
from ...neighbourhoods.models import Neighbourhood
from ...rounds.models import Phase, Round
from .. import operations, paperkit, queries
from ..forms import (
    ConfirmBatchForm,
    DiscardBatchForm,
    PaperBatchForm,
    SheetForm,
    StrikeSheetForm,
    read_ballot,
)
from ..models import AlreadyVoted, PaperBatch
from .blueprint import bp
from .common import form_token, refusal_message, sent_token

# --- the board: paper batches --------------------------------------------------------------------


def _paper_page(
    wijk: Neighbourhood, rnd: Round, error: str | None = None, status: int = 200
) -> Any:
    return render_template(
        "voting/paper.html",
        wijk=wijk,
        rnd=rnd,
        batches=queries.paper_batches(rnd),
        error=error,
        form_token=form_token(),
    ), status


@bp.route("/wijk/<slug>/bestuur/rondes/<int:round_id>/papier", methods=["GET", "POST"])
@board_required
def paper(wijk: Neighbourhood, round_id: int) -> Any:
    rnd = load_round(wijk, round_id)
    if request.method == "GET":
        return _paper_page(wijk, rnd)
    form = PaperBatchForm()
    return run_action(
        lambda: operations.open_paper_batch(
            current_user,
            rnd,
            form.label.data or "",
            form.declared.data or 0,
            form_token=sent_token(),
        ),
        form=form,
        to=lambda batch: url_for(
            ".paper_batch", slug=wijk.slug, round_id=round_id, batch_id=batch.id
        ),
        # as it is now (the use case rolled back)
        again=lambda refusal: _paper_page(
            wijk, load_round(wijk, round_id), refusal_message(refusal, form), refusal.status
        ),
    )


@dataclass
class _Typed:
    """What the board member typed into the form that was refused, to show it again: which
    form (``action``), the sheet's number for a strike, the reason."""

    action: str = ""
    number: int | None = None
    reason: str = ""
    values: dict[str, str] = field(default_factory=dict)


def _paper_batch_page(
    wijk: Neighbourhood,
    rnd: Round,
    batch: PaperBatch,
    error: str | None = None,
    status: int = 200,
    typed: _Typed | None = None,
) -> Any:
    sheets = queries.paper_sheets(batch)
    entered = queries.sheets_entered(batch)
    return render_template(
        "voting/paper_batch.html",
        wijk=wijk,
        rnd=rnd,
        batch=batch,
        error=error,
        typed=typed or _Typed(),
        entered=entered,
        mismatch=entered != batch.declared_count,
        sheets=sheets,
        struck=[s for s in sheets if s.struck_at is not None],
        four_eyes=operations.four_eyes_refusal(current_user, batch) if batch.is_open else None,
        conflicts=queries.paper_conflicts(batch),
        proposals=queries.ballot_proposals(rnd),
    ), status


def _paper_batch(rnd: Round, batch_id: int) -> PaperBatch:
    batch = db.session.get(PaperBatch, batch_id)
    if batch is None or batch.round_id != rnd.id:
        abort(404)
    return batch


@bp.route(
    "/wijk/<slug>/bestuur/rondes/<int:round_id>/papier/<int:batch_id>", methods=["GET", "POST"]
)
@board_required
def paper_batch(wijk: Neighbourhood, round_id: int, batch_id: int) -> Any:
    """The batch: enter a sheet (``action=sheet``, the default), strike one out (``strike``),
    confirm the batch (``confirm``) or discard it (``discard``)."""
    rnd = load_round(wijk, round_id)
    batch = _paper_batch(rnd, batch_id)
    if request.method == "GET":
        return _paper_batch_page(wijk, rnd, batch)
    here = url_for(".paper_batch", slug=wijk.slug, round_id=round_id, batch_id=batch_id)
    action = request.form.get("action", "sheet")

    def again(form: BaseForm, typed: _Typed) -> Any:
        def page(refusal: Refusal) -> Any:
            # as they are now (the use case rolled back)
            now = load_round(wijk, round_id)
            return _paper_batch_page(
                wijk,
                now,
                _paper_batch(now, batch_id),
                refusal_message(refusal, form),
                refusal.status,
                typed,
            )

        return page

    if action == "strike":
        strike = StrikeSheetForm()
        number = strike.number.data if isinstance(strike.number.data, int) else None
        return run_action(
            lambda: operations.strike_sheet(
                current_user, rnd, batch, number or 0, strike.reason.data or ""
            ),
            form=strike,
            done=lambda done: (
                _(
                    "Stembiljet %(n)d is doorgestreept. Het telt niet mee; de stemcode of het "
                    "account kan opnieuw stemmen.",
                    n=number or 0,
                )
                if done
                else _("Stembiljet %(n)d was al doorgestreept.", n=number or 0)
            ),
            to=here,
            again=again(strike, _Typed("strike", number, strike.reason.data or "")),
        )
    if action == "confirm":
        confirm = ConfirmBatchForm()
        return run_action(
            lambda: operations.confirm_paper_batch(
                current_user, rnd, batch, reason=confirm.reason.data or None
            ),
            form=confirm,
            done=_("De stapel is bevestigd en telt mee."),
            to=here,
            again=again(confirm, _Typed("confirm", reason=confirm.reason.data or "")),
        )
    if action == "discard":
        discard = DiscardBatchForm()
        return run_action(
            lambda: operations.discard_paper_batch(
                current_user, rnd, batch, discard.reason.data or ""
            ),
            form=discard,
            done=_("De stapel is weggegooid; niets ervan telt."),
            to=here,
            again=again(discard, _Typed("discard", reason=discard.reason.data or "")),
        )

    sheet = SheetForm()

    def enter() -> None:
        try:
            operations.enter_sheet(
                current_user,
                rnd,
                batch,
                sheet.identifier.data or "",
                read_ballot(rnd, request.form.items(multi=True)),
            )
        except AlreadyVoted:
            # the sheet was not entered; the conflict itself is kept for the board
            operations.record_paper_conflict(current_user, rnd, batch)
            raise

    return run_action(
        enter,
        form=sheet,
        done=_("Het stembiljet is ingevoerd."),
        to=here,
        again=again(sheet, _Typed("sheet", values={"identifier": sheet.identifier.data or ""})),
    )


# --- the paper kit: the ballot sheet and the proposal booklet -------------------------------------


def _kit_round(slug: str, round_id: int) -> tuple[Neighbourhood, Round]:
    """The round whose kit is asked for: for everyone while it is in voting; for its board
    also before (to print the sheets in time) and after. Otherwise 404."""
    wijk, rnd = load_wijk_round(slug, round_id)
    if rnd.phase != Phase.VOTING and not permissions.is_board(current_user, wijk):
        abort(404)
    return wijk, rnd


def _pdf(data: bytes, name: str) -> Response:
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/wijk/<slug>/rondes/<int:round_id>/papieren-stembiljet")
@public
def kit_ballot(slug: str, round_id: int) -> Any:
    """The ballot sheet as a page to print (its print stylesheet leaves only the sheet)."""
    wijk, rnd = _kit_round(slug, round_id)
    places = queries.voting_places(rnd)
    return render_template(
        "voting/kit_ballot.html",
        wijk=wijk,
        rnd=rnd,
        proposals=queries.ballot_proposals(rnd),
        instructions=paperkit.instructions(rnd),
        identifier_label=paperkit.identifier_label(rnd),
        hand_in=paperkit.hand_in(rnd, wijk, bool(places)),
        places=paperkit.places(places),
        is_board=permissions.is_board(current_user, wijk),
    )


@bp.get("/wijk/<slug>/rondes/<int:round_id>/papieren-stembiljet.pdf")
@public
def kit_ballot_pdf(slug: str, round_id: int) -> Any:
    wijk, rnd = _kit_round(slug, round_id)
    data = paperkit.ballot_sheet_pdf(
        rnd, wijk, queries.ballot_proposals(rnd), queries.voting_places(rnd)
    )
    return _pdf(data, paperkit.file_name("stembiljet", wijk, rnd))


@bp.get("/wijk/<slug>/rondes/<int:round_id>/voorstellenboekje")
@public
def kit_booklet(slug: str, round_id: int) -> Any:
    """The proposal booklet as a page to print (a page per proposal)."""
    wijk, rnd = _kit_round(slug, round_id)
    return render_template(
        "voting/kit_booklet.html",
        wijk=wijk,
        rnd=rnd,
        proposals=queries.booklet_proposals(rnd),
        is_board=permissions.is_board(current_user, wijk),
    )


@bp.get("/wijk/<slug>/rondes/<int:round_id>/voorstellenboekje.pdf")
@public
def kit_booklet_pdf(slug: str, round_id: int) -> Any:
    wijk, rnd = _kit_round(slug, round_id)
    data = paperkit.booklet_pdf(
        rnd, wijk, queries.booklet_proposals(rnd), images.upload_dir(current_app)
    )
    return _pdf(data, paperkit.file_name("voorstellenboekje", wijk, rnd))
