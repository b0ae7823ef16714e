"""Round pages: the public overview and round page; the board's round form and phase buttons."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user

from .. import permissions
from ..actions import Refusal, run_action
from ..dialogue import queries as dialogue_queries
from ..extensions import paginate
from ..forms import options
from ..guards import board_required, public
from ..i18n import current_locale_name, local_to_utc, utc_to_local
from ..loaders import load_round, wijk_or_404
from ..money import format_euros_input
from ..neighbourhoods.models import Neighbourhood
from ..pagecache import fragment
from ..voting import queries as voting
from . import operations, queries
from .forms import ExtendVotingForm, PhaseForm, RoundForm
from .models import (
    PHASE_DATE_FIELDS,
    Aggregation,
    BallotType,
    Eligibility,
    Phase,
    Round,
    RoundError,
    phase_label,
)

bp = Blueprint("rounds", __name__)


@bp.get("/wijk/<slug>/rondes")
@public
def index(slug: str) -> str:
    wijk = wijk_or_404(slug)
    is_board = permissions.is_board(current_user, wijk)
    page = paginate(queries.rounds_of(wijk, include_concepts=is_board))
    queries.all_as_of_now(page.items)
    return render_template("rounds/index.html", wijk=wijk, page=page, is_board=is_board)


@bp.get("/wijk/<slug>/rondes/<int:round_id>")
@public
def show(slug: str, round_id: int) -> str:
    wijk = wijk_or_404(slug)
    rnd = load_round(wijk, round_id)
    # a form carries a token in the session: only for those who use it
    return _round_page(wijk, rnd, _phase_form(rnd) if rnd.can_manage(current_user) else None)


def _round_page(
    wijk: Neighbourhood,
    rnd: Round,
    phase_form: PhaseForm | None,
    phase_error: str | None = None,
    extend_form: ExtendVotingForm | None = None,
) -> str:
    """The round's page; with ``phase_form`` (the board's), its phase buttons and beside them
    ``phase_error``, why a move was refused; during the vote the board's form to extend it
    (``extend_form``: the one refused, with its errors)."""
    if extend_form is None and phase_form is not None and rnd.phase == Phase.VOTING:
        extend_form = _extend_form(rnd)
    return render_template(
        "rounds/show.html",
        wijk=wijk,
        rnd=rnd,
        counts=queries.state_counts(rnd),
        is_board=phase_form is not None,
        refusal=rnd.proposal_refusal(current_user),
        phase_form=phase_form,
        phase_error=phase_error,
        extend_form=extend_form,
        places=voting.voting_places(rnd) if not rnd.has_reached(Phase.RESULT) else [],
        **_dialogue(rnd),
    )


# --- the board --------------------------------------------------------------------------------


def _dialogue(rnd: Round) -> dict[str, Any]:
    return {
        "topics": dialogue_queries.topics_of(rnd, include_proposed=rnd.can_manage(current_user)),
        "meetings": dialogue_queries.meetings_of(rnd),
        # counted once per change (a cast ballot is no change to the public pages: the figure
        # may lag by up to PAGE_CACHE_SECONDS while the vote is on)
        "turnout": fragment(
            f"turnout|{rnd.id}|{current_locale_name()}", lambda: voting.turnout(rnd)
        )
        if rnd.has_reached(Phase.VOTING)
        else None,
    }


def _round_form(wijk: Neighbourhood, rnd: Round | None = None, formdata: Any = None) -> RoundForm:
    if rnd is None:
        form = RoundForm(formdata=formdata)
        if formdata is None:
            form.categories.data = "\n".join(
                [_("Groen"), _("Ontmoeting"), _("Jeugd"), _("Zorg"), _("Veiligheid")]
            )
            form.criteria.data = "\n".join(
                [
                    _("Het voorstel is goed voor de wijk of de buurt."),
                    _("Het kan binnen een jaar worden uitgevoerd."),
                    _("Het past binnen de wet en de regels van de gemeente."),
                    _("Er zijn geen vaste kosten voor later."),
                ]
            )
    else:
        form = RoundForm(formdata=formdata)
        if formdata is None:
            for name in (
                "title",
                "introduction",
                "min_age",
                "workers_eligible",
                "support_enabled",
                "support_threshold",
                "ballot_max_choices",
                "ballot_points",
                "ballot_min_choices",
                "ballot_min_percent",
                "ballot_max_points_each",
            ):
                getattr(form, name).data = getattr(rnd, name)
            form.budget.data = format_euros_input(rnd.budget_cents)
            form.min_cost.data = format_euros_input(rnd.min_cost_cents)
            form.max_cost.data = format_euros_input(rnd.max_cost_cents)
            form.categories.data = "\n".join(c.name for c in rnd.categories)
            form.criteria.data = "\n".join(c.text for c in rnd.criteria)
            form.areas.data = [a.id for a in rnd.areas]
            form.ballot_type.data = rnd.ballot_type.value
            form.aggregation.data = rnd.aggregation.value
            form.eligibility.data = rnd.eligibility.value
            for name in PHASE_DATE_FIELDS.values():
                getattr(form, name).data = utc_to_local(getattr(rnd, name))
    form.areas.choices = options([(a.id, a.name) for a in wijk.areas])
    return form


def _data(form: RoundForm) -> operations.RoundData:
    return operations.RoundData(
        title=form.title.data or "",
        introduction=form.introduction.data or "",
        budget_cents=form.budget.cents or 0,
        min_cost_cents=form.min_cost.cents or 0,
        max_cost_cents=form.max_cost.cents or 0,
        categories=form.category_list(),
        criteria=form.criteria_list(),
        area_ids=list(form.areas.data or []),
        min_age=form.min_age.data,
        workers_eligible=bool(form.workers_eligible.data),
        support_enabled=bool(form.support_enabled.data),
        support_threshold=form.support_threshold.data or 0,
        ballot_type=BallotType(form.ballot_type.data),
        ballot_max_choices=form.ballot_max_choices.data,
        ballot_points=form.ballot_points.data,
        ballot_min_choices=form.ballot_min_choices.data,
        ballot_min_percent=form.ballot_min_percent.data,
        ballot_max_points_each=form.ballot_max_points_each.data,
        eligibility=Eligibility(form.eligibility.data or Eligibility.ACCOUNTS_AND_CODES),
        aggregation=Aggregation(form.aggregation.data),
        dates={phase: local_to_utc(value) for phase, value in form.date_values().items()},
    )


def _form_page(
    wijk: Neighbourhood, form: RoundForm, rnd: Round | None, refusal: Refusal | None = None
) -> Any:
    """The round form; after a refused save, with the refusal above the form."""
    if refusal is not None and refusal.message:
        form.form_errors.append(refusal.message)
    status = refusal.status if refusal is not None else 200
    return render_template("rounds/form.html", wijk=wijk, form=form, rnd=rnd), status


@bp.route("/wijk/<slug>/bestuur/rondes/nieuw", methods=["GET", "POST"])
@board_required
def create(wijk: Neighbourhood) -> Any:
    form = _round_form(wijk, formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        return _form_page(wijk, form, None)
    return run_action(
        lambda: operations.create_round(current_user, wijk, _data(form)),
        form=form,
        done=_("De ronde is aangemaakt als concept. Alleen het bestuur ziet hem nu."),
        to=lambda rnd: url_for(".show", slug=wijk.slug, round_id=rnd.id),
        again=lambda refusal: _form_page(wijk, form, None, refusal),
    )


@bp.route("/wijk/<slug>/bestuur/rondes/<int:round_id>/bewerken", methods=["GET", "POST"])
@board_required
def edit(wijk: Neighbourhood, round_id: int) -> Any:
    rnd = load_round(wijk, round_id)
    form = _round_form(wijk, rnd, formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        return _form_page(wijk, form, rnd)
    return run_action(
        lambda: operations.update_round(current_user, rnd, _data(form)),
        form=form,
        done=_("De ronde is opgeslagen."),
        to=url_for(".show", slug=wijk.slug, round_id=round_id),
        # the round as it is now (the use case rolled back)
        again=lambda refusal: _form_page(wijk, form, load_round(wijk, round_id), refusal),
    )


def _phase_form(rnd: Round, formdata: Any = None) -> PhaseForm:
    form = PhaseForm(formdata=formdata)
    form.target.choices = options([(p.value, phase_label(p)) for p in rnd.back_targets()])
    if formdata is None:
        form.current.data = rnd.phase.value  # the phase this page shows (see _expected)
    return form


def _expected(form: PhaseForm) -> Phase:
    """The phase the board's page showed when the button was pressed: the operation moves the
    round only if it is still there (a second click or a second board member: 409). A form
    without it (an old page, a hand-made request) moves nothing: replayed, it could move the
    round one phase further each time."""
    try:
        return Phase(form.current.data or "")
    except ValueError:
        raise RoundError(
            _("Dit formulier is verouderd. Laad de pagina opnieuw en kies dan opnieuw.")
        ) from None


def _phase_page(wijk: Neighbourhood, round_id: int, form: PhaseForm, refusal: Refusal) -> Any:
    """The round's page again after a refused move, with the refusal beside the buttons."""
    rnd = load_round(wijk, round_id)  # as it is now (the use case rolled back)
    form.current.data = rnd.phase.value  # the page now shows this phase
    error = refusal.message or " ".join(refusal.errors)
    return _round_page(wijk, rnd, form, error), refusal.status


def _move(
    wijk: Neighbourhood,
    round_id: int,
    step: Callable[[Round, PhaseForm], object],
    done: Callable[[Round], str],
    *,
    check_form: bool = True,
) -> Any:
    """A phase button of the board: ``step`` moves the round (the phase form checked first,
    unless ``check_form`` is off), then the round's page (303) with what ``done`` says of the
    round; refused, the page again with the refusal beside the buttons."""
    rnd = load_round(wijk, round_id)
    form = _phase_form(rnd, formdata=request.form)
    return run_action(
        lambda: step(rnd, form),
        form=form if check_form else None,
        done=lambda _result: done(rnd),
        to=url_for(".show", slug=wijk.slug, round_id=round_id),
        again=lambda refusal: _phase_page(wijk, round_id, form, refusal),
    )


def _moved(rnd: Round) -> str:
    return _("De ronde is nu in de fase '%(phase)s'.", phase=phase_label(rnd.phase))


@bp.post("/wijk/<slug>/bestuur/rondes/<int:round_id>/publiceren")
@board_required
def publish(wijk: Neighbourhood, round_id: int) -> Any:
    return _move(
        wijk,
        round_id,
        lambda rnd, _form: operations.publish(current_user, rnd),
        lambda _rnd: _("De ronde is gepubliceerd."),
        check_form=False,
    )


@bp.post("/wijk/<slug>/bestuur/rondes/<int:round_id>/volgende-fase")
@board_required
def advance(wijk: Neighbourhood, round_id: int) -> Any:
    return _move(
        wijk,
        round_id,
        lambda rnd, form: operations.advance(
            current_user, rnd, form.reason.data or "", expected=_expected(form)
        ),
        _moved,
    )


@bp.post("/wijk/<slug>/bestuur/rondes/<int:round_id>/terug")
@board_required
def go_back(wijk: Neighbourhood, round_id: int) -> Any:
    def move_back(rnd: Round, form: PhaseForm) -> None:
        if not form.target.data:
            raise RoundError(_("Kies de fase waar de ronde naartoe gaat."))
        operations.go_back(
            current_user,
            rnd,
            Phase(form.target.data),
            form.reason.data or "",
            expected=_expected(form),
        )

    return _move(wijk, round_id, move_back, _moved)


# --- extending the vote -----------------------------------------------------------------------


def _extend_form(rnd: Round, formdata: Any = None) -> ExtendVotingForm:
    form = ExtendVotingForm(formdata=formdata)
    if formdata is None and rnd.voting_ends is not None:
        form.current_end.data = rnd.voting_ends.isoformat(timespec="minutes")
        form.ends.data = utc_to_local(rnd.voting_ends)
    return form


def _shown_end(form: ExtendVotingForm) -> datetime | None:
    """The end of voting the board's page showed (see ``extend_voting``'s ``expected_end``)."""
    try:
        shown = datetime.fromisoformat(form.current_end.data or "")
        # (the page writes it in UTC with its offset; a hand-made one without: UTC as well)
        return shown if shown.tzinfo is not None else shown.replace(tzinfo=UTC)
    except ValueError:
        raise RoundError(
            _("Dit formulier is verouderd. Laad de pagina opnieuw en kies dan opnieuw.")
        ) from None


def _new_end(form: ExtendVotingForm) -> datetime:
    when = local_to_utc(form.ends.data)
    if when is None:  # (the form requires it)
        raise RoundError(_("Kies het nieuwe einde van de stemming."))
    return when


@bp.post("/wijk/<slug>/bestuur/rondes/<int:round_id>/stemming-verlengen")
@board_required
def extend_voting(wijk: Neighbourhood, round_id: int) -> Any:
    """A later end of voting, with a public reason (rounds.operations.extend_voting)."""
    rnd = load_round(wijk, round_id)
    form = _extend_form(rnd, formdata=request.form)

    def again(refusal: Refusal) -> Any:
        if refusal.message:
            form.form_errors.append(refusal.message)
        fresh = load_round(wijk, round_id)  # as it is now (the use case rolled back)
        return _round_page(wijk, fresh, _phase_form(fresh), None, form), refusal.status

    return run_action(
        lambda: operations.extend_voting(
            current_user,
            rnd,
            _new_end(form),
            form.reason.data or "",
            expected_end=_shown_end(form),
        ),
        form=form,
        done=lambda ext: _(
            "De stemming is verlengd tot %(when)s.",
            when=format_datetime(ext.ends_after, "d MMM yyyy HH:mm"),
        ),
        to=url_for(".show", slug=wijk.slug, round_id=round_id),
        again=again,
    )
