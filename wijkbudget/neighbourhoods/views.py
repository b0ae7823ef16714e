"""Public wijk pages, the board's wijk page, and the admin's management of wijken and buurten."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import permissions
from ..errors import DomainError
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
    return render_template("neighbourhoods/home.html", page=page)


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
    if not form.validate_on_submit():
        return _render_board(wijk, form, 422)
    try:
        operations.update_description(current_user, wijk, form.description.data or "")
    except DomainError as error:
        form.description.errors.append(error.message)
        return _render_board(wijk, form, error.status)
    flash(_("De uitleg over de wijk is opgeslagen."), "success")
    return redirect(url_for(".board", slug=wijk.slug), 303)


# --- admin: wijken and buurten ----------------------------------------------------------------


@bp.get("/beheer/wijken")
@admin_required
def admin_list() -> str:
    page = paginate(queries.neighbourhoods_listing())
    return render_template("neighbourhoods/admin_list.html", page=page)


@bp.route("/beheer/wijken/nieuw", methods=["GET", "POST"])
@admin_required
def admin_create() -> Any:
    form = NeighbourhoodForm()
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            wijk = operations.create_neighbourhood(
                current_user,
                name=form.name.data,
                postcodes=form.postcodes.data,
                cbs_code=form.cbs_code.data,
            )
        except operations.NeighbourhoodError as error:
            form.postcodes.errors.append(error.message)
        except DomainError as error:  # the same name at the same moment: 409
            form.name.errors.append(error.message)
            status = error.status
        else:
            flash(
                _("Wijk %(name)s is aangemaakt. Voeg nu de buurten toe.", name=wijk.name), "success"
            )
            return redirect(url_for(".admin_edit", slug=wijk.slug), 303)
    return render_template("neighbourhoods/admin_form.html", form=form, wijk=None), status


@bp.route("/beheer/wijken/<slug>", methods=["GET", "POST"])
@admin_required
def admin_edit(slug: str) -> Any:
    wijk = wijk_or_404(slug)
    form = NeighbourhoodForm(obj=wijk, postcodes=wijk.postcodes_text)
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            operations.update_neighbourhood(
                current_user,
                wijk,
                name=form.name.data,
                postcodes=form.postcodes.data,
                cbs_code=form.cbs_code.data,
            )
        except operations.NeighbourhoodError as error:
            form.postcodes.errors.append(error.message)
        except DomainError as error:  # deleted meanwhile: 409
            form.name.errors.append(error.message)
            status = error.status
        else:
            flash(_("De wijk is opgeslagen."), "success")
            return redirect(url_for(".admin_edit", slug=wijk.slug), 303)
    return render_template(
        "neighbourhoods/admin_form.html", form=form, wijk=wijk, area_form=AreaForm()
    ), status


@bp.post("/beheer/wijken/<slug>/buurten")
@admin_required
def admin_add_area(slug: str) -> Any:
    wijk = wijk_or_404(slug)
    area_form = AreaForm()
    status = 422
    if area_form.validate_on_submit():
        try:
            area = operations.add_area(
                current_user, wijk, name=area_form.name.data, cbs_code=area_form.cbs_code.data
            )
        except DomainError as error:
            area_form.name.errors.append(error.message)
            status = error.status
        else:
            flash(_("Buurt %(name)s is toegevoegd.", name=area.name), "success")
            return redirect(url_for(".admin_edit", slug=wijk.slug), 303)
    form = NeighbourhoodForm(obj=wijk, postcodes=wijk.postcodes_text, formdata=None)
    return render_template(
        "neighbourhoods/admin_form.html", form=form, wijk=wijk, area_form=area_form
    ), status
