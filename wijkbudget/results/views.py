"""Result pages: closing the vote (board), the public result with its downloads, and the
"what if" comparison for the board and councillors."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from .. import permissions
from ..actions import Refusal, run_action
from ..guards import board_required, oversight_required, public
from ..i18n import current_locale_name
from ..loaders import load_round, load_wijk_round, wijk_or_404
from ..neighbourhoods.models import Neighbourhood
from ..pagecache import fragment
from ..rounds.models import Phase, Round
from ..voting import queries as voting_queries
from . import operations, queries
from .forms import CloseForm
from .models import Result

bp = Blueprint("results", __name__)


def _result(wijk: Neighbourhood, round_id: int) -> tuple[Round, Result]:
    rnd = load_round(wijk, round_id)
    result = queries.result_of(rnd)
    if result is None:
        abort(404)
    return rnd, result


@bp.route("/wijk/<slug>/bestuur/rondes/<int:round_id>/stemming-sluiten", methods=["GET", "POST"])
@board_required
def close(wijk: Neighbourhood, round_id: int) -> Any:
    rnd = load_round(wijk, round_id)
    form = CloseForm()
    if request.method == "GET":
        return _close_page(wijk, rnd, form)
    return run_action(
        lambda: operations.close_voting(current_user, rnd, confirmed=form.confirm.data),
        form=form,
        done=_("De stemming is gesloten en geteld. Dit is de uitslag."),
        to=url_for(".show", slug=wijk.slug, round_id=round_id),
        again=lambda refusal: _close_page(wijk, rnd, form, refusal),
    )


def _close_page(
    wijk: Neighbourhood, rnd: Round, form: CloseForm, refusal: Refusal | None = None
) -> Any:
    """The page to close the vote; again with the operation's refusal in its status (the round
    read afresh: the use case rolled back), or with 400 when the form had expired."""
    error, status = None, 200
    if refusal is not None and refusal.message is not None:
        error, status = refusal.message, refusal.status
        rnd = load_round(wijk, rnd.id)  # as it is now (the use case rolled back)
    elif refusal is not None:
        error, status = _("Het formulier was verlopen. Probeer het opnieuw."), 400
    return render_template(
        "results/close.html",
        wijk=wijk,
        rnd=rnd,
        form=form,
        error=error,
        turnout=voting_queries.turnout(rnd) if rnd.has_reached(Phase.VOTING) else None,
    ), status


@bp.get("/wijk/<slug>/rondes/<int:round_id>/uitslag")
@public
def show(slug: str, round_id: int) -> Any:
    wijk, rnd = load_wijk_round(slug, round_id)
    if not queries.has_result(rnd):
        abort(404)

    def body() -> str:
        """The same for everyone (the result never changes): built once per language."""
        result = queries.result_of(rnd)
        assert result is not None  # has_result said so, and a stored result is never deleted
        return render_template(
            "results/_body.html",
            wijk=wijk,
            rnd=rnd,
            result=result,
            lines=queries.lines_with_explanations(result),
            chart=queries.bar_chart(result),
            projects=queries.projects_of(result),
            rule_text=queries.rule_explained(result),
            rule_name=queries.variant_label(result.rule, result.completion),
            turnout=voting_queries.turnout(rnd),
        )

    return render_template(
        "results/show.html",
        wijk=wijk,
        rnd=rnd,
        body=Markup(fragment(f"result|{rnd.id}|{current_locale_name()}", body)),  # noqa: S704
        may_compare=permissions.is_board(current_user, wijk)
        or permissions.is_councillor(current_user, wijk),
    )


def _download(body: str, mimetype: str, filename: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/wijk/<slug>/rondes/<int:round_id>/uitslag.csv")
@public
def download_csv(slug: str, round_id: int) -> Response:
    rnd, result = _result(wijk_or_404(slug), round_id)
    return _download(queries.as_csv(result), "text/csv", f"uitslag-ronde-{rnd.id}.csv")


@bp.get("/wijk/<slug>/rondes/<int:round_id>/uitslag.json")
@public
def download_json(slug: str, round_id: int) -> Response:
    rnd, result = _result(wijk_or_404(slug), round_id)
    return _download(queries.as_json(result), "application/json", f"uitslag-ronde-{rnd.id}.json")


@bp.get("/wijk/<slug>/rondes/<int:round_id>/stembiljetten.pb")
@public
def download_ballots(slug: str, round_id: int) -> Response:
    rnd, result = _result(wijk_or_404(slug), round_id)
    return _download(result.ballots_file, "text/plain", f"stembiljetten-ronde-{rnd.id}.pb")


@bp.get("/wijk/<slug>/rondes/<int:round_id>/uitslag/vergelijken")
@oversight_required
def compare(wijk: Neighbourhood, round_id: int) -> Any:
    rnd, result = _result(wijk, round_id)
    titles = {line.proposal_id: line.proposal.title for line in result.lines}
    costs = {line.proposal_id: line.cost_cents for line in result.lines}
    return render_template(
        "results/compare.html",
        wijk=wijk,
        rnd=rnd,
        result=result,
        variants=queries.what_if(result),
        titles=titles,
        costs=costs,
    )
