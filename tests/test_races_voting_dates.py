"""Races of the extension of voting against the real PostgreSQL (issue 22): board members
extending at the same instant give one extension (the others 409, never a 500); an extension
and the close of the vote at the same instant: exactly one of them happens, and the round is in
a state that agrees with it (extended and still voting, or closed and not extended)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.concurrency import (
    audits,
    count,
    fresh,
    postgres_only,
    press_at_once,
    race,
    repeat,
    statuses,
)
from tests.test_races_rounds import board_tabs  # noqa: F401 (the fixture)
from wijkbudget.accounts.models import User
from wijkbudget.errors import DomainError
from wijkbudget.extensions import db, utcnow
from wijkbudget.i18n import AMSTERDAM
from wijkbudget.proposals.models import State
from wijkbudget.results import operations as results
from wijkbudget.rounds import operations
from wijkbudget.rounds.models import Phase, Round, VotingExtension
from wijkbudget.usecase import Conflict

pytestmark = postgres_only

N = 6


def _voting(west, make_round, make_proposal, board, *, ends_in: timedelta) -> Round:
    rnd = make_round(west, Phase.VOTING, budget=500_000, max_cost=400_000)
    make_proposal(rnd, board, State.ADMITTED, title="Speeltuin", cost=300_000, commit=False)
    now = utcnow().replace(second=0, microsecond=0)
    rnd.voting_opens = now - timedelta(days=1)
    rnd.result_opens = now + ends_in
    db.session.commit()
    return rnd


def test_extensions_at_once_extend_once(
    west,
    board,
    board_tabs,  # noqa: F811 (the fixture of test_races_rounds)
    make_round,
    make_proposal,
):
    tabs, _members = board_tabs
    for _ in repeat():
        rnd = _voting(west, make_round, make_proposal, board, ends_in=timedelta(days=2))
        end = rnd.result_opens
        round_id = rnd.id
        url = f"/wijk/{west.slug}/bestuur/rondes/{round_id}/stemming-verlengen"
        local = end.astimezone(AMSTERDAM)  # the form is in Dutch time
        responses = press_at_once(
            tabs,
            url,
            lambda i, local=local, end=end: {
                "ends": f"{local + timedelta(days=1 + i):%Y-%m-%dT%H:%M}",
                "reason": f"Reden {i}",
                "current_end": end.isoformat(timespec="minutes"),
            },
        )
        assert sorted(statuses(responses)) == [303] + [409] * (N - 1), statuses(responses)
        fresh()
        extensions = list(
            db.session.scalars(select(VotingExtension).where(VotingExtension.round_id == round_id))
        )
        assert len(extensions) == 1
        assert db.session.get(Round, round_id).result_opens == extensions[0].ends_after
        assert extensions[0].ends_before == end
        assert audits("round.extend_voting", round_id, "budget_round") == 1


def test_an_extension_and_the_close_at_once_one_of_them_happens(
    app, west, board, board2, make_round, make_proposal
):
    board_id, board2_id = board.id, board2.id
    for _ in repeat():
        rnd = _voting(west, make_round, make_proposal, board, ends_in=timedelta(minutes=1))
        round_id, end = rnd.id, rnd.result_opens
        fresh()

        def contender(i: int, round_id: int = round_id, end: Any = end) -> Any:
            def act() -> str:
                with app.test_request_context():
                    try:
                        if i == 0:  # the board's clock: just before the end
                            operations.extend_voting(
                                db.session.get(User, board2_id),
                                db.session.get(Round, round_id),
                                end + timedelta(days=1),
                                "Te weinig stemmen",
                                now=end - timedelta(seconds=1),
                                expected_end=end,
                            )
                        else:  # the other board member's: just after it
                            results.close_voting(
                                db.session.get(User, board_id),
                                db.session.get(Round, round_id),
                                confirmed=True,
                                now=end + timedelta(seconds=1),
                            )
                        return "done"
                    except Conflict:
                        return "conflict"
                    except DomainError:
                        return "refused"
                    finally:
                        db.session.remove()

            return act

        outcome = race(2, contender)
        assert sorted(outcome) in (["done", "refused"], ["conflict", "done"]), outcome
        fresh()
        rnd = db.session.get(Round, round_id)
        extended = count(VotingExtension, VotingExtension.round_id == round_id)
        if outcome[0] == "done":  # extended first: the close found the vote still running
            assert rnd.phase == Phase.VOTING and extended == 1
            assert rnd.result_opens == end + timedelta(days=1)
        else:  # closed first: the extension found the round out of voting
            assert rnd.phase == Phase.RESULT and extended == 0
            assert rnd.result_opens != end + timedelta(days=1)
