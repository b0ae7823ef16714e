"""The fast engine: one run of the Method of Equal Shares (``mes_fast``), exact like the
reference (exact.py) and much faster.

A run keeps a heap of projects by price per unit of utility over the state of the run
(fastrun.py: budget classes, scoring with floats checked against rigorous error bounds, funding)
and takes the cheapest each round, settling near ties exactly. With a grid of budgets it also
proves which other budgets give the same run (replay.py), and with ``within`` it stops once its
outcome cannot end the add-one search (search.py); both let that search skip budgets.
"""

from __future__ import annotations

import heapq
import math
import weakref
from fractions import Fraction

import numpy as np

from .fastrun import CLASS0, CLOSE, ONE, RICH, Entry, Eval, FastRun, push_scored
from .prep import Int64s, MesRun, Prep, TieKey
from .replay import Replay

#: an entry of the approval heap of round 0 (``first_heap``): a heap entry, the project's
#: supporters and its cost
FirstEntry = tuple[float, TieKey, int, Eval, int, int]
#: the approval entries of round 0 per prepared election: the same for every budget
_FIRST: weakref.WeakKeyDictionary[Prep, list[FirstEntry]] = weakref.WeakKeyDictionary()


def mes_fast(
    prep: Prep,
    b: Fraction,
    want_money: bool = False,
    grid: list[int] | None = None,
    within: int | None = None,
) -> MesRun:
    """One MES run with per-voter budget b. With ``grid`` (whole-unit budgets, ascending, the
    last one b), also prove which of those budgets, and which budgets between them, give this
    same run (``Replay``; the result's ``covered``); the run stops early (``stopped``, the
    order cut short) when nothing is left to prove. With ``within`` (a budget; the add-one
    search), the run also stops early (``stopped``) once its outcome cannot cost more than
    ``within`` nor fund every supported project: it cannot end the search. A project once
    unaffordable stays so (money only falls), so the outcome is at most what is funded plus
    the projects still in the heap, and some project is left out if any has left the heap (the
    proofs of a grid may drop projects from the heap unnoticed: the bound holds all the same).

    The heap holds (float rho, tie-break key, project, evaluation); float rhos are accurate to
    better than CLOSE / 3 (relative), so only entries within CLOSE are compared exactly."""
    state = FastRun(prep, b)
    # the true rho of a project is rho_internal / div (approval: utility = cost, internal 1)
    div = [1] * len(prep.ids) if prep.cumulative else [c or 1 for c in prep.cost]
    replay = Replay(state, grid) if grid is not None else None

    def exact_key(entry: Entry) -> tuple[Fraction, TieKey]:
        return (state.exact_rho(entry[3]) / div[entry[2]], entry[1])

    heap = first_heap(prep, state, div)
    order: list[int] = []
    stopped = False  # (with a grid or ``within``) stopped early: ``order`` is cut short
    # (with ``within``) the most the outcome can cost, and whether a project has left the heap
    most = sum(prep.cost[e[2]] for e in heap)
    left_out = len(heap) < len(prep.supported)
    cut = False  # (with ``within``) stopped early because the outcome cannot end the search
    while heap:
        if within is not None and left_out and most <= within:
            stopped = cut = True
            break
        rnd = len(state.chosen)
        top = heapq.heappop(heap)
        if top[3].rnd != rnd:  # stale: re-score
            if not push_scored(heap, state, top[2], top[1], div):
                most -= prep.cost[top[2]]
                left_out = True
            continue
        near = top[0] * (1 + CLOSE)
        if heap and heap[0][0] <= near:  # a near tie: settle it exactly
            cluster = [top]
            while heap and heap[0][0] <= near:
                cluster.append(heapq.heappop(heap))
            if any(e[3].rnd != rnd for e in cluster):
                for e in cluster:
                    if e[3].rnd != rnd:
                        if not push_scored(heap, state, e[2], e[1], div):
                            most -= prep.cost[e[2]]
                            left_out = True
                    else:
                        heapq.heappush(heap, e)
                continue
            cluster.sort(key=exact_key)
            top = cluster[0]
            for e in cluster[1:]:
                heapq.heappush(heap, e)
        _rho, tk, p, ev = top
        if replay is not None:
            replay.check(ev, heap, div)
            if not (replay.piece.any() or replay.point[1:].any()):  # nothing left to prove
                stopped = True
                break
        state.fund(ev)
        if replay is not None:
            replay.funded()
        order.append(p)
    covered = replay.covered(prep.scale) if replay is not None else None
    money = prices = None
    if want_money:
        money = money_left(state)
        prices = [state.exact_rho(ev) / div[ev.p] for ev in state.chosen]
    return MesRun(order, money, prices, covered=covered, stopped=stopped, cut=cut)


def first_heap(prep: Prep, state: FastRun, div: list[int]) -> list[Entry]:
    """The heap of round 0. Approval: every project's price is cost / supporters, whatever the
    budget, so the sorted entries (a heap) are made once per election and each run keeps those
    its supporters can pay (their evaluations are shared; nothing changes them but the exact
    rho, made on demand, which is the same for every run)."""
    if prep.cumulative:
        heap: list[Entry] = []
        for p in prep.supported:
            ev = state.score(p)
            if ev.rho_f is not None:
                heap.append((ev.rho_f / div[p], prep.tkey[p], p, ev))
        heapq.heapify(heap)
        return heap
    first = _FIRST.get(prep)
    if first is None:
        first = []
        for p in prep.supported:
            w, cost = prep.supp[p], prep.cost[p]
            weight = np.array([w], dtype=np.int64)
            ev = Eval(p, 0, cost / w, None, CLASS0, ONE, weight, None, RICH, w)
            first.append((cost / w / div[p], prep.tkey[p], p, ev, w, cost))
        first.sort(key=lambda e: e[:2])  # (the keys are unique: the tie-break ends with the id)
        _FIRST[prep] = first
    num, den = state.b.numerator, state.b.denominator
    return [e[:4] for e in first if num * e[4] >= e[5] * den]  # (as in FastRun.score)


def money_left(state: FastRun) -> list[Fraction]:
    """Exact money left per project's supporters: b * W_p - sum_t coef[p, t] * rho_t, with
    all rhos over one common denominator (integer sums instead of Fraction sums)."""
    m = len(state.prep.ids)
    T = len(state.chosen)
    proj: list[Int64s] = []
    cls: list[Int64s] = []
    wts: list[Int64s] = []
    for p in range(m):
        rows = state.arr.groups[p]
        if len(rows):
            c, inv = np.unique(state.class_of[rows], return_inverse=True)
            w = np.bincount(inv, weights=state.arr.weights[p], minlength=len(c))
            keep = ~state.zero[c]
            proj.append(np.full(int(keep.sum()), p, dtype=np.int64))
            cls.append(c[keep])
            wts.append(w[keep].astype(np.int64))
    if not proj:
        return [Fraction(0)] * m
    proj_a, cur, w = np.concatenate(proj), np.concatenate(cls), np.concatenate(wts)
    total_w = np.bincount(proj_a, weights=w, minlength=m).astype(np.int64).tolist()
    coef = np.zeros(m * max(T, 1), dtype=np.int64)
    while len(cur):
        par = state.parent[cur]
        has = par >= 0
        np.add.at(coef, proj_a[has] * T + state.rnd_of[cur[has]], w[has] * state.pay_u[cur[has]])
        cur, w, proj_a = par[has], w[has], proj_a[has]
    rhos = [state.exact_rho(ev) for ev in state.chosen]
    den = state.b.denominator
    for r in rhos:
        den = den * r.denominator // math.gcd(den, r.denominator)
    scaled = [r.numerator * (den // r.denominator) for r in rhos]
    b_scaled = state.b.numerator * (den // state.b.denominator)
    coef_rows = coef.reshape(m, max(T, 1)).tolist()
    out: list[Fraction] = []
    for p in range(m):
        num = b_scaled * total_w[p]
        row = coef_rows[p]
        for t in range(T):
            if row[t]:
                num -= row[t] * scaled[t]
        out.append(Fraction(num, den))
    return out
