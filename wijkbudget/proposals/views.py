"""Proposal pages: the public list and page; writing, submitting and withdrawing; photos,
co-submitters and supports; the board's review queue and decisions."""

from __future__ import annotations

import secrets
import time
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import images as image_files
from ..dialogue import queries as dialogue_queries
from ..dialogue.models import Thread
from ..errors import DomainError
from ..extensions import db, paginate
from ..forms import database_id, options
from ..guards import board_required, login_required, public
from ..htmx import render_page_or_fragment
from ..loaders import in_wijk_or_404, load_round, wijk_or_404
from ..money import format_euros_input
from ..neighbourhoods.models import Neighbourhood
from ..rounds.models import Round
from . import operations, queries
from .forms import (
    COST_ROWS,
    ChangesForm,
    DecisionForm,
    DuplicateForm,
    EstimateForm,
    ImageForm,
    InviteForm,
    ListFilterForm,
    ProposalForm,
    RejectForm,
    WithdrawForm,
)
from .models import Action, Proposal, ProposalImage, State, state_label

LIST_SEEDS = 10007  # the order is (id * 7919 + seed) mod this prime (proposals.queries)

bp = Blueprint("proposals", __name__)


# --- loading and guarding -----------------------------------------------------------------------


def _load(proposal_id: int) -> Proposal:
    """A proposal this person may see (404 otherwise: a concept is not even said to exist)."""
    proposal = queries.load_proposal(proposal_id)
    if proposal is None or not proposal.can_view(current_user):
        abort(404)
    from ..rounds.queries import as_of_now

    as_of_now(proposal.round)  # the phase its dates imply, shown, not written
    return proposal


def _guard(proposal: Proposal, action: Action) -> None:
    """403 for a person who may never do this (another resident's proposal: no IDOR)."""
    if proposal.who_refusal(action, current_user) is not None:
        abort(403)


def _board_proposal(wijk: Neighbourhood, proposal_id: int) -> Proposal:
    return in_wijk_or_404(queries.load_proposal(proposal_id), wijk)


# --- the list ---------------------------------------------------------------------------------


def _filter_form(rnd: Round) -> tuple[ListFilterForm, queries.ListFilter]:
    form = ListFilterForm(request.args)
    form.category.choices = options(
        [("", _("Alle categorieën"))] + [(str(c.id), c.name) for c in rnd.categories]
    )
    form.area.choices = options(
        [("", _("Alle buurten"))] + [(str(a.id), a.name) for a in rnd.neighbourhood.areas]
    )
    form.state.choices = options(
        [("", _("Alle"))] + [(s.value, state_label(s)) for s in queries.PUBLIC_STATES]
    )
    form.sort.choices = options(
        [
            ("random", _("Willekeurig")),
            ("newest", _("Nieuwste eerst")),
            ("support", _("Meeste steun")),
            ("cost_asc", _("Goedkoopste eerst")),
            ("cost_desc", _("Duurste eerst")),
        ]
    )
    valid = form.validate()

    def number(value: str | None) -> int | None:
        return int(value) if value and value.isdigit() else None

    filters = queries.ListFilter(
        q=(form.q.data or "").strip() if valid or not form.q.errors else "",
        category_id=number(form.category.data) if not form.category.errors else None,
        area_id=number(form.area.data) if not form.area.errors else None,
        state=State(form.state.data) if form.state.data and not form.state.errors else None,
        sort=form.sort.data if form.sort.data in queries.SORTS else "random",
        seed=_list_seed(),
    )
    return form, filters


def _list_seed() -> int:
    """The random order is stable for one visitor. A visitor with a session keeps a seed of
    their own. A visitor without one (whose page may come from the page cache, and gets no
    cookie) shares the order of this hour; the page links carry it as ``seed``, so paging on
    stays in the same order when the hour turns."""
    if "list_seed" in session:
        return int(session["list_seed"])
    if current_user.is_authenticated or request.cookies:
        session["list_seed"] = secrets.randbelow(LIST_SEEDS)
        return int(session["list_seed"])
    given = request.args.get("seed", "")
    if given.isdigit() and int(given) < LIST_SEEDS:
        return int(given)
    return int(time.time() // 3600) * 7919 % LIST_SEEDS


@bp.get("/wijk/<slug>/rondes/<int:round_id>/voorstellen")
@public
def index(slug: str, round_id: int) -> Any:
    wijk = wijk_or_404(slug)
    rnd = load_round(wijk, round_id)
    form, filters = _filter_form(rnd)
    page = paginate(queries.proposal_list(rnd, filters))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    if "list_seed" not in session:
        args["seed"] = str(filters.seed)
    return render_page_or_fragment(
        "proposals/index.html",
        "proposals/_list.html",
        status=422 if form.errors else 200,
        wijk=wijk,
        rnd=rnd,
        form=form,
        page=page,
        args=args,
        supported=queries.supported_ids(current_user, [p.id for p in page.items]),
    )


@bp.get("/mijn-voorstellen")
@login_required
def mine() -> str:
    page = paginate(queries.proposals_of(current_user))
    return render_template("proposals/mine.html", page=page)


# --- one proposal -----------------------------------------------------------------------------


def _own_ids(form: Any, prefix: str) -> Any:
    """The board's forms share field names (message, note) on one page: give each field an id of
    its own, so every label, hint and error points at its own box (the posted names stay)."""
    for f in form:
        f.id = f"{prefix}-{f.name}"
        f.label.field_id = f.id
    return form


FORM_PREFIXES = {
    "decision_form": "toelaten",
    "reject_form": "afwijzen",
    "changes_form": "aanpassing",
    "estimate_form": "kosten",
    "duplicate_form": "dubbel",
}


def _action_forms(proposal: Proposal, forms: dict[str, Any]) -> dict[str, Any]:
    """The forms of the people who can act on a proposal. A visitor who is not logged in can do
    none of it and gets none (a form puts a token in the session, and the page would no longer
    come from the page cache)."""
    names = ("invite_form", "image_form", "withdraw_form", "changes_form", "duplicate_form")
    if not current_user.is_authenticated:
        return {n: None for n in (*names, "decision_form", "reject_form", "estimate_form")}
    reject_form = forms.get("reject_form") or RejectForm(formdata=None)
    reject_form.criteria.choices = options([(c.id, c.text) for c in proposal.round.criteria])
    estimate_form = forms.get("estimate_form") or EstimateForm(formdata=None)
    if "estimate_form" not in forms and proposal.board_cost_cents is not None:
        estimate_form.amount.data = format_euros_input(proposal.board_cost_cents)
        estimate_form.note.data = proposal.board_cost_note
    built = {
        "invite_form": forms.get("invite_form") or InviteForm(formdata=None),
        "image_form": forms.get("image_form") or ImageForm(formdata=None),
        "withdraw_form": forms.get("withdraw_form") or WithdrawForm(formdata=None),
        "decision_form": forms.get("decision_form") or DecisionForm(formdata=None),
        "reject_form": reject_form,
        "changes_form": forms.get("changes_form") or ChangesForm(formdata=None),
        "estimate_form": estimate_form,
        "duplicate_form": forms.get("duplicate_form") or DuplicateForm(formdata=None),
    }
    for key, prefix in FORM_PREFIXES.items():
        _own_ids(built[key], prefix)
    return built


def _show(proposal: Proposal, status: int = 200, **forms: Any) -> Any:
    context = {
        "proposal": proposal,
        "rnd": proposal.round,
        "wijk": proposal.neighbourhood,
        "supported": bool(queries.supported_ids(current_user, [proposal.id])),
        "can": {a.value: proposal.allows(a, current_user) for a in Action},
        **_action_forms(proposal, forms),
        "action_error": forms.get("action_error"),
        "thread": db.session.scalar(select(Thread).where(Thread.proposal_id == proposal.id)),
        "meetings": dialogue_queries.meetings_about(proposal.id),
        "invite_expired": operations.invite_expired,
    }
    return render_template("proposals/show.html", **context), status


@bp.get("/voorstellen/<int:proposal_id>")
@public
def show(proposal_id: int) -> Any:
    return _show(_load(proposal_id))


def _proposal_form(
    rnd: Round, proposal: Proposal | None = None, formdata: Any = None
) -> ProposalForm:
    if proposal is not None and formdata is None:
        form = ProposalForm(obj=proposal, formdata=None)
        form.category.data = str(proposal.category_id or "")
        form.area.data = str(proposal.area_id or "")
        for row, line in zip(form.cost_lines, proposal.cost_lines, strict=False):
            row.item.data = line.description
            row.amount.data = format_euros_input(line.amount_cents)
        while len(form.cost_lines) < max(COST_ROWS, len(proposal.cost_lines) + 2):
            form.cost_lines.append_entry()
            if len(form.cost_lines) <= len(proposal.cost_lines):
                line = proposal.cost_lines[len(form.cost_lines) - 1]
                form.cost_lines[-1].item.data = line.description
                form.cost_lines[-1].amount.data = format_euros_input(line.amount_cents)
    else:
        form = ProposalForm(formdata=formdata)
    form.category.choices = options(
        [("", _("Kies…"))] + [(str(c.id), c.name) for c in rnd.categories]
    )
    areas = rnd.areas or rnd.neighbourhood.areas
    form.area.choices = options(
        [("", _("De hele wijk / weet ik niet"))] + [(str(a.id), a.name) for a in areas]
    )
    return form


def _data(form: ProposalForm) -> operations.ProposalData:
    return operations.ProposalData(
        title=form.title.data or "",
        summary=form.summary.data or "",
        description=form.description.data or "",
        category_id=int(form.category.data) if (form.category.data or "").isdigit() else None,
        area_id=int(form.area.data) if (form.area.data or "").isdigit() else None,
        location=form.location.data or "",
        cost_lines=form.costs(),
    )


@bp.route("/wijk/<slug>/rondes/<int:round_id>/voorstellen/nieuw", methods=["GET", "POST"])
@login_required
def create(slug: str, round_id: int) -> Any:
    wijk = wijk_or_404(slug)
    rnd = load_round(wijk, round_id)
    refusal = rnd.proposal_refusal(current_user)
    form = _proposal_form(rnd, formdata=request.form if request.method == "POST" else None)
    status = 200
    if refusal is not None:
        status = 403 if request.method == "POST" else 200
        return render_template(
            "proposals/form.html", form=form, rnd=rnd, wijk=wijk, proposal=None, refusal=refusal
        ), status
    if request.method == "POST":
        status = 422
        if form.validate():
            try:
                proposal = operations.create_proposal(
                    current_user, rnd, _data(form), submit=request.form.get("action") == "submit"
                )
            except DomainError as error:
                form.form_errors.append(error.message)
                status = error.status
            else:
                if proposal.state == State.SUBMITTED:
                    flash(_("Je voorstel is ingediend. Het bestuur gaat het toetsen."), "success")
                else:
                    flash(_("Je voorstel is bewaard als concept. Alleen jij ziet het."), "success")
                return redirect(url_for(".show", proposal_id=proposal.id), 303)
    return render_template(
        "proposals/form.html", form=form, rnd=rnd, wijk=wijk, proposal=None, refusal=None
    ), status


@bp.route("/voorstellen/<int:proposal_id>/bewerken", methods=["GET", "POST"])
@login_required
def edit(proposal_id: int) -> Any:
    proposal = _load(proposal_id)
    _guard(proposal, Action.EDIT)
    rnd = proposal.round
    refusal = proposal.refusal(Action.EDIT, current_user)
    form = _proposal_form(
        rnd, proposal, formdata=request.form if request.method == "POST" else None
    )
    if refusal is not None:
        status = 409 if request.method == "POST" else 200
        return render_template(
            "proposals/form.html",
            form=form,
            rnd=rnd,
            wijk=proposal.neighbourhood,
            proposal=proposal,
            refusal=refusal,
        ), status
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate():
            try:
                operations.update_proposal(
                    current_user,
                    proposal,
                    _data(form),
                    submit=request.form.get("action") == "submit",
                )
            except DomainError as error:
                form.form_errors.append(error.message)
                status = error.status
                proposal = _load(proposal_id)
            else:
                flash(_("Je wijzigingen zijn bewaard."), "success")
                return redirect(url_for(".show", proposal_id=proposal.id), 303)
    return render_template(
        "proposals/form.html",
        form=form,
        rnd=rnd,
        wijk=proposal.neighbourhood,
        proposal=proposal,
        refusal=None,
    ), status


def _act(
    proposal_id: int,
    action: Action,
    run: Any,
    form_name: str | None = None,
    form: Any = None,
    done: str = "",
) -> Any:
    """Load → guard (403) → validate → operation → 303, or the page again with the message (4xx)."""
    proposal = _load(proposal_id)
    _guard(proposal, action)
    forms: dict[str, Any] = {}
    if form is not None and form_name:
        forms[form_name] = form
        if not form.validate_on_submit():
            return _show(proposal, 422, **forms)
    try:
        run(proposal)
    except DomainError as error:
        return _show(_load(proposal_id), error.status, action_error=error.message, **forms)
    if done:
        flash(done, "success")
    return redirect(url_for(".show", proposal_id=proposal_id), 303)


@bp.post("/voorstellen/<int:proposal_id>/indienen")
@login_required
def submit(proposal_id: int) -> Any:
    return _act(
        proposal_id,
        Action.SUBMIT,
        lambda p: operations.submit(current_user, p),
        done=_("Je voorstel is ingediend. Het bestuur gaat het toetsen."),
    )


@bp.post("/voorstellen/<int:proposal_id>/intrekken")
@login_required
def withdraw(proposal_id: int) -> Any:
    form = WithdrawForm()
    return _act(
        proposal_id,
        Action.WITHDRAW,
        lambda p: operations.withdraw(current_user, p, form.reason.data or ""),
        "withdraw_form",
        form,
        done=_("Je voorstel is ingetrokken."),
    )


@bp.post("/voorstellen/<int:proposal_id>/mede-indieners")
@login_required
def invite(proposal_id: int) -> Any:
    form = InviteForm()
    return _act(
        proposal_id,
        Action.INVITE,
        lambda p: operations.invite_coauthor(current_user, p, form.email.data or ""),
        "invite_form",
        form,
        done=_("De uitnodiging is verstuurd."),
    )


@bp.post("/voorstellen/<int:proposal_id>/mede-indieners/<int:invite_id>/intrekken")
@login_required
def withdraw_invite(proposal_id: int, invite_id: int) -> Any:
    """An author takes back an invitation that was not accepted yet."""
    proposal = _load(proposal_id)
    if not proposal.is_author(current_user):
        abort(403)
    try:
        operations.withdraw_invite(current_user, proposal, invite_id)
    except DomainError as error:
        return _show(_load(proposal_id), error.status, action_error=error.message)
    flash(_("De uitnodiging is ingetrokken."), "success")
    return redirect(url_for(".show", proposal_id=proposal_id), 303)


@bp.route("/voorstellen/uitnodiging/<token>", methods=["GET", "POST"])
@login_required
def accept_invite(token: str) -> Any:
    try:
        invite = operations.load_invite(token)
    except DomainError as error:
        return render_template("proposals/invite.html", error=error.message, invite=None), 404
    if request.method == "POST":
        try:
            proposal = operations.accept_invite(current_user, invite)
        except DomainError as error:
            return render_template(
                "proposals/invite.html", error=error.message, invite=invite
            ), error.status
        flash(_("Je bent nu mede-indiener van dit voorstel."), "success")
        return redirect(url_for(".show", proposal_id=proposal.id), 303)
    return render_template("proposals/invite.html", error=None, invite=invite)


@bp.post("/voorstellen/<int:proposal_id>/fotos")
@login_required
def add_image(proposal_id: int) -> Any:
    form = ImageForm()
    return _act(
        proposal_id,
        Action.EDIT,
        lambda p: operations.add_image(current_user, p, form.photo.data, form.alt.data or ""),
        "image_form",
        form,
        done=_("De foto is toegevoegd."),
    )


@bp.post("/voorstellen/<int:proposal_id>/fotos/<int:image_id>/verwijderen")
@login_required
def remove_image(proposal_id: int, image_id: int) -> Any:
    image = db.session.get(ProposalImage, image_id)
    if image is None or image.proposal_id != proposal_id:
        abort(404)
    return _act(
        proposal_id,
        Action.EDIT,
        lambda p: operations.remove_image(current_user, p, image_id),
        done=_("De foto is verwijderd."),
    )


@bp.get("/voorstellen/<int:proposal_id>/fotos/<int:image_id>")
@public
def image(proposal_id: int, image_id: int) -> Any:
    proposal = _load(proposal_id)
    found = next((i for i in proposal.images if i.id == image_id), None)
    if found is None:
        abort(404)
    return image_files.send_stored(operations.image_path(found), found.content_type)


@bp.post("/voorstellen/<int:proposal_id>/steun")
@login_required
def support(proposal_id: int) -> Any:
    """Support (``want=1``, also when the form says nothing) or take it back (``want=0``): the
    form carries what the button meant, so a double click or a second tab does it once."""
    proposal = _load(proposal_id)
    _guard(proposal, Action.SUPPORT)
    want = request.form.get("want", "1") != "0"
    try:
        outcome = operations.set_support(current_user, proposal, want)
    except DomainError as error:
        return _show(_load(proposal_id), error.status, action_error=error.message)
    if request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true":
        return render_template(
            "proposals/_support.html",
            proposal=proposal,
            supported=outcome.supports,
            can_support=True,
            said=_support_message(outcome),
        )
    flash(_support_message(outcome), "success")
    return redirect(
        request.form.get("next")
        if request.form.get("next", "").startswith("/")
        and not request.form.get("next", "").startswith("//")
        else url_for(".show", proposal_id=proposal_id),
        303,
    )


def _support_message(outcome: operations.SupportOutcome) -> str:
    if outcome.supports:
        return _("Bedankt voor je steun.") if outcome.changed else _("Je steun stond er al.")
    return _("Je steun is ingetrokken.") if outcome.changed else _("Je steun was al ingetrokken.")


# --- the board's review -----------------------------------------------------------------------


@bp.get("/wijk/<slug>/bestuur/rondes/<int:round_id>/toetsing")
@board_required
def review(wijk: Neighbourhood, round_id: int) -> str:
    rnd = load_round(wijk, round_id)
    page = paginate(queries.review_queue(rnd))
    return render_template("proposals/review.html", wijk=wijk, rnd=rnd, page=page)


def _decide(
    wijk: Neighbourhood,
    proposal_id: int,
    action: Action,
    form_name: str,
    form: Any,
    run: Any,
    done: str,
) -> Any:
    proposal = _board_proposal(wijk, proposal_id)
    if proposal.who_refusal(action, current_user) is not None:
        abort(403)
    return _act(proposal_id, action, run, form_name, form, done=done)


@bp.post("/wijk/<slug>/bestuur/voorstellen/<int:proposal_id>/toelaten")
@board_required
def admit(wijk: Neighbourhood, proposal_id: int) -> Any:
    form = DecisionForm()
    return _decide(
        wijk,
        proposal_id,
        Action.ADMIT,
        "decision_form",
        form,
        lambda p: operations.admit(current_user, p, form.message.data or ""),
        _("Het voorstel staat op het stembiljet."),
    )


@bp.post("/wijk/<slug>/bestuur/voorstellen/<int:proposal_id>/afwijzen")
@board_required
def reject(wijk: Neighbourhood, proposal_id: int) -> Any:
    proposal = _board_proposal(wijk, proposal_id)
    form = RejectForm()
    form.criteria.choices = options([(c.id, c.text) for c in proposal.round.criteria])
    return _decide(
        wijk,
        proposal_id,
        Action.REJECT,
        "reject_form",
        form,
        lambda p: operations.reject(
            current_user, p, list(form.criteria.data or []), form.message.data or ""
        ),
        _("Het voorstel is afgewezen. De indieners krijgen bericht."),
    )


@bp.post("/wijk/<slug>/bestuur/voorstellen/<int:proposal_id>/aanpassing")
@board_required
def request_changes(wijk: Neighbourhood, proposal_id: int) -> Any:
    form = ChangesForm()
    return _decide(
        wijk,
        proposal_id,
        Action.REQUEST_CHANGES,
        "changes_form",
        form,
        lambda p: operations.request_changes(current_user, p, form.message.data or ""),
        _("De indieners kunnen hun voorstel nu aanpassen."),
    )


@bp.post("/wijk/<slug>/bestuur/voorstellen/<int:proposal_id>/kosten")
@board_required
def estimate(wijk: Neighbourhood, proposal_id: int) -> Any:
    form = EstimateForm()
    return _decide(
        wijk,
        proposal_id,
        Action.ESTIMATE,
        "estimate_form",
        form,
        lambda p: operations.set_estimate(current_user, p, form.amount.cents, form.note.data or ""),
        _("De schatting van het bestuur is opgeslagen."),
    )


@bp.post("/wijk/<slug>/bestuur/voorstellen/<int:proposal_id>/dubbel")
@board_required
def duplicate(wijk: Neighbourhood, proposal_id: int) -> Any:
    form = DuplicateForm()

    def run(proposal: Proposal) -> None:
        text = (form.original.data or "").strip().lstrip("#")
        original_id = database_id(text)
        original = queries.load_proposal(original_id) if original_id is not None else None
        if text and (original is None or original.neighbourhood_id != wijk.id):
            raise operations.ProposalError(_("Er is geen voorstel met dat nummer in deze ronde."))
        operations.mark_duplicate(current_user, proposal, original, form.note.data or "")

    return _decide(
        wijk, proposal_id, Action.MARK_DUPLICATE, "duplicate_form", form, run, _("Opgeslagen.")
    )
