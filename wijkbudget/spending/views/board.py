"""The board's decisions: the expenses that wait for four eyes (approve, reject, turn back) and
a project's money and status (extra money, the penvoerder, closing). Each runs one operation
through ``actions.run_action``; a refusal shows the project page again, read afresh, with the
refusal at the top in its status (403, 409, 422)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...actions import Refusal, run_action, this_route
from ...extensions import paginate
from ...guards import board_required
from ...neighbourhoods.models import Neighbourhood
from .. import operations, queries
from ..forms import CloseProjectForm, ReallocateForm, RejectForm, TreasurerForm
from ..models import Expense, ProjectStatus
from .common import act_on, board_expense, board_project, bp, load_project, project_page


@bp.get("/wijk/<slug>/bestuur/uitgaven")
@board_required
def pending(wijk: Neighbourhood) -> Any:
    page = paginate(queries.pending_for_board(wijk))
    return render_template(
        "spending/pending.html",
        wijk=wijk,
        page=page,
        reject_form=RejectForm(formdata=None),
        refusals={e.id: e.approval_refusal(current_user) for e in page.items},
    )


# --- expenses -----------------------------------------------------------------------------------


def _after_decision(wijk: Neighbourhood, expense: Expense) -> str:
    """Back where the decision was taken: the project page or the list of waiting expenses."""
    if request.form.get("next") == "project":
        return url_for(".project", project_id=expense.project_id)
    return url_for(".pending", slug=wijk.slug)


def _decision_refused(project_id: int, refusal: Refusal, form: RejectForm | None = None) -> Any:
    """The project page, read afresh, with the refusal at the top: the operation's, or the
    reason's own problem (422)."""
    if refusal.message is None and form is not None:
        error = form.reason.errors[0] if form.reason.errors else None
        return project_page(load_project(project_id), 422, action_error=error)
    return project_page(load_project(project_id), refusal.status, action_error=refusal.message)


@bp.post("/wijk/<slug>/bestuur/uitgaven/<int:expense_id>/goedkeuren")
@board_required
def approve(wijk: Neighbourhood, expense_id: int) -> Any:
    expense = board_expense(wijk, expense_id)
    project_id = expense.project_id
    return run_action(
        lambda: operations.approve_expense(current_user, expense),
        done=_("De uitgave is goedgekeurd en staat in het grootboek."),
        to=lambda _entry: _after_decision(wijk, expense),
        again=lambda refusal: _decision_refused(project_id, refusal),
    )


#: the decisions on an expense that take a reason, by endpoint: the operation and what is said
#: when it is done
_WITH_REASON = {
    "reject": (operations.reject_expense, _l("De uitgave is afgewezen.")),
    "reverse": (
        operations.reverse_expense,
        _l("De uitgave is teruggedraaid met een correctie in het grootboek."),
    ),
}


@bp.post("/wijk/<slug>/bestuur/uitgaven/<int:expense_id>/afwijzen", endpoint="reject")
@bp.post("/wijk/<slug>/bestuur/uitgaven/<int:expense_id>/terugdraaien", endpoint="reverse")
@board_required
def decide_with_reason(wijk: Neighbourhood, expense_id: int) -> Any:
    """Reject a waiting expense, or turn back an approved one (a correction in the ledger)."""
    expense = board_expense(wijk, expense_id)
    project_id = expense.project_id
    operation, done = this_route(_WITH_REASON)
    form = RejectForm()
    return run_action(
        lambda: operation(current_user, expense, form.reason.data),
        form=form,
        done=str(done),
        to=lambda _result: _after_decision(wijk, expense),
        again=lambda refusal: _decision_refused(project_id, refusal, form),
    )


# --- projects -----------------------------------------------------------------------------------


@bp.post("/wijk/<slug>/bestuur/projecten/<int:project_id>/extra-geld")
@board_required
def reallocate(wijk: Neighbourhood, project_id: int) -> Any:
    project = board_project(wijk, project_id)
    form = ReallocateForm()
    return act_on(
        project_id,
        lambda: operations.reallocate(
            current_user, project, form.amount.cents or 0, form.reason.data
        ),
        form,
        _("Het extra geld staat in het grootboek."),
    )


@bp.post("/wijk/<slug>/bestuur/projecten/<int:project_id>/afsluiten")
@board_required
def close(wijk: Neighbourhood, project_id: int) -> Any:
    project = board_project(wijk, project_id)
    form = CloseProjectForm()
    form.set_choices()
    return act_on(
        project_id,
        lambda: operations.close_project(
            current_user, project, ProjectStatus(form.status.data), form.note.data
        ),
        form,
        _("Het project is afgesloten. Wat over was, gaat terug naar de wijk."),
    )


@bp.post("/wijk/<slug>/bestuur/projecten/<int:project_id>/penvoerder")
@board_required
def treasurer(wijk: Neighbourhood, project_id: int) -> Any:
    project = board_project(wijk, project_id)
    form = TreasurerForm()
    return act_on(
        project_id,
        lambda: operations.set_treasurer(current_user, project, form.person),
        form,
        _("De penvoerder is opgeslagen."),
    )
