"""Vote-counting rules: the Method of Equal Shares (with its completions) and greedy.

Everything that decides an outcome is exact (integers and ``Fraction``). The rules:

* ``greedy``: projects by number of supporters (approval, ordinal) or total points (cumulative),
  most first; ties: lowest cost, then most supporters, then project id (as text). Each project is
  taken when it still fits in what is left of the budget, otherwise skipped.
* ``equal-shares``: the Method of Equal Shares with cost satisfaction. Every voter gets the same
  budget ``b``; a voter's utility for an approved project is its cost (approval, ordinal) or the
  points they gave it (cumulative). Repeatedly the project with the lowest price per unit of
  utility ``rho`` that its supporters can still pay (each paying ``min(money left, rho * utility)``)
  is funded; ties as for greedy, after ``rho``. It stops when no project is affordable.
  Completions:

  - ``none``: one run with ``b = budget / voters``;
  - ``add1`` (as the cities compute it): ``b`` starts at ``budget / voters`` rounded down to whole
    currency units and is raised by one currency unit at a time while the outcome still costs at
    most the budget; the result is the last outcome within the budget;
  - ``greedy``: the ``add1`` outcome, then what is left of the budget is filled by greedy.

Ordinal ballots are counted as approval of every ranked project. Projects nobody supports are
never funded. A ballot "supports" a project when it names it (with more than 0 points).
"""

from __future__ import annotations

import contextlib
import heapq
import math
import mmap
import os
import signal
import struct
import tempfile
import threading
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from itertools import chain

import numpy as np

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: the add-one search stays sequential
    fcntl = None

from wijkbudget.tally.model import BallotKind, Election

RULES = ("equal-shares", "greedy")
COMPLETIONS = ("add1", "greedy", "none")

STAGES = ("equal-shares", "completion", "greedy", "unsupported", "too-expensive", "not-enough")


@dataclass(frozen=True)
class Explanation:
    project_id: str
    funded: bool
    stage: str  # one of STAGES
    supporters: int  # ballots naming the project
    score: int  # supporters (approval/ordinal) or total points (cumulative)
    cost: int
    # equal-shares only, for projects not funded: what their supporters had left together (in
    # internal units) at the end of the run that settled the outcome; None otherwise
    supporters_money: Fraction | None
    step: int | None  # 1-based position in the selection order if funded


@dataclass(frozen=True)
class Outcome:
    rule: str
    completion: str | None  # None for greedy
    funded: list[str]  # selection order
    cost: int
    budget: int
    scores: dict[str, int]
    explanations: dict[str, Explanation]
    voter_budget: Fraction | None  # equal-shares: the per-voter budget of the final run


# --------------------------------------------------------------------------------------------
# Preparation: identical ballots become one weighted group


class _Prep:
    """The election in index form. Projects are numbered 0..m-1; ballots with the same content
    are merged into groups with a weight (the number of such ballots)."""

    def __init__(self, election: Election) -> None:
        self.cumulative = election.kind == BallotKind.CUMULATIVE
        self.ids: list[str] = list(election.projects)
        index = {pid: i for i, pid in enumerate(self.ids)}
        self.index = index
        self.cost: list[int] = [int(election.projects[pid].cost) for pid in self.ids]
        self.budget = int(election.budget)
        self.scale = int(election.scale) if election.scale else 1
        self.n = len(election.ballots)
        if self.cumulative:
            counted = Counter(
                frozenset((pid, int(pts)) for pid, pts in ballot.items() if pts > 0)
                for ballot in election.ballots
            )
            self._groups: list[tuple[tuple, int]] | None = [
                (tuple((index[pid], pts) for pid, pts in fs), w) for fs, w in counted.items() if fs
            ]
            group_w = [w for _items, w in self._groups]
            lengths = np.array([len(items) for items, _w in self._groups], dtype=np.int64)
            self.flat_p = np.array(
                [p for items, _w in self._groups for p, _pts in items], dtype=np.int64
            )
            self.flat_u = np.array(
                [pts for items, _w in self._groups for _p, pts in items], dtype=np.int64
            )
        else:
            # tuples hash faster than sets; the same set in another order stays a separate
            # group, which changes nothing but speed. The groups go straight into flat arrays
            # (one pass over all project ids); the tuple form is only built for the exact path.
            counted = Counter(map(tuple, election.ballots))
            keys = [key for key in counted if key]
            group_w = [counted[key] for key in keys]
            lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
            self.flat_p = np.fromiter(
                map(index.__getitem__, chain.from_iterable(keys)),
                dtype=np.int64,
                count=int(lengths.sum()),
            )
            self.flat_u = None
            self._groups = None
        m = len(self.ids)
        weights = np.array(group_w, dtype=np.int64)
        self.flat_g = np.repeat(np.arange(len(group_w), dtype=np.int64), lengths)
        self.n_groups = len(group_w)
        self.weights = weights
        supp_a = np.bincount(self.flat_p, weights=weights[self.flat_g], minlength=m)
        supp = [int(x) for x in supp_a.tolist()]
        if self.cumulative:
            wu = weights[self.flat_g] * self.flat_u
            score = [int(x) for x in np.bincount(self.flat_p, weights=wu, minlength=m).tolist()]
        else:
            score = list(supp)
        self.supp = supp
        self.score = score
        # tie-breaking after the main criterion: lowest cost, most supporters, id as text
        self.tkey = [(self.cost[p], -supp[p], self.ids[p]) for p in range(m)]
        self.supported = [p for p in range(m) if supp[p] > 0]

    @property
    def first_share(self) -> int:
        """Where the add-one loop starts: each voter's ⌊B/n⌋ whole currency units."""
        return (self.budget // (self.n * self.scale)) * self.scale

    @property
    def groups(self) -> list[tuple[tuple, int]]:
        """(projects, weight) per group of identical ballots (the exact path's form)."""
        if self._groups is None and self.n_groups == 0:
            self._groups = []
        if self._groups is None:
            cuts = np.cumsum(np.bincount(self.flat_g, minlength=self.n_groups))[:-1]
            parts = np.split(self.flat_p, cuts)
            self._groups = [
                (tuple(int(p) for p in part), int(w))
                for part, w in zip(parts, self.weights.tolist(), strict=True)
            ]
        return self._groups

    def util_items(self, items: tuple) -> list[tuple[int, int]]:
        """(project, MES utility) pairs of a group: the cost (approval) or the points."""
        if self.cumulative:
            return list(items)
        return [(p, self.cost[p]) for p in items]


@dataclass
class _MesRun:
    order: list[int]  # funded projects in selection order
    money: list[Fraction] | None  # per project: what its supporters have left at the end


# --------------------------------------------------------------------------------------------
# The exact reference implementation of one MES run (plain, slow, obviously right)


def _mes_exact(prep: _Prep, b: Fraction, want_money: bool = False) -> _MesRun:
    m = len(prep.ids)
    budgets = [Fraction(b)] * len(prep.groups)
    weights = [w for _, w in prep.groups]
    supporters: list[list[tuple[int, int]]] = [[] for _ in range(m)]  # (group, utility)
    for g, (items, _w) in enumerate(prep.groups):
        for p, u in prep.util_items(items):
            supporters[p].append((g, u))
    remaining = set(prep.supported)
    order: list[int] = []
    while remaining:
        best = None
        for p in sorted(remaining):
            rho = _affordability(prep.cost[p], supporters[p], budgets, weights)
            if rho is None:
                continue
            key = (rho, prep.tkey[p])
            if best is None or key < best[0]:
                best = (key, p)
        if best is None:
            break
        (rho, _), p = best
        order.append(p)
        remaining.discard(p)
        for g, u in supporters[p]:
            budgets[g] -= min(budgets[g], rho * u)
    money = None
    if want_money:
        money = [
            sum((weights[g] * budgets[g] for g, _u in supporters[p]), Fraction(0)) for p in range(m)
        ]
    return _MesRun(order, money)


def _affordability(
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


# --------------------------------------------------------------------------------------------
# The fast exact implementation of one MES run
#
# Budget classes: voters with the same payment history have the same money left. A class never
# changes; when a project is funded, its supporters in a class move to a new class (one per
# utility, for points ballots) that records its parent, the round and the utility it paid for:
# its money is the parent's minus rho_t * u. Those who paid all they had move to the one class
# with no money left (_ZERO, class 1; class 0 is everyone at the start, with b).
#
# A project is scored over the classes of its supporters, not over voters. A project's rho never
# falls during a run, so an old score is a lower bound and only the project at the top of the
# heap needs re-scoring (lazy evaluation).
#
# Floats with a rigorous error bound per value: every class carries a bound on the error of its
# float money, every rho a bound on its own. A decision is taken in floats only when the floats
# settle it beyond those bounds; otherwise (near ties, classes at the edge of poor/rich) it is
# taken with exact Fractions, computed on demand from the run's history.

_ULP = 2.0**-52
_ZERO = 1  # the class with no money left
_CLASS0 = np.zeros(1, dtype=np.int64)  # shared by the scores of round 0 (read-only)
_ONE = np.ones(1, dtype=np.int64)
_RICH = np.zeros(1, dtype=bool)
_ONES = np.ones(1 << 12, dtype=np.int64)  # utilities of approval ballots (_ones)
_FALSE = np.zeros(1 << 12, dtype=bool)  # no class with nothing left (_false)
for _a in (_CLASS0, _ONE, _RICH, _ONES, _FALSE):
    _a.flags.writeable = False


def _ones(k: int) -> np.ndarray:
    """k utilities of 1 (read-only; a view of a shared array when there are not too many)."""
    if k <= len(_ONES):
        return _ONES[:k]
    out = np.ones(k, dtype=np.int64)
    out.flags.writeable = False
    return out


def _false(k: int) -> np.ndarray:
    """k times False (read-only, like _ones)."""
    if k <= len(_FALSE):
        return _FALSE[:k]
    out = np.zeros(k, dtype=bool)
    out.flags.writeable = False
    return out


_FILL_ROUNDS = 8  # water-filling rounds before sorting (_FastRun._partition)
_CLOSE = 1e-9  # float rhos in the heap have a relative error below this; closer ones: exact


class _Arrays:
    """Per project: the supporting groups, their weights and utilities (numpy)."""

    def __init__(self, prep: _Prep) -> None:
        m = len(prep.ids)
        order = np.argsort(prep.flat_p, kind="stable")
        cuts = np.cumsum(np.bincount(prep.flat_p, minlength=m))[:-1]
        self.groups = np.split(prep.flat_g[order], cuts)
        self.weights = [prep.weights[r] for r in self.groups]
        self.utils = np.split(prep.flat_u[order], cuts) if prep.cumulative else None
        self.ukey = int(prep.flat_u.max()) + 1 if prep.cumulative and len(order) else 1
        self.n_groups = prep.n_groups


def _arrays(prep: _Prep) -> _Arrays:
    arr = getattr(prep, "_arrays", None)
    if arr is None:
        arr = prep._arrays = _Arrays(prep)
    return arr


class _Eval:
    """A scored project at some round: rho (internal units) and the partition of its
    supporters' classes into poor (pay all they have) and rich (pay rho * utility)."""

    __slots__ = ("p", "rnd", "rho_f", "rho", "cls", "util", "weight", "inv", "poor", "urich", "err")

    def __init__(self, p, rnd, rho_f, rho, cls, util, weight, inv, poor, urich):
        self.p = p
        self.rnd = rnd
        self.rho_f = rho_f  # float rho (relative error < _CLOSE / 3); None: cannot be paid
        self.rho = rho  # exact rho, computed on demand (_FastRun.exact_rho)
        self.cls = cls  # supporters' classes (numpy), with the utility and total weight of each
        self.util = util
        self.weight = weight
        self.inv = inv  # for each supporting group, its position in cls (points ballots)
        self.poor = poor  # numpy bool per class (zero classes included)
        self.urich = urich  # total weight * utility of the rich
        self.err = 0.0 if rho_f is None else 2 * _ULP * rho_f  # bound on |rho_f - rho|


class _FastRun:
    def __init__(self, prep: _Prep, b: Fraction) -> None:
        self.prep = prep
        self.arr = arr = _arrays(prep)
        self.b = Fraction(b)
        self.bf = float(self.b)
        cap = 256
        self.parent = np.full(cap, -1, dtype=np.int64)
        self.rnd_of = np.zeros(cap, dtype=np.int64)
        self.pay_u = np.zeros(cap, dtype=np.int64)
        self.zero = np.zeros(cap, dtype=bool)
        self.fb = np.zeros(cap, dtype=np.float64)  # money per class, as floats
        self.err = np.zeros(cap, dtype=np.float64)  # bound on |fb - exact money|
        self.fb[0] = self.bf
        self.err[0] = abs(self.bf) * _ULP
        # class 1 (_ZERO) is the one class of everyone who has paid all they had: every poor
        # class moves there, so zero classes do not multiply
        self.zero[_ZERO] = True
        self.nc = 2
        self.exact_budget: dict[int, Fraction] = {0: self.b}
        self.class_of = np.zeros(arr.n_groups, dtype=np.int64)
        self.chosen: list[_Eval] = []  # the funded project's evaluation, per round

    # exact values, on demand -------------------------------------------------------------

    def exact_rho(self, ev: _Eval) -> Fraction:
        if ev.rho is None:
            if ev.rnd == 0 and len(ev.cls) == 1 and not ev.poor[0]:
                ev.rho = Fraction(self.prep.cost[ev.p], ev.urich)
            else:
                poor = ev.poor
                paid = self.exact_money(ev.cls[poor], ev.weight[poor], ev.rnd)
                ev.rho = (self.prep.cost[ev.p] - paid) / ev.urich
        return ev.rho

    def exact_money(self, cls: np.ndarray, weight: np.ndarray, rnd: int) -> Fraction:
        """Exact money of the given classes (weighted) = b * W - sum_t coef_t * rho_t."""
        nz = ~self.zero[cls]
        cur = cls[nz]
        w = weight[nz]
        total_w = int(w.sum())
        coef = np.zeros(max(rnd, 1), dtype=np.int64)
        while len(cur):
            par = self.parent[cur]
            has = par >= 0
            np.add.at(coef, self.rnd_of[cur[has]], w[has] * self.pay_u[cur[has]])
            cur = par[has]
            w = w[has]
        total = self.b * total_w
        for t in coef.nonzero()[0].tolist():
            total -= int(coef[t]) * self.exact_rho(self.chosen[t])
        return total

    def budget_exact(self, c: int) -> Fraction:
        x = self.exact_budget.get(c)
        if x is None:
            if self.zero[c]:
                x = Fraction(0)
            else:
                par = int(self.parent[c])
                rho = self.exact_rho(self.chosen[int(self.rnd_of[c])])
                x = self.budget_exact(par) - rho * int(self.pay_u[c])
            self.exact_budget[c] = x
        return x

    # scoring ---------------------------------------------------------------------------------

    def score(self, p: int) -> _Eval:
        arr = self.arr
        cost = self.prep.cost[p]
        rows = arr.groups[p]
        rnd = len(self.chosen)
        if arr.utils is None:
            if rnd == 0:  # everyone has b: rho = cost / supporters, if they can pay it
                w = self.prep.supp[p]
                weight = np.array([w], dtype=np.int64)
                if self.b.numerator * w < cost * self.b.denominator:
                    return _Eval(p, 0, None, None, _CLASS0, _ONE, weight, None, None, 0)
                # rho (exact) is cost / w, made on demand (exact_rho)
                return _Eval(p, 0, cost / w, None, _CLASS0, _ONE, weight, None, _RICH, w)
            return self._score_approval(p, rnd, cost, rows)
        else:
            keys, inv = np.unique(
                self.class_of[rows] * arr.ukey + arr.utils[p], return_inverse=True
            )
            cls, util = np.divmod(keys, arr.ukey)
            weight = np.bincount(inv, weights=arr.weights[p], minlength=len(cls)).astype(np.int64)
        fb = self.fb[cls]
        money = weight * fb
        ftotal = float(money.sum())
        slack = float(weight @ self.err[cls]) + 4 * len(cls) * _ULP * ftotal
        if ftotal + slack < cost:
            return _Eval(p, rnd, None, None, cls, util, weight, inv, None, 0)
        if ftotal - slack < cost and self.exact_money(cls, weight, rnd) < cost:
            return _Eval(p, rnd, None, None, cls, util, weight, inv, None, 0)
        zero = self.zero[cls]
        ev = self._partition(p, rnd, cost, cls, util, weight, inv, fb, zero)
        if ev is None:
            ev = self._partition_exact(p, rnd, cost, cls, util, weight, inv, zero)
        return ev

    def _score_approval(self, p: int, rnd: int, cost: int, rows: np.ndarray) -> _Eval:
        """``score`` for approval ballots after round 0: every utility is 1, which saves most of
        the array operations (the run's time on small elections is mostly their overhead). The
        class with no money left is left out of ``cls`` (it would be poor and pay nothing). The
        float decisions and their error bounds are those of ``_partition`` and ``_confirm``."""
        counts = np.bincount(self.class_of[rows], weights=self.arr.weights[p], minlength=self.nc)
        counts[_ZERO] = 0.0
        cls = (counts != 0).nonzero()[0]  # (nonzero on bools is much faster than on floats)
        k = len(cls)
        wf = counts[cls]  # the weights, as floats (whole numbers: exact)
        weight = wf.astype(np.int64)
        util = _ones(k)
        fb = self.fb[cls]
        err = self.err[cls]
        money = wf * fb
        ftotal = float(money.sum())
        slack = float(wf @ err) + 4 * k * _ULP * ftotal
        if ftotal + slack < cost:
            return _Eval(p, rnd, None, None, cls, util, weight, None, None, 0)
        if ftotal - slack < cost and self.exact_money(cls, weight, rnd) < cost:
            return _Eval(p, rnd, None, None, cls, util, weight, None, None, 0)
        u_all = int(weight.sum())
        if u_all <= 0:  # pragma: no cover - an affordable project has supporters with money
            return self._partition_exact(p, rnd, cost, cls, util, weight, None, _false(k))
        # water-filling (as in _partition): the poor are the classes with less than rho
        rf = cost / u_all
        poor = fb < rf
        urich = u_all
        paid = 0.0
        for _ in range(_FILL_ROUNDS):
            urich = u_all - int(poor @ wf)  # whole numbers below 2**53: exact
            if urich <= 0:
                return self._partition_exact(p, rnd, cost, cls, util, weight, None, _false(k))
            paid = float(poor @ money)
            rf = (cost - paid) / urich
            grow = fb < rf
            if not (grow ^ poor).any():
                break
            poor = grow
        else:
            zero = _false(k)
            ev = self._partition_sorted(p, rnd, cost, cls, util, weight, None, fb, zero)
            if ev is None:
                ev = self._partition_exact(p, rnd, cost, cls, util, weight, None, zero)
            return ev
        # rho's error bound and the partition's check, as in _confirm (utility 1)
        n_poor = int(np.count_nonzero(poor))
        err_paid = float(poor @ (wf * err)) + 4 * (n_poor + 1) * _ULP * abs(paid)
        err_rf = (err_paid + 4 * _ULP * (cost + abs(paid))) / urich + 4 * _ULP * abs(rf)
        ev = _Eval(p, rnd, rf, None, cls, util, weight, None, poor, urich)
        rf, err_rf = self._settle_rho(ev, err_rf)
        # poor classes have at most rho, rich ones at least: x = money - rho beyond tol, with the
        # sign that its side needs (poor: x < 0, rich: x >= 0)
        x = fb - rf
        tol = err + 4 * _ULP * np.abs(fb) + (err_rf + 4 * _ULP * rf)
        doubt = (np.where(poor, -x, x) < tol).nonzero()[0]
        if len(doubt):
            rho = self.exact_rho(ev)
            for i in doubt.tolist():
                bc = self.budget_exact(int(cls[i]))
                if (bc > rho) if poor[i] else (bc < rho):
                    ev = self._partition_exact(p, rnd, cost, cls, util, weight, None, _false(k))
                    break
        return ev

    def _partition(self, p, rnd, cost, cls, util, weight, inv, fb, zero):
        """Find the poor classes with floats; confirm exactly where the floats are not sure.

        Water-filling: with the poor set P, rho = (cost - money of P) / utility of the rest;
        every class with less than rho * u joins P, and rho rises, until no class joins (a few
        rounds, usually); after _FILL_ROUNDS rounds, sort the classes instead."""
        nz = (~zero).nonzero()[0]
        wu = weight * util
        u_all = int(wu[nz].sum())
        fb_nz = fb[nz]
        u_nz = util[nz]
        wf_nz = weight[nz] * fb_nz
        wu_nz = wu[nz]
        rf = cost / u_all if u_all > 0 else math.inf
        in_p = np.zeros(len(nz), dtype=bool)
        for _ in range(_FILL_ROUNDS):
            grow = fb_nz < rf * u_nz
            if np.array_equal(grow, in_p):
                break
            in_p = grow
            urich = u_all - int(wu_nz[in_p].sum())
            if urich <= 0:
                return None
            rf = (cost - float(wf_nz[in_p].sum())) / urich
        else:
            return self._partition_sorted(p, rnd, cost, cls, util, weight, inv, fb, zero)
        if u_all <= 0:
            return None
        k = int(in_p.sum())
        poor = zero.copy()
        poor[nz[in_p]] = True
        urich = u_all - int(wu_nz[in_p].sum())
        paid = float(wf_nz[in_p].sum())
        return self._confirm(p, rnd, cost, cls, util, weight, inv, fb, poor, nz, k, urich, paid)

    def _partition_sorted(self, p, rnd, cost, cls, util, weight, inv, fb, zero):
        """The same by sorting the classes by money per utility."""
        nz = (~zero).nonzero()[0]
        srt = nz[np.argsort(fb[nz] / util[nz], kind="stable")]
        wu = weight * util
        u_all = int(wu[nz].sum())
        wfb = weight[srt] * fb[srt]
        before_money = np.concatenate(([0.0], np.cumsum(wfb)[:-1]))
        before_util = np.concatenate(([0], np.cumsum(wu[srt])[:-1]))
        rho_k = (cost - before_money) / (u_all - before_util)
        rich_at = (fb[srt] / util[srt] >= rho_k).nonzero()[0]
        if len(rich_at) == 0:
            return None
        k = int(rich_at[0])
        poor = zero.copy()
        poor[srt[:k]] = True
        urich = u_all - int(before_util[k])
        if urich <= 0:
            return None
        paid = float(before_money[k])
        return self._confirm(p, rnd, cost, cls, util, weight, inv, fb, poor, nz, k, urich, paid)

    def _settle_rho(self, ev, err_rf):
        """rho of ``ev`` (its float value) and that value's error bound, now kept on ``ev``; an
        ill-conditioned float is replaced by the exact value."""
        rf = ev.rho_f
        if not err_rf <= _CLOSE / 3 * rf:
            rf = float(self.exact_rho(ev))
            err_rf = 2 * _ULP * rf
            ev.rho_f = rf
        ev.err = err_rf
        return rf, err_rf

    def _confirm(self, p, rnd, cost, cls, util, weight, inv, fb, poor, nz, k, urich, paid):
        """rho from a float partition, with its error bound; the partition checked (exactly
        where the floats are not sure). None: the partition is wrong."""
        err_paid = float(weight[poor] @ self.err[cls[poor]]) + 4 * (k + 1) * _ULP * abs(paid)
        rf = (cost - paid) / urich
        err_rf = (err_paid + 4 * _ULP * (cost + abs(paid))) / urich + 4 * _ULP * abs(rf)
        ev = _Eval(p, rnd, rf, None, cls, util, weight, inv, poor, urich)
        rf, err_rf = self._settle_rho(ev, err_rf)
        # confirm: poor classes have at most rho * u, rich ones at least
        u_nz = util[nz]
        x = fb[nz] - rf * u_nz
        tol = self.err[cls[nz]] + u_nz * err_rf + 4 * _ULP * (np.abs(fb[nz]) + rf * u_nz)
        pnz = poor[nz]
        doubt = ((pnz & (x > -tol)) | (~pnz & (x < tol))).nonzero()[0]
        if len(doubt):
            rho = self.exact_rho(ev)
            for i in nz[doubt].tolist():
                bc = self.budget_exact(int(cls[i]))
                lim = rho * int(util[i])
                if (bc > lim) if poor[i] else (bc < lim):
                    return None
        return ev

    def _partition_exact(self, p, rnd, cost, cls, util, weight, inv, zero):
        idx = [i for i in range(len(cls)) if not zero[i]]
        bud = {i: self.budget_exact(int(cls[i])) for i in idx}
        idx.sort(key=lambda i: bud[i] / int(util[i]))
        need = Fraction(cost)
        total_util = sum(int(weight[i]) * int(util[i]) for i in idx)
        poor = zero.copy()
        for i in idx:
            r = need / total_util
            if r * int(util[i]) <= bud[i]:
                return _Eval(p, rnd, float(r), r, cls, util, weight, inv, poor, total_util)
            poor[i] = True
            need -= int(weight[i]) * bud[i]
            total_util -= int(weight[i]) * int(util[i])
        raise AssertionError("affordable project without a price")  # pragma: no cover

    # funding ---------------------------------------------------------------------------------

    def fund(self, ev: _Eval) -> None:
        t = len(self.chosen)
        rich = (~ev.poor).nonzero()[0]
        k = len(rich)
        base = self.nc
        if base + k > len(self.zero):
            grow = max(len(self.zero), base + k)
            self.parent = np.concatenate([self.parent, np.full(grow, -1, np.int64)])
            self.rnd_of = np.concatenate([self.rnd_of, np.zeros(grow, np.int64)])
            self.pay_u = np.concatenate([self.pay_u, np.zeros(grow, np.int64)])
            self.zero = np.concatenate([self.zero, np.zeros(grow, bool)])
            self.fb = np.concatenate([self.fb, np.zeros(grow)])
            self.err = np.concatenate([self.err, np.zeros(grow)])
        new = slice(base, base + k)
        rf = ev.rho_f
        err_rf = ev.err
        old_cls = ev.cls[rich]
        u = ev.util[rich] if ev.inv is not None else 1  # (approval: every utility is 1)
        self.parent[new] = old_cls
        self.rnd_of[new] = t
        self.pay_u[new] = u
        old = self.fb[old_cls]
        pay = rf * u
        self.fb[new] = old - pay
        self.err[new] = self.err[old_cls] + (u * err_rf + 2 * _ULP * pay) + 2 * _ULP * np.abs(old)
        self.nc = base + k
        target = np.full(len(ev.cls), _ZERO, dtype=np.int64)
        target[rich] = np.arange(base, base + k)
        rows = self.arr.groups[ev.p]
        if ev.inv is None:
            lut = np.zeros(max(self.nc, int(ev.cls.max()) + 1), dtype=np.int64)
            lut[_ZERO] = _ZERO  # (approval: not in ev.cls)
            lut[ev.cls] = target
            self.class_of[rows] = lut[self.class_of[rows]]
        else:
            self.class_of[rows] = target[ev.inv]
        self.chosen.append(ev)

    def money(self) -> list[Fraction]:
        """Exact money left per project's supporters: b * W_p - sum_t coef[p, t] * rho_t, with
        all rhos over one common denominator (integer sums instead of Fraction sums)."""
        m = len(self.prep.ids)
        T = len(self.chosen)
        proj, cls, wts = [], [], []
        for p in range(m):
            rows = self.arr.groups[p]
            if len(rows):
                c, inv = np.unique(self.class_of[rows], return_inverse=True)
                w = np.bincount(inv, weights=self.arr.weights[p], minlength=len(c))
                keep = ~self.zero[c]
                proj.append(np.full(int(keep.sum()), p, dtype=np.int64))
                cls.append(c[keep])
                wts.append(w[keep].astype(np.int64))
        if not proj:
            return [Fraction(0)] * m
        proj_a, cur, w = np.concatenate(proj), np.concatenate(cls), np.concatenate(wts)
        total_w = np.bincount(proj_a, weights=w, minlength=m).astype(np.int64).tolist()
        coef = np.zeros(m * max(T, 1), dtype=np.int64)
        while len(cur):
            par = self.parent[cur]
            has = par >= 0
            np.add.at(coef, proj_a[has] * T + self.rnd_of[cur[has]], w[has] * self.pay_u[cur[has]])
            cur, w, proj_a = par[has], w[has], proj_a[has]
        rhos = [self.exact_rho(ev) for ev in self.chosen]
        den = self.b.denominator
        for r in rhos:
            den = den * r.denominator // math.gcd(den, r.denominator)
        scaled = [r.numerator * (den // r.denominator) for r in rhos]
        b_scaled = self.b.numerator * (den // self.b.denominator)
        coef_rows = coef.reshape(m, max(T, 1)).tolist()
        out = []
        for p in range(m):
            num = b_scaled * total_w[p]
            row = coef_rows[p]
            for t in range(T):
                if row[t]:
                    num -= row[t] * scaled[t]
            out.append(Fraction(num, den))
        return out


def _mes_fast(
    prep: _Prep,
    b: Fraction,
    want_money: bool = False,
    grid: list[int] | None = None,
    within: int | None = None,
) -> _MesRun:
    """One MES run with per-voter budget b. With ``grid`` (whole-unit budgets, ascending, the
    last one b), also prove which of those budgets, and which budgets between them, give this
    same run (``_Replay``; the result's ``covered``); the run stops early (``stopped``, the
    order cut short) when nothing is left to prove. With ``within`` (a budget; the add-one
    search), the run also stops early (``stopped``) once its outcome cannot cost more than
    ``within`` nor fund every supported project: it cannot end the search. A project once
    unaffordable stays so (money only falls), so the outcome is at most what is funded plus
    the projects still in the heap, and some project is left out if any has left the heap (the
    proofs of a grid may drop projects from the heap unnoticed: the bound holds all the same).

    The heap holds (float rho, tie-break key, project, evaluation); float rhos are accurate to
    better than _CLOSE / 3 (relative), so only entries within _CLOSE are compared exactly."""
    state = _FastRun(prep, b)
    # the true rho of a project is rho_internal / div (approval: utility = cost, internal 1)
    div = [1] * len(prep.ids) if prep.cumulative else [c or 1 for c in prep.cost]
    replay = _Replay(state, grid) if grid is not None else None

    def exact_key(entry):
        return (state.exact_rho(entry[3]) / div[entry[2]], entry[1])

    heap = _first_heap(prep, state, div)
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
            if not _push_scored(heap, state, top[2], top[1], div):
                most -= prep.cost[top[2]]
                left_out = True
            continue
        near = top[0] * (1 + _CLOSE)
        if heap and heap[0][0] <= near:  # a near tie: settle it exactly
            cluster = [top]
            while heap and heap[0][0] <= near:
                cluster.append(heapq.heappop(heap))
            if any(e[3].rnd != rnd for e in cluster):
                for e in cluster:
                    if e[3].rnd != rnd:
                        if not _push_scored(heap, state, e[2], e[1], div):
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
    result = _MesRun(order, state.money() if want_money else None)
    result.covered = replay.covered(prep.scale) if replay is not None else None
    result.stopped = stopped
    result.cut = cut
    return result


def _first_heap(prep: _Prep, state: _FastRun, div: list[int]) -> list:
    """The heap of round 0. Approval: every project's price is cost / supporters, whatever the
    budget, so the sorted entries (a heap) are made once per election and each run keeps those
    its supporters can pay (their evaluations are shared; nothing changes them but the exact
    rho, made on demand, which is the same for every run)."""
    if prep.cumulative:
        heap = []
        for p in prep.supported:
            ev = state.score(p)
            if ev.rho_f is not None:
                heap.append((ev.rho_f / div[p], prep.tkey[p], p, ev))
        heapq.heapify(heap)
        return heap
    first = getattr(prep, "_first", None)
    if first is None:
        first = []
        for p in prep.supported:
            w, cost = prep.supp[p], prep.cost[p]
            weight = np.array([w], dtype=np.int64)
            ev = _Eval(p, 0, cost / w, None, _CLASS0, _ONE, weight, None, _RICH, w)
            first.append((ev.rho_f / div[p], prep.tkey[p], p, ev, w, cost))
        first.sort(key=lambda e: e[:2])  # (the keys are unique: the tie-break ends with the id)
        prep._first = first
    num, den = state.b.numerator, state.b.denominator
    return [e[:4] for e in first if num * e[4] >= e[5] * den]  # (as in _FastRun.score)


def _push_scored(heap, state: _FastRun, p: int, tk, div) -> bool:
    """Score p again and push it; False when it cannot be paid any more (not pushed)."""
    ev = state.score(p)
    if ev.rho_f is None:
        return False
    heapq.heappush(heap, (ev.rho_f / div[p], tk, p, ev))
    return True


class _Replay:
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

    def __init__(self, state: _FastRun, grid: list[int]) -> None:
        self.state = state
        g = np.array(grid, dtype=np.float64)
        self.lo = np.zeros((len(g), len(state.zero)))
        self.lo[:, 0] = g  # class 0: everyone, with b (whole numbers: exact)
        self.hi = self.lo.copy()
        self.rows = np.arange(len(g))  # the grid budgets still replayed (rows of lo and hi)
        self.grid = grid
        self.point = np.ones(len(g), dtype=bool)
        self.piece = np.ones(len(g) - 1, dtype=bool)
        self.nc = state.nc
        self.rho = None

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

    def check(self, ev: _Eval, heap, div) -> None:
        """Round t, before funding ``ev`` (the project funded at b1): its price bounds at every
        grid budget; grid budgets (``point``) and pieces (``piece``) where some other project
        may cost less die."""
        self._compact()
        rows = self.rows
        cost = self.state.prep.cost[ev.p]
        u = ev.util.astype(np.float64)
        w = ev.weight.astype(np.float64)
        hi = self.hi[:, ev.cls]
        # the price at b1 is at most the price at any g <= b1 (with the same rounds before)
        est = _price_estimate(hi, u, w, cost, ev.rho_f * (1 - _CLOSE))
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
        theta[rows] = rho_hi / div[ev.p] * (1 + 4 * _ULP)
        point = self.point & np.isfinite(theta)
        piece = self.piece & np.isfinite(theta[:-1])
        held = []
        rnd = len(self.state.chosen)
        pos = np.full(len(self.grid), -1)
        pos[rows] = np.arange(len(rows))
        while heap and (point.any() or piece.any()):
            theta_max = max(
                float(theta[point].max()) if point.any() else 0.0,
                float(theta[:-1][piece].max()) if piece.any() else 0.0,
            )
            if heap[0][0] * (1 - _CLOSE) > theta_max:
                break
            entry = heapq.heappop(heap)
            q_ev = entry[3]
            lb = entry[0] * (1 - _CLOSE)  # its price at b1, at most its price at any g <= b1
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
                start=q_ev.rho_f * (1 - _CLOSE),
            )
            low = low / div[entry[2]] * (1 - 4 * _ULP)
            bad_point = need_point & ~(low > theta)
            bad_piece = need_piece & ~(low[1:] > theta[:-1])
            if q_ev.rnd != rnd and (bad_point.any() or bad_piece.any()):
                _push_scored(heap, self.state, entry[2], entry[1], div)  # stale: re-score
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
        out = set()
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
        rho_hi, rho_lo = self.rho
        a = self.lo[:, par]
        with np.errstate(invalid="ignore"):
            pay = rho_hi[:, None] * u
            low = a - pay - 2 * _ULP * (np.abs(a) + pay)
        self.lo[:, new] = np.where(np.isnan(low), 0.0, np.maximum(low, 0.0))
        a = self.hi[:, par]
        pay = np.where(np.isfinite(rho_lo), rho_lo, 0.0)[:, None] * u
        self.hi[:, new] = np.maximum(a - pay + 2 * _ULP * (np.abs(a) + pay), 0.0)


_FILL_MAX = 64  # water-filling rounds for the replayed prices (an estimate; checked after)


def _price_estimate(money: np.ndarray, u: np.ndarray, w: np.ndarray, cost: int, start=0.0):
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


def _price_upper(money, u, w, cost: int, est=None, gap=0.0) -> np.ndarray:
    """Per row: a number at least the price, if the monies are at most the true ones (inf when
    that cannot be confirmed). ``est``: an estimate made from monies that are at most ``gap``
    (weighted, per row) higher."""
    k4 = 4 * (money.shape[1] + 4) * _ULP
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


def _price_lower(money, u, w, cost: int, est=None, start=0.0) -> np.ndarray:
    """Per row: a number at most the price, if the monies are at least the true ones (inf when
    the classes cannot pay at all, 0 when nothing better can be confirmed)."""
    k4 = 4 * (money.shape[1] + 4) * _ULP
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


# --------------------------------------------------------------------------------------------
# Rules


def _greedy_order(prep: _Prep, candidates, left: int) -> list[int]:
    chosen = []
    for p in sorted(candidates, key=lambda p: (-prep.score[p], prep.tkey[p])):
        if prep.cost[p] <= left:
            chosen.append(p)
            left -= prep.cost[p]
    return chosen


def _add1(
    prep: _Prep, mes, skip: bool = True, parallel: bool = False
) -> tuple[Fraction, _MesRun | None]:
    """Raise the per-voter budget one currency unit at a time while the outcome stays within the
    budget; return the last budget within and its run (None when the budgets were searched in
    parallel: the caller runs it again anyway).

    The loop stops at the first budget (after the start) whose outcome costs more than the budget
    (the result is the budget before it) or funds every supported project (a larger budget cannot
    do better: the result is that budget); ``_Scan`` finds that budget. With ``parallel`` (fast
    path only) and more than one CPU, a search that is not over after _SOLO seconds goes on in
    two processes (``_scan_parallel``)."""
    unit = prep.scale
    b = Fraction(prep.first_share)
    start = mes(prep, b)
    if len(start.order) == len(prep.supported):
        return b, start
    scan = _Scan(prep, mes, skip)
    first = int(b) + unit
    if parallel and mes is _mes_fast and _cpus() > 1:
        began = time.perf_counter()
        found = scan.search(first, deadline=began + _SOLO)
        if found is None:
            rate = (scan.reached - first) // unit / (time.perf_counter() - began)
            size = max(1, round(rate * _CHUNK_TIME))
            x, over = _scan_parallel(scan, scan.reached, size)
            return Fraction(x - unit if over else x), None
    else:
        found = scan.search(first)
    x, over, run_x, before = found
    if over:
        if before is None:
            return Fraction(x - unit), start
        if getattr(before, "stopped", False):  # cut short: the whole run
            before = mes(prep, Fraction(x - unit))
        return Fraction(x - unit), before
    return Fraction(x), run_x


class _Scan:
    """The search of the add-one loop: the first budget (whole units, ascending from a given one)
    whose outcome costs more than the budget (``over``) or funds every supported project.

    Skipping (fast path only): a run at some budget hi above the next budget x not yet known,
    with a grid of budgets from x - 1 unit to hi (``_Replay``), proves that some of the budgets
    in between give the run at hi (``known``); a range of one budget is an ordinary (exact)
    run. The range (``span``) grows while everything in it is proven; when x is not proven the
    next try zooms into the first piece of the grid (single steps when that piece is one
    budget). Where tries prove little (the order changes almost every step) single steps are
    cheaper: tries resume after a few steps that kept the order. This state is kept from one
    search to the next (the parallel search makes many short ones)."""

    def __init__(self, prep: _Prep, mes, skip: bool = True) -> None:
        self.prep = prep
        self.mes = mes
        self.skip = skip and mes is _mes_fast
        self.span = _FIRST_SPAN  # budgets tried at once
        self.good = _FIRST_SPAN  # the last span proven whole
        self.gain = float(_GAIN)  # budgets proven per try, on average (recent tries weigh more)
        self.try_time = 0.0  # seconds per try, on average (0: no try timed yet)
        self.step_time = 0.0  # seconds per single step, on average (0: none timed yet)
        self.streak = 0  # single steps in a row that kept the order
        self.reached = None  # after a search cut short: the first budget not searched

    def search(self, first: int, last=None, deadline: float | None = None):
        """Search the budgets first, first + unit, ... up to ``last`` (None: no end; or a
        function giving the current end, asked before every run). Returns (x, over, run at x,
        run at x - unit, perhaps cut short (``stopped``), or None when x is ``first``), or None
        when no budget up to the end qualifies or when the ``deadline`` (time.perf_counter())
        passed before a run; then ``reached`` is the first budget not searched."""
        prep, mes = self.prep, self.mes
        unit = prep.scale
        budget = prep.budget
        supported = len(prep.supported)
        end = last if callable(last) else (lambda: last)
        known: dict[int, _MesRun] = {}  # budget (whole units, >= x) -> its run
        prev: _MesRun | None = None
        x = first
        while True:
            nxt = known.pop(x, None)
            if nxt is None:
                stop = end()
                if (stop is not None and x > stop) or (
                    deadline is not None and time.perf_counter() > deadline
                ):
                    self.reached = x
                    return None
                later = [k for k in known if k > x]
                hi = x + (self.span - 1) * unit if self.skip else x
                if later:
                    hi = min(hi, min(later) - unit)
                if stop is not None:
                    hi = min(hi, stop)
                began = time.perf_counter()
                if hi == x:
                    if mes is _mes_fast:  # may stop early: a run that cannot end the search
                        nxt = mes(prep, Fraction(x), within=budget)
                    else:
                        nxt = mes(prep, Fraction(x))
                    # (orders cut short compare as they are: this only steers the search)
                    self._stepped(prev is not None and nxt.order == prev.order, began)
                else:
                    self._try(x, hi, known, began)
                    continue
            cost = getattr(nxt, "cost", None)
            if cost is None:
                cost = nxt.cost = sum(prep.cost[p] for p in nxt.order)
            if cost > budget:
                return x, True, nxt, prev
            if len(nxt.order) == supported:  # a larger budget cannot do better
                return x, False, nxt, prev
            prev = nxt
            x += unit

    def _tries_pay(self) -> bool:
        """Whether tries settle budgets faster than single steps: by the time they take once
        both have been timed (single runs are cheap on small elections, where a try's proofs
        cost relatively more), by the budgets a try proves before."""
        if self.try_time and self.step_time:
            return self.try_time < self.gain * self.step_time
        return self.gain >= _GAIN

    def _stepped(self, same: bool, began: float) -> None:
        """After a single step (``same``: it kept the order of the step before), begun at
        ``began`` (time.perf_counter())."""
        took = time.perf_counter() - began
        self.step_time = 0.7 * self.step_time + 0.3 * took if self.step_time else took
        if self._tries_pay():  # go on trying
            self.span = max(2, self.good)
        else:  # they do not: try again after _STREAK steps that kept the order
            self.streak = self.streak + 1 if same else 0
            if self.streak >= _STREAK:
                self.span, self.streak = 2 * _STREAK, 0

    def _try(self, x: int, hi: int, known: dict, began: float) -> None:
        """A run at hi with a grid from x - 1 unit to hi, begun at ``began``; what it proves
        goes into ``known``."""
        unit = self.prep.scale
        base = x - unit
        n = (hi - base) // unit
        if n <= _POINTS:
            steps = range(n + 1)
        else:
            steps = sorted({i * n // _POINTS for i in range(_POINTS + 1)})
        grid = [base + s * unit for s in steps]
        # cut short within the budget (``cut``), the run at hi and the budgets it proves agree on
        # the rounds run and cannot end the search: projects out of the heap at hi cannot be paid
        # at lower budgets with the same rounds either (voters have no more money there)
        run_hi = _mes_fast(self.prep, Fraction(hi), grid=grid, within=self.prep.budget)
        proven = run_hi.covered
        for k in proven:
            known[k] = run_hi
        if not run_hi.stopped or run_hi.cut:
            known[hi] = run_hi
        self.gain = 0.7 * self.gain + 0.3 * len(proven)
        took = time.perf_counter() - began
        self.try_time = 0.7 * self.try_time + 0.3 * took if self.try_time else took
        if x not in known:  # zoom into the first piece; single steps if it is one
            self.span = steps[1] - steps[0]
            if self.span > 1:  # the pieces were too wide: aim lower
                self.good = max(2, min(self.good, n // 2))
        elif sum(k <= hi for k in known) >= n:  # all proven
            self.good = max(self.good, self.span)
            self.span = max(self.span * _GROW, self.good)
        else:
            self.span = max(2, self.span // 2)
            self.good = max(2, min(self.good, n // 2))


_FIRST_SPAN = 8  # budgets tried at once at the start
_POINTS = 32  # grid budgets per try (beyond: pieces)
_STREAK = 3  # unchanged single steps before trying a jump again
_GAIN = 3  # budgets proven per try below which single steps are preferred
_GROW = 2  # factor of the span after a try proven whole


# --------------------------------------------------------------------------------------------
# The add-one search in two processes
#
# The budgets from some x on are cut into consecutive chunks, claimed in turn by this process and
# one forked child (whichever is free takes the next chunk), each searching its chunk with its
# own _Scan. The first qualifying budget found (``event``) is shared; a process stops searching
# budgets beyond it and takes no chunk that starts after it. When neither takes a new chunk,
# every budget before the event has been searched and found not to qualify: the event is the
# first qualifying budget, as in the sequential loop. Shared state: a few int64 in an anonymous
# shared mapping, under a POSIX record lock (released by the kernel if a process dies).
#
# Safe in a web worker: the child only computes (everything it uses is imported and built
# before the fork: no imports, no logging, no I/O but its error pipe), never returns into the
# caller's code (os._exit, so no atexit handlers, no flushed buffers, no closed connections) and
# is always reaped before _scan_parallel returns or raises.

_SOLO = 0.05  # seconds of searching in one process before the search is split
_CHUNK_TIME = 0.05  # aimed-at seconds of searching per chunk, at least
_CHUNK_SHARE = 0.05  # and at most this share of the time the split search has taken so far
_NONE = 2**62  # no event found yet
_SLOT_NEXT, _SLOT_EVENT, _SLOT_OVER = 0, 1, 2


def _cpus() -> int:
    """The CPUs this process may use for the search: 1 where fork or the affinity call is
    missing, where children are reaped automatically (SIGCHLD ignored: their exit status
    would be lost), or where other Python threads run (a threaded server: a child forked
    while one of them holds a lock could hang on it)."""
    if fcntl is None or not hasattr(os, "fork") or not hasattr(os, "sched_getaffinity"):
        return 1
    if signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN or threading.active_count() > 1:
        return 1
    return len(os.sched_getaffinity(0))


class _Shared:
    """int64 slots shared between this process and its forked child, and a lock over them."""

    def __init__(self, slots: int) -> None:
        self._map = mmap.mmap(-1, 8 * slots)  # anonymous and shared: inherited by the child
        self._lockfile = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()

    def __enter__(self):
        fcntl.lockf(self._lockfile, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        fcntl.lockf(self._lockfile, fcntl.LOCK_UN)

    def __getitem__(self, i: int) -> int:
        return struct.unpack_from("q", self._map, 8 * i)[0]

    def __setitem__(self, i: int, value: int) -> None:
        struct.pack_into("q", self._map, 8 * i, value)

    def close(self) -> None:
        self._map.close()
        self._lockfile.close()


def _scan_parallel(scan: _Scan, first: int, size: int) -> tuple[int, bool]:
    """The first qualifying budget from ``first`` on and whether it is ``over``, searched by
    this process and a forked child, in chunks of ``size`` budgets at first. The child never
    returns into the caller's code: it ends with os._exit; its failure raises here (with its
    traceback), and an exception here kills and reaps it."""
    unit = scan.prep.scale
    shared = _Shared(3)
    shared[_SLOT_NEXT] = first
    shared[_SLOT_EVENT] = _NONE
    err_r, err_w = os.pipe()
    pid = -1
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns about fork in a process with threads; the only ones here are
            # native (numpy's BLAS), which the child never calls: it only computes and writes
            # to the shared map
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                os.close(err_r)
                _work(scan, shared, unit, size)
                code = 0
            except BaseException:
                with contextlib.suppress(BaseException):  # the exit code tells anyway
                    os.write(err_w, traceback.format_exc()[-8000:].encode())
            finally:
                os._exit(code)
        os.close(err_w)
        err_w = -1
        _work(scan, shared, unit, size)
        _, status = os.waitpid(pid, 0)
        pid = -1
        if status != 0:
            with os.fdopen(err_r, "rb", closefd=False) as f:
                message = f.read().decode(errors="replace")
            raise RuntimeError(f"the add-one search in a second process failed:\n{message}")
        with shared:
            event, over = shared[_SLOT_EVENT], shared[_SLOT_OVER]
        assert event != _NONE, "the add-one search ended without a qualifying budget"
        return event, bool(over)
    finally:
        if pid > 0:  # something went wrong here: the child's work is of no use
            try:
                os.kill(pid, signal.SIGKILL)
            finally:
                os.waitpid(pid, 0)
        os.close(err_r)
        if err_w >= 0:
            os.close(err_w)
        shared.close()


def _work(scan: _Scan, shared: _Shared, unit: int, size: int) -> None:
    """One process's part of the parallel search: claim chunks (of ``size`` budgets at first,
    then adapted to take about _CHUNK_TIME, or _CHUNK_SHARE of the time so far: the longer the
    search, the fewer restarts of the skipping in _Scan) and search them until the next chunk
    would start after the event found. At the end one process may wait for the other's chunk:
    about one chunk's time."""
    began = time.perf_counter()
    while True:
        with shared:
            start = shared[_SLOT_NEXT]
            if start >= shared[_SLOT_EVENT]:
                return
            shared[_SLOT_NEXT] = start + size * unit
        last = start + (size - 1) * unit

        def end(last=last):
            with shared:
                return min(last, shared[_SLOT_EVENT] - unit)

        chunk_began = time.perf_counter()
        found = scan.search(start, end)
        if found is not None:
            x, over = found[0], found[1]
            with shared:
                if x < shared[_SLOT_EVENT]:
                    shared[_SLOT_EVENT] = x
                    shared[_SLOT_OVER] = int(over)
            return
        now = time.perf_counter()
        aim = max(_CHUNK_TIME, _CHUNK_SHARE * (now - began))
        size = max(1, min(4 * size, round(size * aim / max(now - chunk_began, 1e-6))))


def run(
    election: Election,
    rule: str = "equal-shares",
    completion: str | None = "add1",
    *,
    parallel: bool = True,
) -> Outcome:
    """Count an election. ``completion`` applies to equal-shares; greedy ignores it (None is
    fine there). ``parallel``: a long add-one search may fork one child process to use a second
    CPU (it is always reaped before this returns or raises; the outcome is the same either way);
    False keeps everything in this process."""
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; expected one of {', '.join(RULES)}")
    if completion not in COMPLETIONS and not (rule == "greedy" and completion is None):
        raise ValueError(
            f"unknown completion {completion!r}; expected one of {', '.join(COMPLETIONS)}"
        )
    prep = _Prep(election)
    return _run_prepared(prep, rule, completion, _mes_fast, parallel)


def _run_prepared(prep: _Prep, rule: str, completion: str, mes, parallel: bool = False) -> Outcome:
    budget = prep.budget
    money: list[Fraction] | None = None
    voter_budget: Fraction | None = None
    stages: list[tuple[int, str]] = []
    if rule == "greedy":
        stages = [(p, "greedy") for p in _greedy_order(prep, prep.supported, budget)]
    elif prep.n == 0:
        pass
    else:
        if completion == "none":
            voter_budget = Fraction(budget, prep.n)
            final = mes(prep, voter_budget, True)
        else:
            voter_budget, _ = _add1(prep, mes, parallel=parallel)
            final = mes(prep, voter_budget, True)
        money = final.money
        stages = [(p, "equal-shares") for p in final.order]
        if completion == "greedy":
            done = set(final.order)
            left = budget - sum(prep.cost[p] for p in final.order)
            rest = [p for p in prep.supported if p not in done]
            stages += [(p, "completion") for p in _greedy_order(prep, rest, left)]
    step = {p: i + 1 for i, (p, _s) in enumerate(stages)}
    stage_of = dict(stages)
    explanations = {}
    for p, pid in enumerate(prep.ids):
        if p in stage_of:
            stage = stage_of[p]
        elif prep.cost[p] > budget:
            stage = "too-expensive"
        elif prep.supp[p] == 0:
            stage = "unsupported"
        else:
            stage = "not-enough"
        explanations[pid] = Explanation(
            project_id=pid,
            funded=p in stage_of,
            stage=stage,
            supporters=prep.supp[p],
            score=prep.score[p],
            cost=prep.cost[p],
            supporters_money=(money[p] if money is not None and p not in stage_of else None),
            step=step.get(p),
        )
    funded = [prep.ids[p] for p, _s in stages]
    return Outcome(
        rule=rule,
        completion=completion if rule == "equal-shares" else None,
        funded=funded,
        cost=sum(prep.cost[p] for p, _s in stages),
        budget=budget,
        scores={pid: prep.score[p] for p, pid in enumerate(prep.ids)},
        explanations=explanations,
        voter_budget=voter_budget,
    )
