"""Verantwoording pages: the wijk's money and ledger (public), a funded project with its
expenses and progress (public, private payees hidden), recording expenses (initiators), the
board's decisions, and the councillor's audit desk with its exports."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from .. import images as image_files
from .. import permissions
from ..errors import DomainError
from ..extensions import db, paginate, utcnow
from ..forms import options
from ..guards import (
    audit_reader_required,
    board_required,
    login_required,
    oversight_required,
    public,
)
from ..loaders import in_wijk_or_404, load_round, wijk_or_404
from ..neighbourhoods.models import Neighbourhood
from . import checkpoints, exports, operations, queries, receipts
from .forms import (
    CloseProjectForm,
    ExpenseForm,
    PlanForm,
    ReallocateForm,
    RejectForm,
    TreasurerForm,
    UpdateForm,
    payee_choices,
)
from .models import (
    Expense,
    ExpenseState,
    FundedProject,
    PayeeType,
    ProgressPhoto,
    ProjectStatus,
)

bp = Blueprint("spending", __name__)


# --- loading ------------------------------------------------------------------------------------


def _project(project_id: int) -> FundedProject:
    project = queries.load_project(project_id)
    if project is None:
        abort(404)
    return project


def _board_project(wijk: Neighbourhood, project_id: int) -> FundedProject:
    return in_wijk_or_404(queries.load_project(project_id), wijk)


def _board_expense(wijk: Neighbourhood, expense_id: int) -> Expense:
    return in_wijk_or_404(db.session.get(Expense, expense_id), wijk)


# --- the wijk's money and ledger ---------------------------------------------------------------


@bp.get("/wijk/<slug>/geld")
@public
def wijk_money(slug: str) -> Any:
    wijk = wijk_or_404(slug)
    overview = queries.wijk_overview(wijk)
    page = paginate(queries.projects_query(wijk))
    money = queries.money_by_project([p.id for p in page.items])
    return render_template(
        "spending/wijk.html",
        wijk=wijk,
        overview=overview,
        page=page,
        money=money,
        ledger_state=checkpoints.ledger_state(wijk, checkpoints.stored(wijk.id)),
        available=queries.wijk_available(wijk),
        status_label=queries.status_label,
    )


@bp.get("/wijk/<slug>/geld/grootboek")
@public
def ledger(slug: str) -> Any:
    wijk = wijk_or_404(slug)
    page = paginate(queries.ledger_query(wijk))
    return render_template(
        "spending/ledger.html",
        wijk=wijk,
        page=page,
        ledger_state=checkpoints.ledger_state(wijk, checkpoints.stored(wijk.id)),
        kind_label=queries.entry_kind_label,
    )


@bp.get("/grootboek/controlepunten")
@public
def checkpoints_page() -> Any:
    """For councillors (and anyone): what a checkpoint is, how to keep and check it."""
    return render_template(
        "spending/checkpoints.html",
        wijken=list(db.session.scalars(select(Neighbourhood).order_by(Neighbourhood.name))),
        latest=checkpoints.latest,
        key_id=checkpoints.key_id(checkpoints.verify_key()),
        public_key=checkpoints.public_key_hex(),
    )


@bp.get("/grootboek/controlepunten.json")
@public
def checkpoints_file() -> Response:
    """Every stored checkpoint with the public key, as one file to keep and check against."""
    document = checkpoints.export_document(checkpoints.stored())
    response = current_app.response_class(
        json.dumps(document, indent=1, ensure_ascii=False) + "\n", mimetype="application/json"
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="controlepunten-{utcnow():%Y-%m-%d}.json"'
    )
    return response


@bp.get("/wijk/<slug>/geld/<any(projecten,uitgaven,grootboek):what>.<any(csv,xlsx):fmt>")
@public
def export(slug: str, what: str, fmt: str) -> Response:
    """Public exports: what is public on the pages (private payees as "particulier")."""
    wijk = wijk_or_404(slug)
    return _export(wijk, what, fmt, private=False)


@bp.get("/wijk/<slug>/controle/<any(projecten,uitgaven,grootboek):what>.<any(csv,xlsx):fmt>")
@oversight_required
def export_full(wijk: Neighbourhood, what: str, fmt: str) -> Response:
    """The same for the board and councillors, with the names of private payees."""
    return _export(wijk, what, fmt, private=True)


def _export(wijk: Neighbourhood, what: str, fmt: str, *, private: bool) -> Response:
    header, rows = exports.table(wijk, what, private=private)
    name = f"{what}-{wijk.slug}.{fmt}"
    if fmt == "csv":
        body, mimetype = exports.to_csv(header, rows), "text/csv; charset=utf-8"
    else:
        body = exports.to_xlsx(what, header, rows)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.get("/wijk/<slug>/geld/subsidies.json")
@public
def grants_json(slug: str) -> Response:
    wijk = wijk_or_404(slug)
    return Response(
        exports.grants_360(wijk),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="subsidies-{wijk.slug}.json"'},
    )


@bp.get("/wijk/<slug>/rondes/<int:round_id>/samenvatting")
@public
def summary(slug: str, round_id: int) -> Any:
    """One screen (and one printed page) to share: budget, turnout, proposals, funded, spent."""
    wijk = wijk_or_404(slug)
    rnd = load_round(wijk, round_id)
    return render_template(
        "spending/summary.html", wijk=wijk, rnd=rnd, s=queries.round_summary(rnd)
    )


# --- one project --------------------------------------------------------------------------------


def _project_page(project: FundedProject, status: int = 200, **forms: Any) -> Any:
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


@bp.get("/projecten/<int:project_id>")
@public
def project(project_id: int) -> Any:
    return _project_page(_project(project_id))


@bp.get("/projecten/<int:project_id>/uitgaven/<int:expense_id>/bon")
@public
def receipt(project_id: int, expense_id: int) -> Any:
    """A receipt: public, except one of a payment to a private person (404 then, so the URL
    says nothing)."""
    project = _project(project_id)
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


@bp.route("/projecten/<int:project_id>/uitgaven/nieuw", methods=["GET", "POST"])
@login_required
def new_expense(project_id: int) -> Any:
    project = _project(project_id)
    if not project.is_initiator(current_user):
        abort(403)
    form = _expense_form(project, formdata=request.form if request.method == "POST" else None)
    if request.method == "POST":
        form.receipt.data = request.files.get("receipt")
    error, status = None, 200
    if form.validate_on_submit():
        data = operations.ExpenseData(
            spent_on=form.spent_on.data,
            amount_cents=form.amount.cents or 0,
            vat_cents=form.vat.cents,
            payee=form.payee.data,
            payee_type=PayeeType(form.payee_type.data),
            description=form.description.data,
            cost_line_id=int(form.cost_line.data) if form.cost_line.data else None,
        )
        try:
            operations.record_expense(current_user, project, data, form.receipt.data)
        except DomainError as exc:
            error, status = exc.message, exc.status
            project = _project(project_id)
        else:
            flash(_("De uitgave is ingevoerd. Een bestuurslid keurt hem goed."), "success")
            return redirect(url_for(".project", project_id=project.id), 303)
    elif form.is_submitted():
        status = 422 if form.errors else 400
        if not form.errors:
            error = _("Het formulier was verlopen. Probeer het opnieuw.")
    return render_template(
        "spending/expense_form.html", project=project, form=form, error=error
    ), status


@bp.post("/projecten/<int:project_id>/voortgang")
@login_required
def add_update(project_id: int) -> Any:
    project = _project(project_id)
    if not project.can_post_update(current_user):
        abort(403)
    form = UpdateForm()
    if not form.validate_on_submit():
        return _project_page(project, 422 if form.errors else 400, update_form=form)
    try:
        operations.add_update(
            current_user,
            project,
            form.body.data,
            form.percent.data,
            photos=request.files.getlist("photos"),
            alt=form.alt.data or "",
        )
    except DomainError as exc:
        return _project_page(_project(project_id), exc.status, action_error=exc.message)
    flash(_("Het bericht staat op de projectpagina."), "success")
    return redirect(url_for(".project", project_id=project.id), 303)


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
    project = _project(project_id)
    if not (project.is_initiator(current_user) or project.can_manage(current_user)):
        abort(403)
    form = PlanForm()
    if not form.validate_on_submit():
        return _project_page(project, 422 if form.errors else 400, plan_form=form)
    try:
        operations.set_plan(current_user, project, form.planned_start.data, form.planned_end.data)
    except DomainError as exc:
        return _project_page(_project(project_id), exc.status, action_error=exc.message)
    return redirect(url_for(".project", project_id=project.id), 303)


# --- the board ------------------------------------------------------------------------------------


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


def _after_board_action(wijk: Neighbourhood, expense: Expense) -> Any:
    target = request.form.get("next") == "project"
    if target:
        return redirect(url_for(".project", project_id=expense.project_id), 303)
    return redirect(url_for(".pending", slug=wijk.slug), 303)


def _board_error(project_id: int, exc: DomainError) -> Any:
    """The operation said no (and its use case rolled back): the project page, read afresh,
    with the refusal at the top and its status (403, 409, 422)."""
    return _project_page(_project(project_id), exc.status, action_error=exc.message)


@bp.post("/wijk/<slug>/bestuur/uitgaven/<int:expense_id>/goedkeuren")
@board_required
def approve(wijk: Neighbourhood, expense_id: int) -> Any:
    expense = _board_expense(wijk, expense_id)
    project_id = expense.project_id
    try:
        operations.approve_expense(current_user, expense)
    except DomainError as exc:
        return _board_error(project_id, exc)
    flash(_("De uitgave is goedgekeurd en staat in het grootboek."), "success")
    return _after_board_action(wijk, expense)


def _with_reason(wijk: Neighbourhood, expense_id: int, decide: Any, done: str) -> Any:
    """A board decision on an expense that needs a reason (reject, turn back)."""
    expense = _board_expense(wijk, expense_id)
    form = RejectForm()
    if not form.validate_on_submit():
        error = form.reason.errors[0] if form.reason.errors else None
        return _project_page(expense.project, 422, action_error=error)
    project_id = expense.project_id
    try:
        decide(current_user, expense, form.reason.data)
    except DomainError as exc:
        return _board_error(project_id, exc)
    flash(done, "success")
    return _after_board_action(wijk, expense)


@bp.post("/wijk/<slug>/bestuur/uitgaven/<int:expense_id>/afwijzen")
@board_required
def reject(wijk: Neighbourhood, expense_id: int) -> Any:
    return _with_reason(wijk, expense_id, operations.reject_expense, _("De uitgave is afgewezen."))


@bp.post("/wijk/<slug>/bestuur/uitgaven/<int:expense_id>/terugdraaien")
@board_required
def reverse(wijk: Neighbourhood, expense_id: int) -> Any:
    return _with_reason(
        wijk,
        expense_id,
        operations.reverse_expense,
        _("De uitgave is teruggedraaid met een correctie in het grootboek."),
    )


def _project_action(
    wijk: Neighbourhood,
    project_id: int,
    form: Any,
    form_name: str,
    act: Callable[[FundedProject], None],
    done: str,
) -> Any:
    """A board action on a project: the form, the operation (its own transaction), back to the
    project (or the project page with the form's errors, or the operation's refusal at the
    top)."""
    project = _board_project(wijk, project_id)
    if not form.validate_on_submit():
        return _project_page(project, 422, **{form_name: form})
    try:
        act(project)
    except DomainError as exc:
        return _board_error(project_id, exc)
    flash(done, "success")
    return redirect(url_for(".project", project_id=project.id), 303)


@bp.post("/wijk/<slug>/bestuur/projecten/<int:project_id>/extra-geld")
@board_required
def reallocate(wijk: Neighbourhood, project_id: int) -> Any:
    form = ReallocateForm()
    return _project_action(
        wijk,
        project_id,
        form,
        "reallocate_form",
        lambda project: operations.reallocate(
            current_user, project, form.amount.cents or 0, form.reason.data
        ),
        _("Het extra geld staat in het grootboek."),
    )


@bp.post("/wijk/<slug>/bestuur/projecten/<int:project_id>/afsluiten")
@board_required
def close(wijk: Neighbourhood, project_id: int) -> Any:
    form = CloseProjectForm()
    form.set_choices()
    return _project_action(
        wijk,
        project_id,
        form,
        "close_form",
        lambda project: operations.close_project(
            current_user, project, ProjectStatus(form.status.data), form.note.data
        ),
        _("Het project is afgesloten. Wat over was, gaat terug naar de wijk."),
    )


@bp.post("/wijk/<slug>/bestuur/projecten/<int:project_id>/penvoerder")
@board_required
def treasurer(wijk: Neighbourhood, project_id: int) -> Any:
    form = TreasurerForm()
    return _project_action(
        wijk,
        project_id,
        form,
        "treasurer_form",
        lambda project: operations.set_treasurer(current_user, project, form.person),
        _("De penvoerder is opgeslagen."),
    )


# --- the councillor's audit desk ----------------------------------------------------------------


@bp.get("/wijk/<slug>/controle")
@oversight_required
def desk(wijk: Neighbourhood) -> Any:
    verification = operations.verify(wijk.id)
    return render_template(
        "spending/desk.html",
        wijk=wijk,
        overview=queries.wijk_overview(wijk),
        flags=queries.flags(wijk),
        verification=verification,
        # (the chain may be intact in itself and yet cut or recomputed: the signed checkpoints)
        ledger_state=checkpoints.ledger_state(wijk, checkpoints.stored(wijk.id)),
        may_read_audit=permissions.can_read_audit(current_user),
        pending_count=db.session.scalar(
            select(func.count(Expense.id)).where(
                Expense.neighbourhood_id == wijk.id, Expense.state == ExpenseState.PENDING
            )
        ),
    )


@bp.get("/controle")
@audit_reader_required
def desks() -> Any:
    """The councillor's start: every wijk they look at, with its money and ledger state."""
    scope = permissions.audit_scope(current_user)
    query = select(Neighbourhood).order_by(Neighbourhood.name)
    if scope is not None:
        query = query.where(Neighbourhood.id.in_(scope))
    page = paginate(query)
    rows = []
    for wijk in page.items:  # one page of wijken (PAGE_SIZE), a few queries each
        total = queries.Money()
        for r in queries.wijk_overview(wijk):
            total.add(r.money)
        verification = operations.verify(wijk.id)
        # a chain intact in itself may still be cut or recomputed: the signed checkpoints say
        extends = verification.ok and checkpoints.ledger_state(wijk, checkpoints.stored(wijk.id)).ok
        rows.append((wijk, total, verification, extends))
    return render_template("spending/desks.html", page=page, rows=rows)
