"""The proof that a whole range of budgets gives the same run as one run: what lets the add-one
search (search.py) skip budgets.

``Replay`` follows one run of the fast engine (engine.py's ``mes_fast`` with a grid; the state
in fastrun.py) and replays each of its rounds at every grid budget at once, in floats with
rigorous bounds; the price functions below bound a project's price from above and from below.
What it proves is checked against the exact reference (exact.py) by the tests.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from .fastrun import CLOSE, ULP, Entry, Eval, FastRun, push_scored
from .prep import Bools, Floats, Int64s

#: a price estimate per grid budget, with the utility of the rich it was made with
Estimate = tuple[Floats, Floats]


class Replay:
    """Proof that a whole range of budgets gives the same run as this one (at b1), from the
    run at b1 and replays of its rounds at the grid budgets g_0 < ... < g_K = b1 (whole units).

    Take a budget g <= b1 at which the first t rounds fund the same projects as at b1. Then every
    voter has at most as much left at g as at b1 after each of those rounds (less money: higher
    prices, and after = max(0, before - rho * u)). Voters with nothing left at b1 have nothing
    at g; the others paid rho * u in every round at b1, so voters in the same class at b1 have
    the same ballot over the funded projects and the same money at g: the classes of the run at
    b1 are exact at g. Replaying the rounds at g over those classes (each round's price found
    from the monies at g, and the monies of its new classes as max(0, parent - rho * u)) gives
    the monies and prices at g. The replay is done in floats for all grid budgets at once, as
    bounds: ``lo``/``hi`` bound every class's money at g from below/above, ``rho_hi`` (from
    ``lo``) and ``rho_lo`` (from ``hi``) the price; each bound is checked rigorously (a bound
    that cannot be confirmed becomes the trivial one: infinity or 0).

    A grid budget g (``point``): when every other project's lower bound at g (its price at b1,
    the heap's key, or its replayed lower bound) is above rho_hi(g), round t's project is funded
    in round t at g too (by induction over the rounds). A piece j = [g_j, g_j+1] (``piece``):
    for b in it (with the same first t rounds), round t's project costs at most rho_hi(g_j)
    (more money than at g_j) and any other project at least its lower bound at g_j+1 (at most as
    much money); when those are above rho_hi(g_j), it is funded in round t at every b in the
    piece. Projects that cannot be paid at b1 cannot be paid at any b <= b1, so at the end of
    the run the points and pieces still alive give this run (``covered``). Decisions are strict
    (a tie in floats kills the point or piece): the order at a budget not proven is not
    guessed, it is computed by a run of its own."""

    def __init__(self, state: FastRun, grid: list[int]) -> None:
        self.state = state
        g = np.array(grid, dtype=np.float64)
        self.lo: Floats = np.zeros((len(g), len(state.zero)))
        self.lo[:, 0] = g  # class 0: everyone, with b (whole numbers: exact)
        self.hi = self.lo.copy()
        # the grid budgets still replayed (rows of lo and hi)
        self.rows: Int64s = np.arange(len(g), dtype=np.int64)
        self.grid = grid
        self.point: Bools = np.ones(len(g), dtype=bool)
        self.piece: Bools = np.ones(len(g) - 1, dtype=bool)
        self.nc = state.nc
        self.rho: tuple[Floats, Floats] | None = None  # this round's price: (upper, lower) bounds

    def _compact(self) -> None:
        """Stop replaying the grid budgets that no longer matter."""
        need = self.point.copy()
        need[:-1] |= self.piece
        need[1:] |= self.piece
        keep = need[self.rows]
        if not keep.all():
            self.rows = self.rows[keep]
            self.lo = self.lo[keep]
            self.hi = self.hi[keep]

    def check(self, ev: Eval, heap: list[Entry], div: list[int]) -> None:
        """Round t, before funding ``ev`` (the project funded at b1): its price bounds at every
        grid budget; grid budgets (``point``) and pieces (``piece``) where some other project
        may cost less die."""
        self._compact()
        rows = self.rows
        rho_f = ev.rho_f
        assert rho_f is not None  # (the project funded at b1 has a price there)
        cost = self.state.prep.cost[ev.p]
        u = ev.util.astype(np.float64)
        w = ev.weight.astype(np.float64)
        hi = self.hi[:, ev.cls]
        # the price at b1 is at most the price at any g <= b1 (with the same rounds before)
        est = _price_estimate(hi, u, w, cost, rho_f * (1 - CLOSE))
        lo = self.lo[:, ev.cls]
        rho_hi = _price_upper(lo, u, w, cost, est, (hi - lo) @ w)
        matters = self.point[rows].copy()
        matters[:-1] |= self.piece[rows[:-1]]  # (the last grid budget starts no piece)
        again = np.isinf(rho_hi) & np.isfinite(est[0]) & matters
        if again.any():  # the estimate from the upper bounds was too low: one from lo
            rho_hi[again] = _price_upper(lo[again], u, w, cost)
        rho_lo = _price_lower(hi, u, w, cost, est)
        self.rho = (rho_hi, rho_lo)
        theta = np.full(len(self.grid), math.inf)  # per budget: the funded one's price
        theta[rows] = rho_hi / div[ev.p] * (1 + 4 * ULP)
        point = self.point & np.isfinite(theta)
        piece = self.piece & np.isfinite(theta[:-1])
        held: list[Entry] = []
        rnd = len(self.state.chosen)
        pos = np.full(len(self.grid), -1)
        pos[rows] = np.arange(len(rows))
        while heap and (point.any() or piece.any()):
            theta_max = max(
                float(theta[point].max()) if point.any() else 0.0,
                float(theta[:-1][piece].max()) if piece.any() else 0.0,
            )
            if heap[0][0] * (1 - CLOSE) > theta_max:
                break
            entry = heapq.heappop(heap)
            q_ev = entry[3]
            assert q_ev.rho_f is not None  # (every evaluation in the heap has a price)
            lb = entry[0] * (1 - CLOSE)  # its price at b1, at most its price at any g <= b1
            need_point = point & (lb <= theta)
            need_piece = piece & (lb <= theta[:-1])
            need = need_point.copy()
            need[1:] |= need_piece
            idx = need.nonzero()[0]
            # its price at the grid budgets, in the round it was scored (at most its price now)
            low = np.full(len(theta), math.inf)
            low[idx] = _price_lower(
                self.hi[pos[idx]][:, q_ev.cls],
                q_ev.util.astype(np.float64),
                q_ev.weight.astype(np.float64),
                self.state.prep.cost[entry[2]],
                start=q_ev.rho_f * (1 - CLOSE),
            )
            low = low / div[entry[2]] * (1 - 4 * ULP)
            bad_point = need_point & ~(low > theta)
            bad_piece = need_piece & ~(low[1:] > theta[:-1])
            if q_ev.rnd != rnd and (bad_point.any() or bad_piece.any()):
                push_scored(heap, self.state, entry[2], entry[1], div)  # stale: re-score
                continue
            held.append(entry)
            point &= ~bad_point
            piece &= ~bad_piece
        for entry in held:
            heapq.heappush(heap, entry)
        self.point = point
        self.piece = piece

    def covered(self, unit: int) -> list[int]:
        """The budgets (whole units, after the first grid budget) proven to give this run: the
        grid budgets still alive and every budget in a piece still alive."""
        g = self.grid
        out: set[int] = set()
        for j in range(len(g) - 1):
            if self.piece[j]:
                out.update(range(g[j] + unit, g[j + 1] + 1, unit))
            elif self.point[j + 1]:
                out.add(g[j + 1])
        return sorted(out)

    def funded(self) -> None:
        """After the round: the new classes' monies at every grid budget."""
        state = self.state
        if state.nc > self.lo.shape[1]:
            grow = len(state.zero) - self.lo.shape[1]
            pad = np.zeros((self.lo.shape[0], grow))
            self.lo = np.concatenate([self.lo, pad], axis=1)
            self.hi = np.concatenate([self.hi, pad], axis=1)
        new = slice(self.nc, state.nc)
        self.nc = state.nc
        if new.start == new.stop:
            return
        par = state.parent[new]
        u = state.pay_u[new].astype(np.float64)
        assert self.rho is not None  # (check came first)
        rho_hi, rho_lo = self.rho
        a = self.lo[:, par]
        with np.errstate(invalid="ignore"):
            pay = rho_hi[:, None] * u
            low = a - pay - 2 * ULP * (np.abs(a) + pay)
        self.lo[:, new] = np.where(np.isnan(low), 0.0, np.maximum(low, 0.0))
        a = self.hi[:, par]
        pay = np.where(np.isfinite(rho_lo), rho_lo, 0.0)[:, None] * u
        self.hi[:, new] = np.maximum(a - pay + 2 * ULP * (np.abs(a) + pay), 0.0)


_FILL_MAX = 64  # water-filling rounds for the replayed prices (an estimate; checked after)


def _price_estimate(money: Floats, u: Floats, w: Floats, cost: int, start: float = 0.0) -> Estimate:
    """Per row of ``money`` (budgets x classes): the price at which the classes pay ``cost``,
    by water-filling in floats from below (an estimate; inf where they cannot pay), starting
    from ``start`` (meant to be at most the price: then fewer rounds)."""
    wu = w * u
    total_u = float(wu.sum())
    rows = money.shape[0]
    urich = np.full(rows, total_u)
    if total_u <= 0:
        return np.full(rows, math.inf), urich
    rf = np.full(rows, max(cost / total_u, start))
    in_p = np.zeros(money.shape, dtype=bool)
    for _ in range(_FILL_MAX):
        grow = money < rf[:, None] * u
        if np.array_equal(grow, in_p):
            break
        in_p = grow
        paid = (money * in_p) @ w
        urich = total_u - in_p @ wu
        ok = urich > 0
        rf = np.where(ok, (cost - paid) / np.where(ok, urich, 1.0), math.inf)
    return rf, urich


def _price_upper(
    money: Floats,
    u: Floats,
    w: Floats,
    cost: int,
    est: Estimate | None = None,
    gap: Floats | float = 0.0,
) -> Floats:
    """Per row: a number at least the price, if the monies are at most the true ones (inf when
    that cannot be confirmed). ``est``: an estimate made from monies that are at most ``gap``
    (weighted, per row) higher."""
    k4 = 4 * (money.shape[1] + 4) * ULP
    rf, urich = _price_estimate(money, u, w, cost) if est is None else est
    fin = np.isfinite(rf)
    with np.errstate(invalid="ignore", divide="ignore"):  # the margin for rounding
        margin = (2 * k4 * ((money + np.where(fin, rf, 0.0)[:, None] * u) @ w) + 2 * gap) / urich
    cand = rf * (1 + 1e-12) + margin
    fin &= np.isfinite(cand)
    c = np.where(fin, cand, 0.0)[:, None] * u
    paid = np.minimum(money, c) @ w
    err = k4 * ((money + c) @ w)
    return np.where(fin & (paid - err >= cost), cand, math.inf)


def _price_lower(
    money: Floats,
    u: Floats,
    w: Floats,
    cost: int,
    est: Estimate | None = None,
    start: float = 0.0,
) -> Floats:
    """Per row: a number at most the price, if the monies are at least the true ones (inf when
    the classes cannot pay at all, 0 when nothing better can be confirmed)."""
    k4 = 4 * (money.shape[1] + 4) * ULP
    total = money @ w
    cannot = total * (1 + k4) < cost
    rf, urich = _price_estimate(money, u, w, cost, start) if est is None else est
    fin = np.isfinite(rf)
    with np.errstate(invalid="ignore", divide="ignore"):  # the margin for rounding
        margin = 2 * k4 * ((money + np.where(fin, rf, 0.0)[:, None] * u) @ w) / urich
    fin &= np.isfinite(margin)
    cand = np.maximum(np.where(fin, rf * (1 - 1e-12) - np.where(fin, margin, 0.0), 0.0), 0.0)
    c = np.where(fin, cand, 0.0)[:, None] * u
    paid = np.minimum(money, c) @ w
    err = k4 * ((money + c) @ w)
    below = np.where(fin & (paid + err < cost), cand, 0.0)
    return np.where(cannot, math.inf, below)
