"""The map pages: the wijk's map with its funded projects, a round's map with its proposals
(filtered by buurt), the place of a proposal picked on the map (an ``<input type="image">``:
works without JavaScript), and the admin's upload of the buurt outlines."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..actions import Refusal, run_action
from ..forms import database_id
from ..guards import admin_required, login_required, public
from ..loaders import load_wijk_round, wijk_or_404
from ..proposals import queries as proposal_queries
from ..proposals.models import Action, Proposal
from ..proposals.operations import places
from ..rounds.queries import as_of_now
from . import drawing, geojson, operations, queries
from .forms import PlaceForm, UploadForm

bp = Blueprint("maps", __name__)

#: the click on the picture: whole pixels, a few digits (the picture is WIDTH wide)
COORD_DIGITS = 4


# --- public maps ------------------------------------------------------------------------------


@bp.get("/wijk/<slug>/kaart")
@public
def wijk_map(slug: str) -> str:
    wijk = wijk_or_404(slug)
    the_map = queries.projects_map(
        wijk, project_url=lambda pid: url_for("spending.project", project_id=pid)
    )
    return render_template("maps/wijk.html", wijk=wijk, the_map=the_map)


@bp.get("/wijk/<slug>/rondes/<int:round_id>/kaart")
@public
def round_map(slug: str, round_id: int) -> Any:
    wijk, rnd = load_wijk_round(slug, round_id)
    area_id = database_id(request.args.get("buurt"))
    if request.args.get("buurt") and not any(a.id == area_id for a in wijk.areas):
        area_id = None  # no buurt of this wijk: the whole map, as an unknown filter does
    the_map = queries.round_map(
        rnd,
        area_id=area_id,
        proposal_url=lambda pid: url_for("proposals.show", proposal_id=pid),
    )
    selected = next((b for b in the_map.buurten if b.area_id == area_id), None)
    return render_template(
        "maps/round.html", wijk=wijk, rnd=rnd, the_map=the_map, selected=selected
    )


# --- a proposal's place -----------------------------------------------------------------------


def _editable(proposal_id: int) -> Proposal:
    """The proposal, for one of its authors (404 for whom may not see it, 403 for whom may
    never edit it; whether it may be edited now is the operation's rule)."""
    proposal = proposal_queries.load_proposal(proposal_id)
    if proposal is None or not proposal.can_view(current_user):
        abort(404)
    as_of_now(proposal.round)
    if proposal.who_refusal(Action.EDIT, current_user) is not None:
        abort(403)
    return proposal


def _proposal_map(proposal: Proposal) -> drawing.WijkMap:
    place = queries.place_of(proposal)
    entry = drawing.Entry(proposal.title, "", "voorstel", (place.lon, place.lat) if place else None)
    return drawing.build(
        queries.outlines(proposal.round.neighbourhood), [(proposal.area_id, entry)]
    )


def _place_page(proposal: Proposal, refusal: Refusal | None = None) -> Any:
    form = PlaceForm()
    return render_template(
        "maps/place.html",
        proposal=proposal,
        the_map=_proposal_map(proposal),
        form=form,
        refusal=refusal,
        place=queries.place_of(proposal),
    ), (refusal.status if refusal else 200)


@bp.get("/voorstellen/<int:proposal_id>/plek")
@login_required
def place(proposal_id: int) -> Any:
    return _place_page(_editable(proposal_id))


@bp.get("/voorstellen/<int:proposal_id>/plek/kaart.svg")
@login_required
def place_picture(proposal_id: int) -> Any:
    proposal = _editable(proposal_id)
    the_map = _proposal_map(proposal)
    if not the_map.drawn:
        abort(404)
    svg = render_template(
        "maps/map.svg",
        the_map=the_map,
        title=_("Kaart van wijk %(name)s", name=proposal.round.neighbourhood.name),
    )
    return Response(svg, mimetype="image/svg+xml")


def _click() -> tuple[int, int] | None:
    """The pixel clicked (``kaart.x``, ``kaart.y``); None for none, for nonsense, and for 0,0:
    what a browser sends when the picture is pressed with the keyboard."""
    values = [request.form.get("kaart.x", ""), request.form.get("kaart.y", "")]
    if not all(v.isascii() and v.isdigit() and len(v) <= COORD_DIGITS for v in values):
        return None
    x, y = int(values[0]), int(values[1])
    return None if (x, y) == (0, 0) else (x, y)


@bp.post("/voorstellen/<int:proposal_id>/plek")
@login_required
def place_proposal(proposal_id: int) -> Any:
    proposal = _editable(proposal_id)
    form = PlaceForm()
    projection = _proposal_map(proposal).projection
    click = _click()

    def operation() -> Any:
        if projection is None:
            raise geojson.OutlineError(_("Deze wijk heeft nog geen kaart."))
        if click is None or not (
            0 < click[0] <= projection.width and 0 < click[1] <= projection.height
        ):
            raise geojson.OutlineError(
                _(
                    "Klik op de kaart op de plek van je voorstel, "
                    "of kies een buurt bij het voorstel."
                )
            )
        return places.place_proposal(current_user, proposal, *projection.to_lonlat(*click))

    return run_action(
        operation,
        form=form,
        done=lambda area: _("De plek is opgeslagen, in de buurt %(name)s.", name=area.name),
        to=url_for(".place", proposal_id=proposal.id),
        again=lambda refusal: _place_page(proposal, refusal),
    )


@bp.post("/voorstellen/<int:proposal_id>/plek/weghalen")
@login_required
def clear_place(proposal_id: int) -> Any:
    proposal = _editable(proposal_id)
    return run_action(
        lambda: places.clear_place(current_user, proposal),
        form=PlaceForm(),
        done=_("De plek is weggehaald. De buurt blijft."),
        to=url_for(".place", proposal_id=proposal.id),
        again=lambda refusal: _place_page(proposal, refusal),
    )


# --- admin: the outlines ----------------------------------------------------------------------


def _upload_page(wijk: Any, form: UploadForm, refusal: Refusal | None = None) -> Any:
    if refusal is not None and refusal.message:
        form.outlines.errors = [*form.outlines.errors, refusal.message]
    the_map = queries.projects_map(wijk)
    return render_template("maps/upload.html", wijk=wijk, form=form, the_map=the_map), (
        refusal.status if refusal else 200
    )


@bp.route("/beheer/wijken/<slug>/kaart", methods=["GET", "POST"])
@admin_required
def upload(slug: str) -> Any:
    wijk = wijk_or_404(slug)
    form = UploadForm()
    if not form.is_submitted():
        return _upload_page(wijk, form)

    def operation() -> operations.Uploaded:
        upload = form.outlines.data
        if upload is None or not getattr(upload, "filename", ""):
            raise geojson.OutlineError(_("Kies een GeoJSON-bestand met de buurten."))
        data = upload.stream.read(geojson.MAX_BYTES + 1)
        buurten = geojson.read_buurten(data, form.name_property.data)
        return operations.upload_outlines(current_user, wijk, buurten)

    return run_action(
        operation,
        form=form,
        done=lambda done: _(
            "De kaart is geladen: %(n)d buurten, waarvan %(new)d nieuw.",
            n=done.outlines,
            new=len(done.added),
        ),
        to=url_for(".upload", slug=wijk.slug),
        again=lambda refusal: _upload_page(wijk, form, refusal),
    )
