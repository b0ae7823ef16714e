"""The board's review of proposals: the queue, and the decisions (admit, reject, ask for
changes, estimate the cost, mark a duplicate). Routes on the proposals' blueprint
(``pages.bp``; ``views`` imports this module so they are there when the app registers it).
Each decision runs through ``actions.run_action``; a refusal shows the proposal's page again
with the board's form and its message."""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..actions import run_action
from ..extensions import paginate
from ..forms import database_id, options
from ..guards import board_required
from ..loaders import in_wijk_or_404, load_round
from ..neighbourhoods.models import Neighbourhood
from . import operations, queries
from .forms import ChangesForm, DecisionForm, DuplicateForm, EstimateForm, RejectForm
from .models import Action, Proposal
from .pages import bp, guard, load, show_again


@bp.get("/wijk/<slug>/bestuur/rondes/<int:round_id>/toetsing")
@board_required
def review(wijk: Neighbourhood, round_id: int) -> str:
    rnd = load_round(wijk, round_id)
    page = paginate(queries.review_queue(rnd))
    return render_template("proposals/review.html", wijk=wijk, rnd=rnd, page=page)


def _decision(wijk: Neighbourhood, proposal_id: int, action: Action) -> Proposal:
    """The proposal of this wijk (404 otherwise), for a board member who may decide (403)."""
    proposal = in_wijk_or_404(load(proposal_id), wijk)
    guard(proposal, action)
    return proposal


@bp.post("/wijk/<slug>/bestuur/voorstellen/<int:proposal_id>/toelaten")
@board_required
def admit(wijk: Neighbourhood, proposal_id: int) -> Any:
    proposal = _decision(wijk, proposal_id, Action.ADMIT)
    form = DecisionForm()
    return run_action(
        lambda: operations.admit(current_user, proposal, form.message.data or ""),
        form=form,
        done=_("Het voorstel staat op het stembiljet."),
        to=url_for(".show", proposal_id=proposal_id),
        again=lambda refusal: show_again(proposal_id, refusal, decision_form=form),
    )


@bp.post("/wijk/<slug>/bestuur/voorstellen/<int:proposal_id>/afwijzen")
@board_required
def reject(wijk: Neighbourhood, proposal_id: int) -> Any:
    proposal = _decision(wijk, proposal_id, Action.REJECT)
    form = RejectForm()
    form.criteria.choices = options([(c.id, c.text) for c in proposal.round.criteria])
    return run_action(
        lambda: operations.reject(
            current_user, proposal, list(form.criteria.data or []), form.message.data or ""
        ),
        form=form,
        done=_("Het voorstel is afgewezen. De indieners krijgen bericht."),
        to=url_for(".show", proposal_id=proposal_id),
        again=lambda refusal: show_again(proposal_id, refusal, reject_form=form),
    )


@bp.post("/wijk/<slug>/bestuur/voorstellen/<int:proposal_id>/aanpassing")
@board_required
def request_changes(wijk: Neighbourhood, proposal_id: int) -> Any:
    proposal = _decision(wijk, proposal_id, Action.REQUEST_CHANGES)
    form = ChangesForm()
    return run_action(
        lambda: operations.request_changes(current_user, proposal, form.message.data or ""),
        form=form,
        done=_("De indieners kunnen hun voorstel nu aanpassen."),
        to=url_for(".show", proposal_id=proposal_id),
        again=lambda refusal: show_again(proposal_id, refusal, changes_form=form),
    )


@bp.post("/wijk/<slug>/bestuur/voorstellen/<int:proposal_id>/kosten")
@board_required
def estimate(wijk: Neighbourhood, proposal_id: int) -> Any:
    proposal = _decision(wijk, proposal_id, Action.ESTIMATE)
    form = EstimateForm()
    return run_action(
        lambda: operations.set_estimate(
            current_user, proposal, form.amount.cents, form.note.data or ""
        ),
        form=form,
        done=_("De schatting van het bestuur is opgeslagen."),
        to=url_for(".show", proposal_id=proposal_id),
        again=lambda refusal: show_again(proposal_id, refusal, estimate_form=form),
    )


@bp.post("/wijk/<slug>/bestuur/voorstellen/<int:proposal_id>/dubbel")
@board_required
def duplicate(wijk: Neighbourhood, proposal_id: int) -> Any:
    proposal = _decision(wijk, proposal_id, Action.MARK_DUPLICATE)
    form = DuplicateForm()

    def mark() -> None:
        text = (form.original.data or "").strip().lstrip("#")
        original_id = database_id(text)
        original = queries.load_proposal(original_id) if original_id is not None else None
        if text and (original is None or original.neighbourhood_id != wijk.id):
            raise operations.ProposalError(_("Er is geen voorstel met dat nummer in deze ronde."))
        operations.mark_duplicate(current_user, proposal, original, form.note.data or "")

    return run_action(
        mark,
        form=form,
        done=_("Opgeslagen."),
        to=url_for(".show", proposal_id=proposal_id),
        again=lambda refusal: show_again(proposal_id, refusal, duplicate_form=form),
    )
