"""One run of the fast engine: its budget classes, the scoring of a project and its funding.

``FastRun`` is the state of one MES run at one per-voter budget (engine.py's ``mes_fast`` drives
it with a heap of prices; replay.py proves from it that other budgets give the same run). It
gives the same selection order and the same money left as the exact reference (exact.py), which
the tests check; it is fast because of the three devices below.

Budget classes: voters with the same payment history have the same money left. A class never
changes; when a project is funded, its supporters in a class move to a new class (one per
utility, for points ballots) that records its parent, the round and the utility it paid for:
its money is the parent's minus rho_t * u. Those who paid all they had move to the one class
with no money left (_ZERO, class 1; class 0 is everyone at the start, with b).

A project is scored over the classes of its supporters, not over voters. A project's rho never
falls during a run, so an old score is a lower bound and only the project at the top of the
heap needs re-scoring (lazy evaluation).

Floats with a rigorous error bound per value: every class carries a bound on the error of its
float money, every rho a bound on its own. A decision is taken in floats only when the floats
settle it beyond those bounds; otherwise (near ties, classes at the edge of poor/rich) it is
taken with exact Fractions, computed on demand from the run's history.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .prep import Bools, Floats, Int64s, Prep, TieKey

ULP = 2.0**-52
_ZERO = 1  # the class with no money left
CLASS0 = np.zeros(1, dtype=np.int64)  # shared by the scores of round 0 (read-only)
ONE = np.ones(1, dtype=np.int64)
RICH = np.zeros(1, dtype=bool)
_ONES = np.ones(1 << 12, dtype=np.int64)  # utilities of approval ballots (_ones)
_FALSE = np.zeros(1 << 12, dtype=bool)  # no class with nothing left (_false)
for _a in (CLASS0, ONE, RICH, _ONES, _FALSE):
    _a.flags.writeable = False


def _ones(k: int) -> Int64s:
    """k utilities of 1 (read-only; a view of a shared array when there are not too many)."""
    if k <= len(_ONES):
        return _ONES[:k]
    out = np.ones(k, dtype=np.int64)
    out.flags.writeable = False
    return out


def _false(k: int) -> Bools:
    """k times False (read-only, like _ones)."""
    if k <= len(_FALSE):
        return _FALSE[:k]
    out = np.zeros(k, dtype=bool)
    out.flags.writeable = False
    return out


_FILL_ROUNDS = 8  # water-filling rounds before sorting (FastRun._partition)
CLOSE = 1e-9  # float rhos in the heap have a relative error below this; closer ones: exact

#: a heap entry: (float rho per unit of utility, tie-break key, project, its evaluation)
Entry = tuple[float, TieKey, int, "Eval"]


class Eval:
    """A scored project at some round: rho (internal units) and the partition of its
    supporters' classes into poor (pay all they have) and rich (pay rho * utility)."""

    __slots__ = ("p", "rnd", "rho_f", "rho", "cls", "util", "weight", "inv", "poor", "urich", "err")

    def __init__(
        self,
        p: int,
        rnd: int,
        rho_f: float | None,
        rho: Fraction | None,
        cls: Int64s,
        util: Int64s,
        weight: Int64s,
        inv: Int64s | None,
        poor: Bools | None,
        urich: int,
    ) -> None:
        self.p = p
        self.rnd = rnd
        self.rho_f = rho_f  # float rho (relative error < CLOSE / 3); None: cannot be paid
        self.rho = rho  # exact rho, computed on demand (FastRun.exact_rho)
        self.cls = cls  # supporters' classes (numpy), with the utility and total weight of each
        self.util = util
        self.weight = weight
        self.inv = inv  # for each supporting group, its position in cls (points ballots)
        self.poor = poor  # numpy bool per class (zero classes included)
        self.urich = urich  # total weight * utility of the rich
        self.err = 0.0 if rho_f is None else 2 * ULP * rho_f  # bound on |rho_f - rho|


@dataclass(slots=True)
class Supporters:
    """Project ``p`` at round ``rnd`` with its ``cost`` and its supporters by budget class (the
    classes, their utility and total weight, and ``inv`` as on Eval): what the ways of finding
    its price (``FastRun._partition`` and the others) share, and what its Eval carries."""

    p: int
    rnd: int
    cost: int
    cls: Int64s
    util: Int64s
    weight: Int64s
    inv: Int64s | None

    def priced(self, rho_f: float, rho: Fraction | None, poor: Bools, urich: int) -> Eval:
        """The Eval of these supporters at price rho (``rho_f``, and ``rho`` when exact)."""
        return Eval(
            self.p, self.rnd, rho_f, rho, self.cls, self.util, self.weight, self.inv, poor, urich
        )


class FastRun:
    """One MES run at per-voter budget ``b``: its budget classes and the projects funded so far;
    it scores a project (``score``) and funds it (``fund``), the heap is the caller's."""

    def __init__(self, prep: Prep, b: Fraction) -> None:
        self.prep = prep
        self.arr = arr = prep.arrays
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
        self.err[0] = abs(self.bf) * ULP
        # class 1 (_ZERO) is the one class of everyone who has paid all they had: every poor
        # class moves there, so zero classes do not multiply
        self.zero[_ZERO] = True
        self.nc = 2
        self.exact_budget: dict[int, Fraction] = {0: self.b}
        self.class_of = np.zeros(arr.n_groups, dtype=np.int64)
        self.chosen: list[Eval] = []  # the funded project's evaluation, per round

    # exact values, on demand -------------------------------------------------------------

    def exact_rho(self, ev: Eval) -> Fraction:
        if ev.rho is None:
            poor = ev.poor
            assert poor is not None  # (only affordable projects have a price)
            if ev.rnd == 0 and len(ev.cls) == 1 and not poor[0]:
                ev.rho = Fraction(self.prep.cost[ev.p], ev.urich)
            else:
                paid = self.exact_money(ev.cls[poor], ev.weight[poor], ev.rnd)
                ev.rho = (self.prep.cost[ev.p] - paid) / ev.urich
        return ev.rho

    def exact_money(self, cls: Int64s, weight: Int64s, rnd: int) -> Fraction:
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

    def score(self, p: int) -> Eval:
        arr = self.arr
        cost = self.prep.cost[p]
        rows = arr.groups[p]
        rnd = len(self.chosen)
        if arr.utils is None:
            if rnd == 0:  # everyone has b: rho = cost / supporters, if they can pay it
                w = self.prep.supp[p]
                weight = np.array([w], dtype=np.int64)
                if self.b.numerator * w < cost * self.b.denominator:
                    return Eval(p, 0, None, None, CLASS0, ONE, weight, None, None, 0)
                # rho (exact) is cost / w, made on demand (exact_rho)
                return Eval(p, 0, cost / w, None, CLASS0, ONE, weight, None, RICH, w)
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
        slack = float(weight @ self.err[cls]) + 4 * len(cls) * ULP * ftotal
        if ftotal + slack < cost:
            return Eval(p, rnd, None, None, cls, util, weight, inv, None, 0)
        if ftotal - slack < cost and self.exact_money(cls, weight, rnd) < cost:
            return Eval(p, rnd, None, None, cls, util, weight, inv, None, 0)
        sup = Supporters(p, rnd, cost, cls, util, weight, inv)
        zero = self.zero[cls]
        ev = self._partition(sup, fb, zero)
        if ev is None:
            ev = self._partition_exact(sup, zero)
        return ev

    def _score_approval(self, p: int, rnd: int, cost: int, rows: Int64s) -> Eval:
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
        slack = float(wf @ err) + 4 * k * ULP * ftotal
        if ftotal + slack < cost:
            return Eval(p, rnd, None, None, cls, util, weight, None, None, 0)
        if ftotal - slack < cost and self.exact_money(cls, weight, rnd) < cost:
            return Eval(p, rnd, None, None, cls, util, weight, None, None, 0)
        sup = Supporters(p, rnd, cost, cls, util, weight, None)
        u_all = int(weight.sum())
        if u_all <= 0:  # pragma: no cover - an affordable project has supporters with money
            return self._partition_exact(sup, _false(k))
        # water-filling (as in _partition): the poor are the classes with less than rho
        rf = cost / u_all
        poor = fb < rf
        urich = u_all
        paid = 0.0
        for _ in range(_FILL_ROUNDS):
            urich = u_all - int(poor @ wf)  # whole numbers below 2**53: exact
            if urich <= 0:
                return self._partition_exact(sup, _false(k))
            paid = float(poor @ money)
            rf = (cost - paid) / urich
            grow = fb < rf
            if not (grow ^ poor).any():
                break
            poor = grow
        else:
            zero = _false(k)
            ev = self._partition_sorted(sup, fb, zero)
            if ev is None:
                ev = self._partition_exact(sup, zero)
            return ev
        # rho's error bound and the partition's check, as in _confirm (utility 1)
        n_poor = int(np.count_nonzero(poor))
        err_paid = float(poor @ (wf * err)) + 4 * (n_poor + 1) * ULP * abs(paid)
        err_rf = (err_paid + 4 * ULP * (cost + abs(paid))) / urich + 4 * ULP * abs(rf)
        ev = sup.priced(rf, None, poor, urich)
        rf, err_rf = self._settle_rho(ev, rf, err_rf)
        # poor classes have at most rho, rich ones at least: x = money - rho beyond tol, with the
        # sign that its side needs (poor: x < 0, rich: x >= 0)
        x = fb - rf
        tol = err + 4 * ULP * np.abs(fb) + (err_rf + 4 * ULP * rf)
        doubt = (np.where(poor, -x, x) < tol).nonzero()[0]
        if len(doubt):
            rho = self.exact_rho(ev)
            for i in doubt.tolist():
                bc = self.budget_exact(int(cls[i]))
                if (bc > rho) if poor[i] else (bc < rho):
                    ev = self._partition_exact(sup, _false(k))
                    break
        return ev

    def _partition(self, sup: Supporters, fb: Floats, zero: Bools) -> Eval | None:
        """Find the poor classes with floats; confirm exactly where the floats are not sure.
        ``fb`` is the float money of each of the supporters' classes, ``zero`` whether it has
        none left.

        Water-filling: with the poor set P, rho = (cost - money of P) / utility of the rest;
        every class with less than rho * u joins P, and rho rises, until no class joins (a few
        rounds, usually); after _FILL_ROUNDS rounds, sort the classes instead."""
        cost, util, weight = sup.cost, sup.util, sup.weight
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
            return self._partition_sorted(sup, fb, zero)
        if u_all <= 0:
            return None
        k = int(in_p.sum())
        poor = zero.copy()
        poor[nz[in_p]] = True
        urich = u_all - int(wu_nz[in_p].sum())
        paid = float(wf_nz[in_p].sum())
        return self._confirm(sup, fb, poor, nz, k, urich, paid)

    def _partition_sorted(self, sup: Supporters, fb: Floats, zero: Bools) -> Eval | None:
        """The same by sorting the classes by money per utility."""
        cost, util, weight = sup.cost, sup.util, sup.weight
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
        return self._confirm(sup, fb, poor, nz, k, urich, paid)

    def _settle_rho(self, ev: Eval, rf: float, err_rf: float) -> tuple[float, float]:
        """rho of ``ev`` (its float value ``rf``, as on ``ev``) and that value's error bound, now
        kept on ``ev``; an ill-conditioned float is replaced by the exact value."""
        if not err_rf <= CLOSE / 3 * rf:
            rf = float(self.exact_rho(ev))
            err_rf = 2 * ULP * rf
            ev.rho_f = rf
        ev.err = err_rf
        return rf, err_rf

    def _confirm(
        self,
        sup: Supporters,
        fb: Floats,
        poor: Bools,
        nz: Int64s,
        k: int,
        urich: int,
        paid: float,
    ) -> Eval | None:
        """rho from a float partition, with its error bound; the partition checked (exactly
        where the floats are not sure). None: the partition is wrong."""
        cost, cls, util, weight = sup.cost, sup.cls, sup.util, sup.weight
        err_paid = float(weight[poor] @ self.err[cls[poor]]) + 4 * (k + 1) * ULP * abs(paid)
        rf = (cost - paid) / urich
        err_rf = (err_paid + 4 * ULP * (cost + abs(paid))) / urich + 4 * ULP * abs(rf)
        ev = sup.priced(rf, None, poor, urich)
        rf, err_rf = self._settle_rho(ev, rf, err_rf)
        # confirm: poor classes have at most rho * u, rich ones at least
        u_nz = util[nz]
        x = fb[nz] - rf * u_nz
        tol = self.err[cls[nz]] + u_nz * err_rf + 4 * ULP * (np.abs(fb[nz]) + rf * u_nz)
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

    def _partition_exact(self, sup: Supporters, zero: Bools) -> Eval:
        """The poor classes and the price found with exact money (Fractions): always right,
        and slow; where the floats could not decide."""
        cls, util, weight = sup.cls, sup.util, sup.weight
        idx = [i for i in range(len(cls)) if not zero[i]]
        bud = {i: self.budget_exact(int(cls[i])) for i in idx}
        idx.sort(key=lambda i: bud[i] / int(util[i]))
        need = Fraction(sup.cost)
        total_util = sum(int(weight[i]) * int(util[i]) for i in idx)
        poor = zero.copy()
        for i in idx:
            r = need / total_util
            if r * int(util[i]) <= bud[i]:
                return sup.priced(float(r), r, poor, total_util)
            poor[i] = True
            need -= int(weight[i]) * bud[i]
            total_util -= int(weight[i]) * int(util[i])
        raise AssertionError("affordable project without a price")  # pragma: no cover

    # funding ---------------------------------------------------------------------------------

    def fund(self, ev: Eval) -> None:
        t = len(self.chosen)
        poor, rf = ev.poor, ev.rho_f
        assert poor is not None and rf is not None  # (only an affordable project is funded)
        rich = (~poor).nonzero()[0]
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
        err_rf = ev.err
        old_cls = ev.cls[rich]
        u = ev.util[rich] if ev.inv is not None else 1  # (approval: every utility is 1)
        self.parent[new] = old_cls
        self.rnd_of[new] = t
        self.pay_u[new] = u
        old = self.fb[old_cls]
        pay = rf * u
        self.fb[new] = old - pay
        self.err[new] = self.err[old_cls] + (u * err_rf + 2 * ULP * pay) + 2 * ULP * np.abs(old)
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


def push_scored(heap: list[Entry], state: FastRun, p: int, tk: TieKey, div: list[int]) -> bool:
    """Score p again and push it; False when it cannot be paid any more (not pushed)."""
    ev = state.score(p)
    if ev.rho_f is None:
        return False
    heapq.heappush(heap, (ev.rho_f / div[p], tk, p, ev))
    return True
