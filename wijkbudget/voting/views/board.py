"""The board's voting pages: codes (made at random or from the address register, letters, the
CSV, printed, revoked, walk-in codes); the paper batches are in ``views.paper``. Each POST runs
one operation through ``actions.run_action``; the page comes again with the refusal in its
status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...actions import Refusal, run_action
from ...exports import to_csv
from ...extensions import db
from ...forms import BaseForm, database_id
from ...guards import board_required
from ...loaders import load_round
from ...neighbourhoods.models import Neighbourhood
from ...rounds.models import Round
from ...urls import external_url
from .. import operations, queries, register
from ..forms import (
    GenerateCodesForm,
    RevokeCodeForm,
)
from ..models import CodeBatch, VotingPlace
from .blueprint import bp
from .common import code_batch, codes_not_shown, form_token, refusal_message, sent_token

# --- the board: codes ---------------------------------------------------------------------------


def _codes_page(
    wijk: Neighbourhood,
    rnd: Round,
    *,
    error: str | None = None,
    walk_in: str | None = None,
    status: int = 200,
) -> Any:
    return render_template(
        "voting/codes.html",
        wijk=wijk,
        rnd=rnd,
        usage=queries.code_usage(rnd),
        error=error,
        walk_in=walk_in,
        turnout=queries.turnout(rnd),
        form_token=form_token(),
        places=queries.voting_places(rnd),
    ), status


def _made(batch: CodeBatch, from_register: bool = False) -> str:
    if from_register:
        return str(
            _(
                "%(n)d codes gemaakt uit de adressenlijst. Print nu de brieven of download de "
                "lijst: daarna zijn de codes niet meer te zien.",
                n=batch.size,
            )
        )
    return str(
        _(
            "%(n)d codes gemaakt. Print nu de brieven of download de lijst: daarna zijn de codes "
            "niet meer te zien.",
            n=batch.size,
        )
    )


@bp.route("/wijk/<slug>/bestuur/rondes/<int:round_id>/stemcodes", methods=["GET", "POST"])
@board_required
def codes(wijk: Neighbourhood, round_id: int) -> Any:
    rnd = load_round(wijk, round_id)
    if request.method == "GET":
        return _codes_page(wijk, rnd)
    here = url_for(".codes", slug=wijk.slug, round_id=round_id)

    def again(refusal: Refusal, form: BaseForm | None = None) -> Any:
        # as it is now (after the use case's rollback)
        return _codes_page(
            wijk,
            load_round(wijk, round_id),
            error=refusal_message(refusal, form),
            status=refusal.status,
        )

    def generate() -> Any:
        form = GenerateCodesForm(areas=wijk.areas)
        return run_action(
            lambda: operations.generate_codes(
                current_user,
                rnd,
                form.count.data or 0,
                area=next((a for a in wijk.areas if str(a.id) == form.area.data), None),
                label=form.label.data or "",
                form_token=sent_token(),
            ),
            form=form,
            done=_made,
            to=here,
            again=lambda refusal: again(refusal, form),
        )

    def revoke_code() -> Any:
        form = RevokeCodeForm()
        return run_action(
            lambda: operations.revoke_code(current_user, rnd, form.code.data or ""),
            form=form,
            done=lambda revoked: (
                _("De code is ingetrokken.") if revoked else _("Deze code was al ingetrokken.")
            ),
            to=here,
            again=lambda refusal: again(refusal, form),
        )

    def from_register() -> Any:
        return run_action(
            lambda: operations.make_codes_from_register(current_user, rnd, form_token=sent_token()),
            done=lambda batch: _made(batch, from_register=True),
            to=here,
            again=again,
        )

    def walk_in() -> Any:
        def issue() -> str:
            # in a round with an address register: for the visitor's address
            address_id = register.walk_in_address(
                rnd,
                request.form.get("postcode", "")[:16],
                request.form.get("house_number", "")[:40],
            )
            # the desk that hands it out: one of the round's voting places, or none
            chosen = database_id(request.form.get("place"))
            place = db.session.get(VotingPlace, chosen) if chosen else None
            if place is not None and place.round_id != rnd.id:
                abort(404)
            return operations.issue_walk_in_code(
                current_user, rnd, address_id=address_id, place=place
            )

        # the code is shown once, on this very answer (never in a redirect)
        return run_action(
            issue,
            to=lambda code: _codes_page(wijk, load_round(wijk, round_id), walk_in=code),
            again=again,
        )

    def on_batch(
        operation: Callable[[Any, CodeBatch, Round], bool],
    ) -> Callable[[], Any]:
        def run() -> Any:
            batch = code_batch(rnd, database_id(request.form.get("batch")) or 0)
            return run_action(lambda: operation(current_user, batch, rnd), to=here, again=again)

        return run

    actions: dict[str, Callable[[], Any]] = {
        "generate": generate,
        "revoke_code": revoke_code,
        "from_register": from_register,
        "walk_in": walk_in,
        "printed": on_batch(operations.mark_printed),
        "revoke_batch": on_batch(operations.revoke_batch),
    }
    action = actions.get(request.form.get("action", ""))
    if action is None:
        code_batch(rnd, database_id(request.form.get("batch")) or 0)  # (an unknown batch: 404)
        abort(400)
    return action()


@bp.post("/wijk/<slug>/bestuur/rondes/<int:round_id>/stemcodes/<int:batch_id>/brieven")
@board_required
def letters(wijk: Neighbourhood, round_id: int, batch_id: int) -> Any:
    """The letters to print. A form sends for them: showing the codes is logged, and a page
    that is only read writes nothing."""
    rnd = load_round(wijk, round_id)
    batch = code_batch(rnd, batch_id)

    def page(codes: list[str]) -> Any:
        addresses = register.batch_addresses(batch, codes)  # codes made per address: on it
        return (
            render_template(
                "voting/letters.html",
                wijk=wijk,
                rnd=rnd,
                letters=list(zip(codes, addresses, strict=True)),
                vote_url=external_url(".enter_code"),
            ),
            200,
            {"Cache-Control": "no-store"},
        )

    return run_action(
        lambda: operations.show_codes(current_user, rnd, batch),
        to=page,
        again=codes_not_shown(wijk, rnd),
    )


@bp.post("/wijk/<slug>/bestuur/rondes/<int:round_id>/stemcodes/<int:batch_id>.csv")
@board_required
def codes_csv(wijk: Neighbourhood, round_id: int, batch_id: int) -> Any:
    """The codes as a CSV file (sent for with a form, as the letters)."""
    rnd = load_round(wijk, round_id)
    batch = code_batch(rnd, batch_id)

    def download(codes: list[str]) -> Any:
        addresses = register.batch_addresses(batch, codes)
        if any(addresses):  # codes made per address: the address with each
            table = to_csv(
                ["stemcode", "postcode", "huisnummer"],
                [[c, *(a or ("", ""))] for c, a in zip(codes, addresses, strict=True)],
            )
        else:
            table = to_csv(["stemcode"], [[c] for c in codes])
        return Response(
            table,
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="stemcodes-{batch_id}.csv"',
                "Cache-Control": "no-store",
            },
        )

    return run_action(
        lambda: operations.show_codes(current_user, rnd, batch),
        to=download,
        again=codes_not_shown(wijk, rnd),
    )
