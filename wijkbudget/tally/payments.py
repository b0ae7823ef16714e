"""What the supporters of each project chosen by equal shares paid for it: the figures behind
the sentence on the result page ("the 30 supporters had € 7.500 left together; 24 paid € 250
each, 6 paid all they had left").

``pay`` follows the engine's own run: its per-voter budget, its selection order and the exact
price of each step (``MesRun.prices``, money per unit of utility). Every group of identical
ballots starts with the per-voter budget and pays, project by project, as the Method of Equal
Shares does: the price times its utility (the cost for approval ballots, the points for
cumulative ones), or all it has left when that is less. Everything is exact (``Fraction``).
What the supporters pay together must be the project's cost exactly; if it is not, the engine
and this account disagree, and ``pay`` raises rather than explain a wrong outcome (the tests
check the account against the exact reference and on real elections).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .prep import Prep


@dataclass(frozen=True)
class Payment:
    """How the supporters of one project chosen by equal shares paid for it, at the moment it
    was chosen. Amounts in internal units (``Prep.scale`` of them make a currency unit)."""

    had: Fraction  # what all its supporters had left together just before
    price: Fraction  # paying in full: per supporter (approval), per point (cumulative)
    full: int  # supporters who paid in full (price, or price times their points)
    full_paid: Fraction  # what they paid together
    rest: int  # supporters who had less left than that, and paid all of it
    rest_paid: Fraction  # what they paid together
    broke: int  # supporters with nothing left: their share went to projects chosen earlier

    @property
    def kept(self) -> Fraction:
        """What its supporters still had together after paying."""
        return self.had - self.full_paid - self.rest_paid


class PaymentMismatch(AssertionError):
    """The payments at the engine's prices do not add up to a project's cost."""


def pay(prep: Prep, b: Fraction, order: list[int], prices: list[Fraction]) -> dict[int, Payment]:
    """The payment of each project in ``order`` (project numbers, the engine's selection order)
    at the engine's ``prices`` (one per step, per unit of utility), every voter starting with
    ``b``. Raises ``PaymentMismatch`` when what the supporters pay is not the cost."""
    if len(order) != len(prices):
        raise PaymentMismatch(f"{len(order)} projects chosen, {len(prices)} prices")
    wanted = set(order)
    money = [Fraction(b)] * len(prep.groups)
    # (group, weight, utility) per chosen project: only those are followed
    supporters: dict[int, list[tuple[int, int, int]]] = {p: [] for p in wanted}
    for g, (items, weight) in enumerate(prep.groups):
        for p, utility in prep.util_items(items):
            if p in wanted:
                supporters[p].append((g, weight, utility))
    payments: dict[int, Payment] = {}
    for p, rho in zip(order, prices, strict=True):
        had = full_paid = rest_paid = Fraction(0)
        full = rest = broke = 0
        for g, weight, utility in supporters[p]:
            left = money[g]
            due = rho * utility
            had += weight * left
            if left == 0:
                broke += weight
            elif left < due:
                rest += weight
                rest_paid += weight * left
                money[g] = Fraction(0)
            else:
                full += weight
                full_paid += weight * due
                money[g] = left - due
        if full_paid + rest_paid != prep.cost[p]:
            raise PaymentMismatch(
                f"project {prep.ids[p]}: paid {full_paid + rest_paid}, costs {prep.cost[p]}"
            )
        payments[p] = Payment(
            had=had,
            price=rho if prep.cumulative else rho * prep.cost[p],
            full=full,
            full_paid=full_paid,
            rest=rest,
            rest_paid=rest_paid,
            broke=broke,
        )
    return payments
