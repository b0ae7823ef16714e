"""A round's ballot limits: a minimum above the maximum is refused, for the number of choices
(approval) and for the points per proposal (cumulative); a limit left empty or 0 is no limit."""

from __future__ import annotations

import pytest

from wijkbudget.rounds import operations
from wijkbudget.rounds.models import BallotType, RoundError

CHOICES = "Het minimum aantal keuzes is hoger dan het maximum."
POINTS = "Het maximum per voorstel is hoger dan het totaal aantal punten."


def _data(ballot_type: BallotType, **limits) -> operations.RoundData:
    return operations.RoundData(
        title="Wijkbudget 2027",
        introduction="Doe mee!",
        budget_cents=5_000_000,
        min_cost_cents=10_000,
        max_cost_cents=1_500_000,
        categories=["Groen"],
        criteria=["Goed voor de wijk"],
        ballot_type=ballot_type,
        **limits,
    )


@pytest.mark.parametrize(
    ("ballot_type", "limits", "refusal"),
    [
        (BallotType.APPROVAL, {"ballot_min_choices": 4, "ballot_max_choices": 3}, CHOICES),
        (BallotType.APPROVAL, {"ballot_min_choices": 3, "ballot_max_choices": 3}, None),
        (BallotType.APPROVAL, {"ballot_min_choices": 4, "ballot_max_choices": None}, None),
        (BallotType.APPROVAL, {"ballot_min_choices": 4, "ballot_max_choices": 0}, None),
        (BallotType.CUMULATIVE, {"ballot_points": 10, "ballot_max_points_each": 11}, POINTS),
        (BallotType.CUMULATIVE, {"ballot_points": 10, "ballot_max_points_each": 10}, None),
        (BallotType.CUMULATIVE, {"ballot_points": 10, "ballot_max_points_each": None}, None),
        # the other kind's limits are not checked (and are emptied)
        (
            BallotType.CUMULATIVE,
            {"ballot_points": 10, "ballot_min_choices": 4, "ballot_max_choices": 3},
            None,
        ),  # fmt: skip
    ],
)
def test_a_minimum_above_its_maximum_is_refused(west, board, ballot_type, limits, refusal):
    data = _data(ballot_type, **limits)
    if refusal is None:
        rnd = operations.create_round(board, west, data)
        assert rnd.ballot_type == ballot_type
    else:
        with pytest.raises(RoundError, match=refusal):
            operations.create_round(board, west, data)
