"""The exact reference implementation of one run of the Method of Equal Shares: plain, slow,
obviously right.

Every voter group's money is a ``Fraction``; each round scores every remaining project from
scratch (``affordability``) and funds the cheapest per unit of utility. The fast engine
(engine.py) must give the same selection order and the same money left, and the tests check it
against this one on many random elections; the rules (rules.py) and the add-one search
(search.py) can run on either, as they share the ``Mes`` signature (prep.py).
"""

from __future__ import annotations

from fractions import Fraction

from .prep import MesRun, Prep, TieKey


def mes_exact(prep: Prep, b: Fraction, want_money: bool = False) -> MesRun:
    """One MES run with per-voter budget ``b``; with ``want_money``, what each project's
    supporters have left at the end and the price of each step."""
    m = len(prep.ids)
    budgets = [Fraction(b)] * len(prep.groups)
    weights = [w for _, w in prep.groups]
    supporters: list[list[tuple[int, int]]] = [[] for _ in range(m)]  # (group, utility)
    for g, (items, _w) in enumerate(prep.groups):
        for p, u in prep.util_items(items):
            supporters[p].append((g, u))
    remaining = set(prep.supported)
    order: list[int] = []
    prices: list[Fraction] = []
    while remaining:
        best: tuple[tuple[Fraction, TieKey], int] | None = None
        for p in sorted(remaining):
            rho = affordability(prep.cost[p], supporters[p], budgets, weights)
            if rho is None:
                continue
            key = (rho, prep.tkey[p])
            if best is None or key < best[0]:
                best = (key, p)
        if best is None:
            break
        (rho, _), p = best
        order.append(p)
        prices.append(rho)
        remaining.discard(p)
        for g, u in supporters[p]:
            budgets[g] -= min(budgets[g], rho * u)
    if not want_money:
        return MesRun(order, None)
    money = [
        sum((weights[g] * budgets[g] for g, _u in supporters[p]), Fraction(0)) for p in range(m)
    ]
    return MesRun(order, money, prices)


def affordability(
    cost: int, sup: list[tuple[int, int]], budgets: list[Fraction], weights: list[int]
) -> Fraction | None:
    """The smallest rho such that sum(w * min(budget, rho * u)) >= cost, or None."""
    if cost == 0:
        return Fraction(0)
    total = sum((weights[g] * budgets[g] for g, _u in sup), Fraction(0))
    if total < cost:
        return None
    need = Fraction(cost)
    util = sum(weights[g] * u for g, u in sup)
    for g, u in sorted(sup, key=lambda gu: budgets[gu[0]] / gu[1]):
        rho = need / util
        if rho * u <= budgets[g]:
            return rho
        need -= weights[g] * budgets[g]
        util -= weights[g] * u
    return None  # not reached: total >= cost
