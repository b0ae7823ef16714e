"""Pages of the address register (voting/register.py): the board's page to upload, replace and
erase it, and the voter's step that asks for the postcode and house number. The codes made from
the register and walk-in codes for an address are on the board's codes page (views.codes)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..actions import Refusal, run_action
from ..guards import board_required, login_required
from ..loaders import load_round, load_wijk_round
from ..neighbourhoods.models import Neighbourhood
from ..rounds.models import Eligibility, Phase, Round
from . import register
from .addresses import MAX_BYTES, MAX_CAPACITY, MAX_ROWS
from .models import VotingError

bp = Blueprint("voting_register", __name__)


@bp.route("/wijk/<slug>/bestuur/rondes/<int:round_id>/adressen", methods=["GET", "POST"])
@board_required
def board(wijk: Neighbourhood, round_id: int) -> Any:
    """The round's address register: upload (or replace) before the vote, erase after it."""
    rnd = load_round(wijk, round_id)
    if request.method == "GET":
        return _board_page(wijk, rnd)
    here = url_for(".board", slug=wijk.slug, round_id=round_id)
    problems: list[str] = []

    def again(refusal: Refusal) -> Any:
        # as it is now (the use case rolled back)
        return _board_page(
            wijk, load_round(wijk, round_id), refusal.message, problems, refusal.status
        )

    action = request.form.get("action", "")
    if action == "upload":

        def upload() -> register.Summary:
            sent = request.files.get("register")
            if sent is None or not sent.filename:
                raise VotingError(_("Kies eerst het bestand met de adressen (CSV)."))
            try:
                return register.upload_register(current_user, rnd, sent.stream.read(MAX_BYTES + 1))
            except register.RegisterRefused as refused:
                problems.extend(refused.problems)  # shown line by line under the message
                raise

        return run_action(
            upload,
            done=lambda done: _(
                "De adressenlijst is opgeslagen: %(n)d adressen met samen %(p)d stemmers.",
                n=done.addresses,
                p=done.places,
            ),
            to=here,
            again=again,
        )
    if action == "erase":
        return run_action(
            lambda: register.erase_register(current_user, rnd),
            done=lambda erased: _("De adressenlijst is gewist (%(n)d adressen).", n=erased),
            to=here,
            again=again,
        )
    abort(400)


def _board_page(
    wijk: Neighbourhood,
    rnd: Round,
    error: str | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Any:
    return render_template(
        "voting/register.html",
        wijk=wijk,
        rnd=rnd,
        summary=register.summary(rnd),
        error=error,
        problems=problems or [],
        max_mb=MAX_BYTES // (1024 * 1024),
        max_rows=MAX_ROWS,
        max_capacity=MAX_CAPACITY,
        can_upload=rnd.is_before(Phase.VOTING),
        can_erase=rnd.is_before(Phase.VOTING) or rnd.has_reached(Phase.RESULT),
    ), status


@bp.route("/wijk/<slug>/rondes/<int:round_id>/stemmen/adres", methods=["GET", "POST"])
@login_required
def address(slug: str, round_id: int) -> Any:
    """In a round with an address register: the voter's postcode and house number, once."""
    wijk, rnd = load_wijk_round(slug, round_id)
    if not register.has_register(rnd) or rnd.eligibility == Eligibility.CODES:
        return redirect(url_for("voting.ballot", slug=wijk.slug, round_id=rnd.id), 303)
    postcode = request.form.get("postcode", current_user.postcode or "")[:16]
    house_number = request.form.get("house_number", current_user.house_number or "")[:40]

    def page(error: str | None = None, status: int = 200) -> Any:
        return render_template(
            "voting/address.html",
            wijk=wijk,
            rnd=rnd,
            error=error,
            postcode=postcode,
            house_number=house_number,
        ), status

    if request.method == "GET":
        return page()
    return run_action(
        lambda: register.set_voting_address(current_user, rnd, postcode, house_number),
        to=url_for("voting.ballot", slug=wijk.slug, round_id=round_id),
        again=lambda refusal: page(refusal.message, refusal.status),
    )
