"""The board's voting places of a round: where and when residents vote on paper or get a code
at the desk. Listed on the round page and on the letters; the codes page's walk-in form asks
which desk hands the code out."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...actions import Refusal, run_action
from ...extensions import db
from ...forms import BaseForm
from ...guards import board_required, public
from ...loaders import load_round
from ...neighbourhoods.models import Neighbourhood
from ...rounds.models import Round
from .. import queries
from ..forms import VotingPlaceForm
from ..models import VotingPlace
from ..operations import places
from .blueprint import bp


def _page(
    wijk: Neighbourhood, rnd: Round, form: VotingPlaceForm | None = None, status: int = 200
) -> Any:
    return render_template(
        "voting/places.html",
        wijk=wijk,
        rnd=rnd,
        places=queries.voting_places(rnd),
        form=form or VotingPlaceForm(formdata=None),
    ), status


@bp.get("/wijk/<slug>/bestuur/rondes/<int:round_id>/stemlocaties")
@board_required
def places_page(wijk: Neighbourhood, round_id: int) -> Any:
    return _page(wijk, load_round(wijk, round_id))


@bp.post("/wijk/<slug>/bestuur/rondes/<int:round_id>/stemlocaties")
@board_required
def add_place(wijk: Neighbourhood, round_id: int) -> Any:
    rnd = load_round(wijk, round_id)
    form = VotingPlaceForm()

    def add() -> VotingPlace:
        opens_at, closes_at = form.opening()
        return places.add_voting_place(
            current_user,
            rnd,
            name=form.name.data or "",
            address=form.address.data or "",
            opens_at=opens_at,
            closes_at=closes_at,
            note=form.note.data or "",
        )

    def again(refusal: Refusal) -> Any:
        if refusal.message:
            form.form_errors.append(refusal.message)
        return _page(wijk, load_round(wijk, round_id), form, refusal.status)

    return run_action(
        add,
        form=form,
        done=lambda place: _("Stemlocatie %(name)s toegevoegd.", name=place.name),
        to=url_for(".places_page", slug=wijk.slug, round_id=round_id),
        again=again,
    )


@bp.post("/wijk/<slug>/bestuur/rondes/<int:round_id>/stemlocaties/<int:place_id>/weg")
@board_required
def remove_place(wijk: Neighbourhood, round_id: int, place_id: int) -> Any:
    rnd = load_round(wijk, round_id)
    place = db.session.get(VotingPlace, place_id)
    if place is None or place.round_id != rnd.id:
        abort(404)  # (another round's place, or another wijk's: not even said to exist)
    return run_action(
        lambda: places.remove_voting_place(current_user, rnd, place),
        form=BaseForm(),
        done=_("De stemlocatie is weggehaald."),
        to=url_for(".places_page", slug=wijk.slug, round_id=round_id),
    )


@bp.get("/hulp/van-deur-tot-deur")
@public
def door_to_door() -> Any:
    """For boards, in plain Dutch: how to organise a vote that reaches every door."""
    return render_template("voting/door_to_door.html")
