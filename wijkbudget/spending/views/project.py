"""A funded project: its public page (private payees hidden), receipts and progress photos, and
what the initiators do there — recording an expense with its receipt, a progress update with
photos, the planning (which the board may set too)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ... import images as image_files
from ...actions import Refusal, run_action
from ...extensions import db
from ...forms import options
from ...guards import login_required, public
from .. import operations, receipts
from ..forms import ExpenseForm, PlanForm, UpdateForm, payee_choices
from ..models import Expense, FundedProject, PayeeType, ProgressPhoto
from .common import act_on, bp, load_project, project_page


@bp.get("/projecten/<int:project_id>")
@public
def project(project_id: int) -> Any:
    return project_page(load_project(project_id))


@bp.get("/projecten/<int:project_id>/uitgaven/<int:expense_id>/bon")
@public
def receipt(project_id: int, expense_id: int) -> Any:
    """A receipt: public, except one of a payment to a private person (404 then, so the URL
    says nothing)."""
    project = load_project(project_id)
    expense = db.session.get(Expense, expense_id)
    if (
        expense is None
        or expense.project_id != project.id
        or not expense.receipt_name
        or not expense.can_see_receipt(current_user)
    ):
        abort(404)
    path = receipts.path_of(receipts.receipt_dir(current_app), expense.receipt_name)
    return image_files.send_stored(
        path,
        expense.receipt_type or "application/octet-stream",
        private=expense.is_private,
        download_name=f"bon-{expense.id}{path.suffix}",
    )


def _expense_form(project: FundedProject, formdata: Any = None) -> ExpenseForm:
    form = ExpenseForm(formdata=formdata)
    form.payee_type.choices = options(payee_choices())
    form.cost_line.choices = options(
        [("", _("Geen of weet ik niet"))]
        + [(str(line.id), line.description) for line in project.proposal.cost_lines]
    )
    return form


def _expense_data(form: ExpenseForm) -> operations.ExpenseData:
    """What the (validated) form says was paid."""
    return operations.ExpenseData(
        spent_on=form.spent_on.data,
        amount_cents=form.amount.cents or 0,
        vat_cents=form.vat.cents,
        payee=form.payee.data,
        payee_type=PayeeType(form.payee_type.data),
        description=form.description.data,
        cost_line_id=int(form.cost_line.data) if form.cost_line.data else None,
    )


def _expense_page(project: FundedProject, form: ExpenseForm, refusal: Refusal | None = None) -> Any:
    """The expense form; again with its errors (422, or 400 with a word when it had expired) or
    the operation's refusal in its status, the project read afresh."""
    error, status = None, 200
    if refusal is not None and refusal.message is not None:
        project = load_project(project.id)
        error, status = refusal.message, refusal.status
    elif refusal is not None:
        status = 422 if form.errors else 400
        if not form.errors:
            error = _("Het formulier was verlopen. Probeer het opnieuw.")
    return render_template(
        "spending/expense_form.html", project=project, form=form, error=error
    ), status


@bp.route("/projecten/<int:project_id>/uitgaven/nieuw", methods=["GET", "POST"])
@login_required
def new_expense(project_id: int) -> Any:
    project = load_project(project_id)
    if not project.is_initiator(current_user):
        abort(403)
    if request.method == "GET":
        return _expense_page(project, _expense_form(project))
    form = _expense_form(project, formdata=request.form)
    form.receipt.data = request.files.get("receipt")
    return run_action(
        lambda: operations.record_expense(
            current_user, project, _expense_data(form), form.receipt.data
        ),
        form=form,
        done=_("De uitgave is ingevoerd. Een bestuurslid keurt hem goed."),
        to=url_for(".project", project_id=project.id),
        again=lambda refusal: _expense_page(project, form, refusal),
    )


@bp.post("/projecten/<int:project_id>/voortgang")
@login_required
def add_update(project_id: int) -> Any:
    project = load_project(project_id)
    if not project.can_post_update(current_user):
        abort(403)
    form = UpdateForm()
    return act_on(
        project_id,
        lambda: operations.add_update(
            current_user,
            project,
            form.body.data,
            form.percent.data,
            photos=request.files.getlist("photos"),
            alt=form.alt.data or "",
        ),
        form,
        _("Het bericht staat op de projectpagina."),
    )


@bp.get("/projecten/<int:project_id>/fotos/<int:photo_id>")
@public
def photo(project_id: int, photo_id: int) -> Any:
    found = db.session.get(ProgressPhoto, photo_id)
    if found is None or found.update.project_id != project_id:
        abort(404)
    path = image_files.upload_dir(current_app) / found.filename
    return image_files.send_stored(path, found.content_type)


@bp.post("/projecten/<int:project_id>/planning")
@login_required
def plan(project_id: int) -> Any:
    project = load_project(project_id)
    if not (project.is_initiator(current_user) or project.can_manage(current_user)):
        abort(403)
    form = PlanForm()
    return act_on(
        project_id,
        lambda: operations.set_plan(
            current_user, project, form.planned_start.data, form.planned_end.data
        ),
        form,
    )
