"""Public wijk pages, the board's wijk page, and the admin's management of wijken and buurten."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import permissions
from ..actions import Refusal, run_action
from ..extensions import db, paginate
from ..guards import admin_required, board_required, public
from ..loaders import wijk_or_404
from ..rounds import queries as rounds_queries
from . import operations, queries
from .forms import AreaForm, DescriptionForm, NeighbourhoodForm
from .models import Neighbourhood

bp = Blueprint("neighbourhoods", __name__)


@bp.get("/")
@public
def home() -> str:
    page = paginate(queries.neighbourhoods_listing())
    return render_template(
        "neighbourhoods/home.html", page=page, code_rounds=rounds_queries.codes_vote_now()
    )


@bp.get("/wijk/<slug>")
@public
def show(slug: str) -> str:
    wijk = wijk_or_404(slug)
    is_board = permissions.is_board(current_user, wijk)
    rounds = list(
        db.session.scalars(rounds_queries.rounds_of(wijk, include_concepts=is_board).limit(5))
    )
    rounds_queries.all_as_of_now(rounds)  # the phase the dates imply, shown, not written
    return render_template(
        "neighbourhoods/show.html",
        wijk=wijk,
        board=queries.board_members(wijk),
        is_board=is_board,
        rounds=rounds,
    )


@bp.get("/toegankelijkheid")
@public
def accessibility() -> str:
    return render_template("neighbourhoods/accessibility.html")


# --- the board of one wijk --------------------------------------------------------------------


@bp.get("/wijk/<slug>/bestuur")
@board_required
def board(wijk: Neighbourhood) -> str:
    return _render_board(wijk, DescriptionForm(description=wijk.description))


def _render_board(wijk: Neighbourhood, form: DescriptionForm, status: int = 200) -> Any:
    residents = paginate(queries.residents_of(wijk))
    accounts, verified = queries.resident_counts(wijk)
    return (
        render_template(
            "neighbourhoods/board.html",
            wijk=wijk,
            form=form,
            residents=residents,
            accounts=accounts,
            verified=verified,
            workers=queries.worker_count(wijk),
            board=queries.board_members(wijk),
        ),
        status,
    )


@bp.get("/wijk/<slug>/bestuur/werkenden")
@board_required
def workers(wijk: Neighbourhood) -> str:
    """The people who say they work in the wijk (rounds can let them take part)."""
    return render_template(
        "neighbourhoods/workers.html", wijk=wijk, workers=paginate(queries.workers_of(wijk))
    )


@bp.post("/wijk/<slug>/bestuur/beschrijving")
@board_required
def describe(wijk: Neighbourhood) -> Any:
    form = DescriptionForm()

    def again(refusal: Refusal) -> Any:
        _note(form.description, refusal)
        return _render_board(wijk, form, refusal.status)

    return run_action(
        lambda: operations.update_description(current_user, wijk, form.description.data or ""),
        form=form,
        done=_("De uitleg over de wijk is opgeslagen."),
        to=url_for(".board", slug=wijk.slug),
        again=again,
    )


def _note(field: Any, refusal: Refusal) -> None:
    """The operation's refusal among ``field``'s errors (a form's own errors are on its fields
    already)."""
    if refusal.message:
        field.errors.append(refusal.message)


# --- admin: wijken and buurten ----------------------------------------------------------------


@bp.get("/beheer/wijken")
@admin_required
def admin_list() -> str:
    page = paginate(queries.neighbourhoods_listing())
    return render_template("neighbourhoods/admin_list.html", page=page)


def _render_form(
    form: NeighbourhoodForm,
    wijk: Neighbourhood | None,
    refusal: Refusal | None = None,
    area_form: AreaForm | None = None,
) -> Any:
    """The form of a wijk, with a refusal in place: a conflict (409: the same name at the same
    moment, or the wijk deleted meanwhile) at the name, the postcode areas' problems (422) at
    the postcodes."""
    if refusal is not None:
        _note(form.name if refusal.status == 409 else form.postcodes, refusal)
    if wijk is not None and area_form is None:
        area_form = AreaForm()
    status = refusal.status if refusal is not None else 200
    return render_template(
        "neighbourhoods/admin_form.html", form=form, wijk=wijk, area_form=area_form
    ), status


@bp.route("/beheer/wijken/nieuw", methods=["GET", "POST"])
@admin_required
def admin_create() -> Any:
    form = NeighbourhoodForm()
    if not form.is_submitted():
        return _render_form(form, None)
    return run_action(
        lambda: operations.create_neighbourhood(
            current_user,
            name=form.name.data,
            postcodes=form.postcodes.data,
            cbs_code=form.cbs_code.data,
        ),
        form=form,
        done=lambda wijk: _("Wijk %(name)s is aangemaakt. Voeg nu de buurten toe.", name=wijk.name),
        to=lambda wijk: url_for(".admin_edit", slug=wijk.slug),
        again=lambda refusal: _render_form(form, None, refusal),
    )


@bp.route("/beheer/wijken/<slug>", methods=["GET", "POST"])
@admin_required
def admin_edit(slug: str) -> Any:
    wijk = wijk_or_404(slug)
    form = NeighbourhoodForm(obj=wijk, postcodes=wijk.postcodes_text)
    if not form.is_submitted():
        return _render_form(form, wijk)
    return run_action(
        lambda: operations.update_neighbourhood(
            current_user,
            wijk,
            name=form.name.data,
            postcodes=form.postcodes.data,
            cbs_code=form.cbs_code.data,
        ),
        form=form,
        done=_("De wijk is opgeslagen."),
        to=lambda _result: url_for(".admin_edit", slug=wijk.slug),
        again=lambda refusal: _render_form(form, wijk, refusal),
    )


@bp.post("/beheer/wijken/<slug>/buurten")
@admin_required
def admin_add_area(slug: str) -> Any:
    wijk = wijk_or_404(slug)
    area_form = AreaForm()

    def again(refusal: Refusal) -> Any:
        _note(area_form.name, refusal)
        form = NeighbourhoodForm(obj=wijk, postcodes=wijk.postcodes_text, formdata=None)
        return _render_form(form, wijk, Refusal(refusal.status), area_form)

    return run_action(
        lambda: operations.add_area(
            current_user, wijk, name=area_form.name.data, cbs_code=area_form.cbs_code.data
        ),
        form=area_form,
        done=lambda area: _("Buurt %(name)s is toegevoegd.", name=area.name),
        to=url_for(".admin_edit", slug=wijk.slug),
        again=again,
    )
