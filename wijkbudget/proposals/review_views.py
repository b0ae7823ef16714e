"""The board's review of proposals: the queue, and the decisions (admit, reject, ask for
changes, estimate the cost, mark a duplicate). Routes on the proposals' blueprint
(``pages.bp``; ``views`` imports this module so they are there when the app registers it).
Each decision runs through ``pages.act_on``; a refusal shows the proposal's page again with the
board's form and its message. Admitting and asking for changes differ only in what they do:
one view serves both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from flask import render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..actions import this_route
from ..extensions import paginate
from ..forms import database_id, options
from ..guards import board_required
from ..loaders import in_wijk_or_404, load_round
from ..neighbourhoods.models import Neighbourhood
from . import operations, queries
from .forms import ChangesForm, DecisionForm, DuplicateForm, EstimateForm, RejectForm
from .models import Action, Proposal
from .pages import act_on, bp, guard, load


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


class _WithMessage(NamedTuple):
    """A decision that takes only a public message."""

    action: Action
    form: type[DecisionForm] | type[ChangesForm]
    operation: Callable[[Any, Proposal, str], object]
    done: Any  # what is said when it is done (a lazy text)


_WITH_MESSAGE = {
    "admit": _WithMessage(
        Action.ADMIT,
        DecisionForm,
        operations.admit,
        # (not "op het stembiljet": the support threshold can still drop it before voting)
        _l("Het voorstel is toegelaten. De indieners krijgen bericht."),
    ),
    "request_changes": _WithMessage(
        Action.REQUEST_CHANGES,
        ChangesForm,
        operations.request_changes,
        _l("De indieners kunnen hun voorstel nu aanpassen."),
    ),
}


@bp.post("/wijk/<slug>/bestuur/voorstellen/<int:proposal_id>/toelaten", endpoint="admit")
@bp.post(
    "/wijk/<slug>/bestuur/voorstellen/<int:proposal_id>/aanpassing", endpoint="request_changes"
)
@board_required
def decide_with_message(wijk: Neighbourhood, proposal_id: int) -> Any:
    """Admit the proposal to the ballot, or ask its authors for changes."""
    decision = this_route(_WITH_MESSAGE)
    proposal = _decision(wijk, proposal_id, decision.action)
    form = decision.form()
    return act_on(
        proposal_id,
        lambda: decision.operation(current_user, proposal, form.message.data or ""),
        str(decision.done),
        form,
    )


@bp.post("/wijk/<slug>/bestuur/voorstellen/<int:proposal_id>/afwijzen")
@board_required
def reject(wijk: Neighbourhood, proposal_id: int) -> Any:
    proposal = _decision(wijk, proposal_id, Action.REJECT)
    form = RejectForm()
    form.criteria.choices = options([(c.id, c.text) for c in proposal.round.criteria])
    return act_on(
        proposal_id,
        lambda: operations.reject(
            current_user, proposal, list(form.criteria.data or []), form.message.data or ""
        ),
        _("Het voorstel is afgewezen. De indieners krijgen bericht."),
        form,
    )


@bp.post("/wijk/<slug>/bestuur/voorstellen/<int:proposal_id>/kosten")
@board_required
def estimate(wijk: Neighbourhood, proposal_id: int) -> Any:
    proposal = _decision(wijk, proposal_id, Action.ESTIMATE)
    form = EstimateForm()
    return act_on(
        proposal_id,
        lambda: operations.set_estimate(
            current_user, proposal, form.amount.cents, form.note.data or ""
        ),
        _("De schatting van het bestuur is opgeslagen."),
        form,
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

    return act_on(proposal_id, mark, _("Opgeslagen."), form)
