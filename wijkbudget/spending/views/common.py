"""What the verantwoording's views share: the blueprint, loading a project or expense (404, or
not of this wijk: 404), and the project page, to which the board's and initiators' actions on a
project go back (``act_on``), or which they show again with their form's errors or the
operation's refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, render_template, url_for
from flask_login import current_user

from ... import permissions
from ...actions import Refusal, run_action
from ...extensions import db, paginate
from ...loaders import in_wijk_or_404
from ...neighbourhoods.models import Neighbourhood
from .. import queries
from ..forms import (
    CloseProjectForm,
    PlanForm,
    ReallocateForm,
    RejectForm,
    TreasurerForm,
    UpdateForm,
)
from ..models import Expense, FundedProject

bp = Blueprint("spending", __name__)


def load_project(project_id: int) -> FundedProject:
    """The funded project, or 404."""
    project = queries.load_project(project_id)
    if project is None:
        abort(404)
    return project


def board_project(wijk: Neighbourhood, project_id: int) -> FundedProject:
    """A project of this wijk, for its board (another wijk's: 404)."""
    return in_wijk_or_404(queries.load_project(project_id), wijk)


def board_expense(wijk: Neighbourhood, expense_id: int) -> Expense:
    """An expense of this wijk, for its board (another wijk's: 404)."""
    return in_wijk_or_404(db.session.get(Expense, expense_id), wijk)


def project_page(project: FundedProject, status: int = 200, **forms: Any) -> Any:
    """The project page; ``forms`` are the forms to show as submitted (with their errors),
    ``action_error`` a refusal to show at the top."""
    page = paginate(queries.project_expenses_query(project))
    money = queries.project_money(project)
    close_form = forms.get("close_form") or CloseProjectForm(formdata=None)
    close_form.set_choices()
    is_board = project.can_manage(current_user)
    return render_template(
        "spending/project.html",
        project=project,
        wijk=project.neighbourhood,
        money=money,
        lines=queries.cost_lines(project),
        page=page,
        updates=project.updates[:20],
        status_label=queries.status_label,
        may_record=project.can_record_expense(current_user),
        may_update=project.is_initiator(current_user) and not project.is_closed,
        is_board=is_board,
        sees_private=project.can_see_private(current_user),
        update_form=forms.get("update_form") or UpdateForm(formdata=None),
        reallocate_form=forms.get("reallocate_form") or ReallocateForm(formdata=None),
        close_form=close_form,
        treasurer_form=forms.get("treasurer_form") or TreasurerForm(formdata=None),
        plan_form=forms.get("plan_form") or PlanForm(formdata=None, obj=project),
        reject_form=RejectForm(formdata=None),
        available=queries.wijk_available(project.neighbourhood) if is_board else None,
        action_error=forms.get("action_error"),
        may_read_audit=permissions.can_read_audit(current_user),
    ), status


#: the forms on the project page that an action sends, by the name the template knows each by
PAGE_FORMS = {
    "update_form": UpdateForm,
    "reallocate_form": ReallocateForm,
    "close_form": CloseProjectForm,
    "treasurer_form": TreasurerForm,
    "plan_form": PlanForm,
}


def project_again(project_id: int, refusal: Refusal, form: Any) -> Any:
    """The project page again after an action on it was refused: the form's errors (on the
    form, 422; a form that was not even submitted in time, 400), or the operation's refusal at
    the top, in its status, with the project read afresh (the use case rolled back)."""
    project = load_project(project_id)
    if refusal.message is None:
        sent = {name: form for name, form_class in PAGE_FORMS.items() if type(form) is form_class}
        return project_page(project, 422 if form.errors else 400, **sent)
    return project_page(project, refusal.status, action_error=refusal.message)


def act_on(
    project_id: int, operation: Callable[[], Any], form: Any, done: str | None = None
) -> Any:
    """Run an action on the project (``actions.run_action``, validating ``form`` first): then
    its page (303), or, refused, its page again (``project_again``)."""
    return run_action(
        operation,
        form=form,
        done=done,
        to=url_for(".project", project_id=project_id),
        again=lambda refusal: project_again(project_id, refusal, form),
    )
