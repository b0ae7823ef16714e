"""The wijk's pot: the public geldstroom (income → pot → round → project → expense → back), and
the board's page to record and confirm income (four eyes) and to draw a round's budget from the
pot. Each board action runs one operation through ``actions.run_action``; a refusal shows the
board's page again with the refusal at the top, in its status (403, 409, 422)."""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...actions import Refusal, run_action
from ...extensions import db
from ...guards import board_required, public
from ...loaders import in_wijk_or_404, wijk_or_404
from ...neighbourhoods.models import Neighbourhood
from ...results.models import Result
from ...rounds.models import Round
from .. import flow, operations, queries
from ..forms import IncomeForm
from ..models import Income, IncomeState
from .common import bp

#: how many rounds (newest first) the board's page offers to draw a budget for
BOARD_ROUNDS = 20


@bp.get("/wijk/<slug>/geld/geldstroom")
@public
def geldstroom(slug: str) -> Any:
    wijk = wijk_or_404(slug)
    return render_template(
        "spending/geldstroom.html",
        wijk=wijk,
        flow=flow.wijk_flow(wijk),
        status_label=queries.status_label,
    )


def board_page(wijk: Neighbourhood, status: int = 200, **extra: Any) -> Any:
    """The board's pot page; ``income_form`` as submitted (with its errors), ``action_error`` a
    refusal to show at the top."""
    pending = list(
        db.session.scalars(
            select(Income)
            .where(Income.neighbourhood_id == wijk.id, Income.state == IncomeState.PENDING)
            .options(selectinload(Income.recorded_by))
            .order_by(Income.recorded_at)
        )
    )
    rounds = list(
        db.session.scalars(
            select(Round)
            .where(Round.neighbourhood_id == wijk.id)
            .order_by(Round.id.desc())
            .limit(BOARD_ROUNDS)
        )
    )
    ids = [r.id for r in rounds]
    counted = set(db.session.scalars(select(Result.round_id).where(Result.round_id.in_(ids))))
    sums = queries.by_round_and_kind(ids)
    return render_template(
        "spending/pot_board.html",
        wijk=wijk,
        pot=queries.wijk_available(wijk),
        pending=pending,
        refusals={i.id: i.confirm_refusal(current_user) for i in pending},
        rounds=[(r, sums[r.id], r.id in counted) for r in rounds],
        income_form=extra.get("income_form") or IncomeForm(formdata=None),
        action_error=extra.get("action_error"),
    ), status


def _again(wijk: Neighbourhood, form: IncomeForm | None = None) -> Any:
    def show(refusal: Refusal) -> Any:
        if refusal.message is None and form is not None:
            return board_page(wijk, 422 if form.errors else 400, income_form=form)
        return board_page(wijk, refusal.status, action_error=refusal.message, income_form=form)

    return show


@bp.get("/wijk/<slug>/bestuur/geld")
@board_required
def pot_board(wijk: Neighbourhood) -> Any:
    return board_page(wijk)


@bp.post("/wijk/<slug>/bestuur/geld/inkomsten")
@board_required
def record_income(wijk: Neighbourhood) -> Any:
    form = IncomeForm()
    return run_action(
        lambda: operations.record_income(
            current_user,
            wijk,
            operations.IncomeData(
                amount_cents=form.amount.cents or 0,
                source=form.source.data or "",
                received_on=form.received_on.data,
                purpose=form.purpose.data or "",
            ),
        ),
        form=form,
        done=_("De inkomsten zijn ingevoerd. Een ander bestuurslid moet ze nog bevestigen."),
        to=url_for(".pot_board", slug=wijk.slug),
        again=_again(wijk, form),
    )


@bp.post("/wijk/<slug>/bestuur/geld/inkomsten/<int:income_id>/bevestigen")
@board_required
def confirm_income(wijk: Neighbourhood, income_id: int) -> Any:
    income = in_wijk_or_404(db.session.get(Income, income_id), wijk)
    return run_action(
        lambda: operations.confirm_income(current_user, income),
        done=_("De inkomsten zijn bevestigd en staan in de pot en het grootboek."),
        to=url_for(".pot_board", slug=wijk.slug),
        again=_again(wijk),
    )


@bp.post("/wijk/<slug>/bestuur/geld/inkomsten/<int:income_id>/intrekken")
@board_required
def withdraw_income(wijk: Neighbourhood, income_id: int) -> Any:
    income = in_wijk_or_404(db.session.get(Income, income_id), wijk)
    return run_action(
        lambda: operations.withdraw_income(current_user, income),
        done=_("De inkomsten zijn ingetrokken. Ze hebben nooit meegeteld."),
        to=url_for(".pot_board", slug=wijk.slug),
        again=_again(wijk),
    )


@bp.post("/wijk/<slug>/bestuur/geld/rondes/<int:round_id>/budget")
@board_required
def draw_budget(wijk: Neighbourhood, round_id: int) -> Any:
    rnd = in_wijk_or_404(db.session.get(Round, round_id), wijk)
    return run_action(
        lambda: operations.draw_budget(current_user, rnd),
        done=_("Het budget van de ronde is uit de pot gehaald en staat in het grootboek."),
        to=url_for(".pot_board", slug=wijk.slug),
        again=_again(wijk),
    )
