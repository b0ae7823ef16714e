"""The board's decisions: the expenses that wait for four eyes (approve, reject, turn back) and
a project's money and status (extra money, the penvoerder, closing). Each runs one operation
through ``actions.run_action``; a refusal shows the project page again, read afresh, with the
refusal at the top in its status (403, 409, 422)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...actions import Refusal, run_action
from ...extensions import paginate
from ...guards import board_required
from ...neighbourhoods.models import Neighbourhood
from .. import operations, queries
from ..forms import CloseProjectForm, ReallocateForm, RejectForm, TreasurerForm
from ..models import Expense, ProjectStatus
from .common import board_expense, board_project, bp, load_project, project_again, project_page


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


@bp.post("/wijk/<slug>/bestuur/uitgaven/<int:expense_id>/afwijzen")
@board_required
def reject(wijk: Neighbourhood, expense_id: int) -> Any:
    expense = board_expense(wijk, expense_id)
    project_id = expense.project_id
    form = RejectForm()
    return run_action(
        lambda: operations.reject_expense(current_user, expense, form.reason.data),
        form=form,
        done=_("De uitgave is afgewezen."),
        to=lambda _none: _after_decision(wijk, expense),
        again=lambda refusal: _decision_refused(project_id, refusal, form),
    )


@bp.post("/wijk/<slug>/bestuur/uitgaven/<int:expense_id>/terugdraaien")
@board_required
def reverse(wijk: Neighbourhood, expense_id: int) -> Any:
    expense = board_expense(wijk, expense_id)
    project_id = expense.project_id
    form = RejectForm()
    return run_action(
        lambda: operations.reverse_expense(current_user, expense, form.reason.data),
        form=form,
        done=_("De uitgave is teruggedraaid met een correctie in het grootboek."),
        to=lambda _entry: _after_decision(wijk, expense),
        again=lambda refusal: _decision_refused(project_id, refusal, form),
    )


# --- projects -----------------------------------------------------------------------------------


@bp.post("/wijk/<slug>/bestuur/projecten/<int:project_id>/extra-geld")
@board_required
def reallocate(wijk: Neighbourhood, project_id: int) -> Any:
    project = board_project(wijk, project_id)
    form = ReallocateForm()
    return run_action(
        lambda: operations.reallocate(
            current_user, project, form.amount.cents or 0, form.reason.data
        ),
        form=form,
        done=_("Het extra geld staat in het grootboek."),
        to=url_for(".project", project_id=project_id),
        again=lambda refusal: project_again(project_id, refusal, "reallocate_form", form),
    )


@bp.post("/wijk/<slug>/bestuur/projecten/<int:project_id>/afsluiten")
@board_required
def close(wijk: Neighbourhood, project_id: int) -> Any:
    project = board_project(wijk, project_id)
    form = CloseProjectForm()
    form.set_choices()
    return run_action(
        lambda: operations.close_project(
            current_user, project, ProjectStatus(form.status.data), form.note.data
        ),
        form=form,
        done=_("Het project is afgesloten. Wat over was, gaat terug naar de wijk."),
        to=url_for(".project", project_id=project_id),
        again=lambda refusal: project_again(project_id, refusal, "close_form", form),
    )


@bp.post("/wijk/<slug>/bestuur/projecten/<int:project_id>/penvoerder")
@board_required
def treasurer(wijk: Neighbourhood, project_id: int) -> Any:
    project = board_project(wijk, project_id)
    form = TreasurerForm()
    return run_action(
        lambda: operations.set_treasurer(current_user, project, form.person),
        form=form,
        done=_("De penvoerder is opgeslagen."),
        to=url_for(".project", project_id=project_id),
        again=lambda refusal: project_again(project_id, refusal, "treasurer_form", form),
    )
