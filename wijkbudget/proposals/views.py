"""Proposal pages of residents: the public list and a proposal's page; writing, submitting and
withdrawing; photos, co-submitters and supports. Every action runs through
``actions.run_action`` (most through ``pages.act_on``); a refusal shows the proposal's page
again (``pages.show_again``). The board's review is in ``review_views``, on the same blueprint
(``pages.bp``)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from flask import abort, current_app, flash, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import images as image_files
from .. import thumbnails
from ..actions import Refusal, run_action
from ..errors import DomainError
from ..extensions import db, paginate
from ..forms import options
from ..guards import login_required, public
from ..htmx import is_htmx, render_page_or_fragment
from ..loaders import load_round, wijk_or_404
from ..rounds.models import Round
from . import (
    commands,  # noqa: F401  (flask proposals thumbnails, on the same blueprint)
    operations,
    queries,
    review_views,  # noqa: F401  (the board's routes, on the same blueprint)
)
from .forms import ImageForm, InviteForm, ListFilterForm, WithdrawForm
from .models import Action, Proposal, ProposalImage, State, state_label
from .pages import act_on, bp, load, proposal_data, proposal_form, show_again, show_page

__all__ = ["bp"]

LIST_SEEDS = 10007  # the order is (id * 7919 + seed) mod this prime (proposals.queries)


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


@bp.get("/voorstellen/<int:proposal_id>")
@public
def show(proposal_id: int) -> Any:
    return show_page(load(proposal_id))


def _form_page(
    form: Any, rnd: Round, proposal: Proposal | None, refusal: Refusal | None = None
) -> Any:
    """The proposal form; after a refused save, with the refusal above the form."""
    if refusal is not None and refusal.message:
        form.form_errors.append(refusal.message)
    return render_template(
        "proposals/form.html",
        form=form,
        rnd=rnd,
        wijk=rnd.neighbourhood,
        proposal=proposal,
        refusal=None,
    ), (refusal.status if refusal is not None else 200)


@bp.route("/wijk/<slug>/rondes/<int:round_id>/voorstellen/nieuw", methods=["GET", "POST"])
@login_required
def create(slug: str, round_id: int) -> Any:
    wijk = wijk_or_404(slug)
    rnd = load_round(wijk, round_id)
    refusal = rnd.proposal_refusal(current_user)
    form = proposal_form(rnd, formdata=request.form if request.method == "POST" else None)
    if refusal is not None:
        status = 403 if request.method == "POST" else 200
        return render_template(
            "proposals/form.html", form=form, rnd=rnd, wijk=wijk, proposal=None, refusal=refusal
        ), status
    if request.method == "GET":
        return _form_page(form, rnd, None)
    return run_action(
        lambda: operations.create_proposal(
            current_user, rnd, proposal_data(form), submit=request.form.get("action") == "submit"
        ),
        form=form,
        done=lambda proposal: (
            _("Je voorstel is ingediend. Het bestuur gaat het toetsen.")
            if proposal.state == State.SUBMITTED
            else _("Je voorstel is bewaard als concept. Alleen jij ziet het.")
        ),
        to=lambda proposal: url_for(".show", proposal_id=proposal.id),
        again=lambda refused: _form_page(form, rnd, None, refused),
    )


@bp.route("/voorstellen/<int:proposal_id>/bewerken", methods=["GET", "POST"])
@login_required
def edit(proposal_id: int) -> Any:
    proposal = load(proposal_id, Action.EDIT)
    rnd = proposal.round
    refusal = proposal.refusal(Action.EDIT, current_user)
    form = proposal_form(rnd, proposal, formdata=request.form if request.method == "POST" else None)
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
    if request.method == "GET":
        return _form_page(form, rnd, proposal)
    return run_action(
        lambda: operations.update_proposal(
            current_user,
            proposal,
            proposal_data(form),
            submit=request.form.get("action") == "submit",
        ),
        form=form,
        done=_("Je wijzigingen zijn bewaard."),
        to=url_for(".show", proposal_id=proposal_id),
        again=lambda refused: _form_page(form, rnd, load(proposal_id), refused),
    )


@bp.post("/voorstellen/<int:proposal_id>/indienen")
@login_required
def submit(proposal_id: int) -> Any:
    proposal = load(proposal_id, Action.SUBMIT)
    return act_on(
        proposal_id,
        lambda: operations.submit(current_user, proposal),
        _("Je voorstel is ingediend. Het bestuur gaat het toetsen."),
    )


@bp.post("/voorstellen/<int:proposal_id>/intrekken")
@login_required
def withdraw(proposal_id: int) -> Any:
    proposal = load(proposal_id, Action.WITHDRAW)
    form = WithdrawForm()
    return act_on(
        proposal_id,
        lambda: operations.withdraw(current_user, proposal, form.reason.data or ""),
        _("Je voorstel is ingetrokken."),
        form,
    )


@bp.post("/voorstellen/<int:proposal_id>/mede-indieners")
@login_required
def invite(proposal_id: int) -> Any:
    proposal = load(proposal_id, Action.INVITE)
    form = InviteForm()
    return act_on(
        proposal_id,
        lambda: operations.invite_coauthor(current_user, proposal, form.email.data or ""),
        _("De uitnodiging is verstuurd."),
        form,
    )


@bp.post("/voorstellen/<int:proposal_id>/mede-indieners/<int:invite_id>/intrekken")
@login_required
def withdraw_invite(proposal_id: int, invite_id: int) -> Any:
    """An author takes back an invitation that was not accepted yet."""
    proposal = load(proposal_id)
    if not proposal.is_author(current_user):
        abort(403)
    return act_on(
        proposal_id,
        lambda: operations.withdraw_invite(current_user, proposal, invite_id),
        _("De uitnodiging is ingetrokken."),
    )


@bp.route("/voorstellen/uitnodiging/<token>", methods=["GET", "POST"])
@login_required
def accept_invite(token: str) -> Any:
    try:
        invite = operations.load_invite(token)  # reading the signed link: no action yet
    except DomainError as error:
        return render_template("proposals/invite.html", error=error.message, invite=None), 404
    if request.method == "GET":
        return render_template("proposals/invite.html", error=None, invite=invite)
    return run_action(
        lambda: operations.accept_invite(current_user, invite),
        done=_("Je bent nu mede-indiener van dit voorstel."),
        to=lambda proposal: url_for(".show", proposal_id=proposal.id),
        again=lambda refusal: (
            render_template("proposals/invite.html", error=refusal.message, invite=invite),
            refusal.status,
        ),
    )


@bp.post("/voorstellen/<int:proposal_id>/fotos")
@login_required
def add_image(proposal_id: int) -> Any:
    proposal = load(proposal_id, Action.EDIT)
    form = ImageForm()
    return act_on(
        proposal_id,
        lambda: operations.add_image(current_user, proposal, form.photo.data, form.alt.data or ""),
        _("De foto is toegevoegd."),
        form,
    )


@bp.post("/voorstellen/<int:proposal_id>/fotos/<int:image_id>/verwijderen")
@login_required
def remove_image(proposal_id: int, image_id: int) -> Any:
    image = db.session.get(ProposalImage, image_id)
    if image is None or image.proposal_id != proposal_id:
        abort(404)
    proposal = load(proposal_id, Action.EDIT)
    return act_on(
        proposal_id,
        lambda: operations.remove_image(current_user, proposal, image_id),
        _("De foto is verwijderd."),
    )


@bp.get("/voorstellen/<int:proposal_id>/fotos/<int:image_id>")
@public
def image(proposal_id: int, image_id: int) -> Any:
    proposal = load(proposal_id)
    found = next((i for i in proposal.images if i.id == image_id), None)
    if found is None:
        abort(404)
    return image_files.send_stored(
        operations.image_path(found), found.content_type, max_age=thumbnails.MAX_AGE
    )


@bp.get("/voorstellen/<int:proposal_id>/fotos/<int:image_id>/<int:width>")
@public
def thumbnail(proposal_id: int, image_id: int, width: int) -> Any:
    """A thumbnail of a photo (the widths made of it, ``ProposalImage.thumb_widths``)."""
    proposal = load(proposal_id)
    found = next((i for i in proposal.images if i.id == image_id), None)
    if found is None or width not in dict(found.thumbnails):
        abort(404)
    directory = image_files.upload_dir(current_app)
    return image_files.send_stored(
        directory / thumbnails.thumb_name(found.filename, width),
        found.content_type,
        max_age=thumbnails.MAX_AGE,
    )


@bp.post("/voorstellen/<int:proposal_id>/steun")
@login_required
def support(proposal_id: int) -> Any:
    """Support (``want=1``, also when the form says nothing) or take it back (``want=0``): the
    form carries what the button meant, so a double click or a second tab does it once."""
    proposal = load(proposal_id, Action.SUPPORT)
    want = request.form.get("want", "1") != "0"

    def answered(outcome: operations.SupportOutcome) -> Any:
        # htmx swaps the button with the message in it; a plain form gets it flashed
        if is_htmx():
            return render_template(
                "proposals/_support.html",
                proposal=proposal,
                supported=outcome.supports,
                can_support=True,
                said=_support_message(outcome),
            ), 200  # a page, not a URL to go to
        flash(_support_message(outcome), "success")
        given = request.form.get("next", "")
        if given.startswith("/") and not given.startswith("//"):
            return given
        return url_for(".show", proposal_id=proposal_id)

    return run_action(
        lambda: operations.set_support(current_user, proposal, want),
        to=answered,
        again=lambda refusal: show_again(proposal_id, refusal),
    )


def _support_message(outcome: operations.SupportOutcome) -> str:
    if outcome.supports:
        return _("Bedankt voor je steun.") if outcome.changed else _("Je steun stond er al.")
    return _("Je steun is ingetrokken.") if outcome.changed else _("Je steun was al ingetrokken.")
