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

import heapq
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

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
            self.groups: list[tuple[tuple, int]] = [
                (tuple((index[pid], pts) for pid, pts in fs), w) for fs, w in counted.items() if fs
            ]
            flat_p = [p for items, _w in self.groups for p, _pts in items]
            flat_u = [pts for items, _w in self.groups for _p, pts in items]
        else:
            # tuples hash faster than sets; ballots in another order are merged afterwards
            get = index.__getitem__
            merged: Counter = Counter()
            for key, w in Counter(map(tuple, election.ballots)).items():
                merged[tuple(sorted(map(get, key)))] += w
            self.groups = [(items, w) for items, w in merged.items() if items]
            flat_p = [p for items, _w in self.groups for p in items]
            flat_u = None
        m = len(self.ids)
        weights = np.array([w for _, w in self.groups], dtype=np.int64)
        lengths = np.array([len(items) for items, _w in self.groups], dtype=np.int64)
        self.flat_p = np.array(flat_p, dtype=np.int64)
        self.flat_g = np.repeat(np.arange(len(self.groups), dtype=np.int64), lengths)
        self.flat_u = np.array(flat_u, dtype=np.int64) if flat_u is not None else None
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

    def util_items(self, items: tuple) -> list[tuple[int, int]]:
        """(project, MES utility) pairs of a group: the cost (approval) or the points."""
        if self.cumulative:
            return list(items)
        return [(p, self.cost[p]) for p in items]


@dataclass
class _MesRun:
    order: list[int]  # funded projects in selection order
    money: list[Fraction] | None  # per project: what its supporters have left at the end
    next_b: Fraction | None = None  # fast path: the next budget at which the run may differ


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
            sum((weights[g] * budgets[g] for g, _u in supporters[p]), Fraction(0))
            for p in range(m)
        ]
    return _MesRun(order, money)


def _affordability(
    cost: int, sup: list[tuple[int, int]], budgets: list[Fraction], weights: list[int]
) -> Fraction | None:
    """The smallest rho such that sum(w * min(budget, rho * u)) >= cost, or None."""
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
# utility, for points ballots). A class is described by its row in the matrix ``H``: H[c, t] is
# the utility for which the class paid rho_t in round t, so its money is b - sum_t H[c, t] rho_t,
# unless it once paid everything it had (then it is a "zero" class). Sums of money over many
# classes are thus sums over rounds, which keeps the exact arithmetic small.
#
# A project is scored over the classes of its supporters, not over voters. A project's rho never
# falls during a run, so an old score is a lower bound and only the project at the top of the
# heap needs re-scoring (lazy evaluation). Floats order the classes and pre-screen; every
# decision is confirmed with Fractions.
#
# Per-voter budget b as a parameter: within one run, every budget and rho is an affine function
# of b as long as the run keeps its "structure" (same projects, same classes paying everything).
# ``_FastRun.segment_end`` uses that to find the largest b' >= b with provably the same run,
# which lets the add-one loop skip budgets.

_EPS = 1e-9


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
        self.n_groups = len(prep.groups)


def _arrays(prep: _Prep) -> _Arrays:
    arr = getattr(prep, "_arrays", None)
    if arr is None:
        arr = prep._arrays = _Arrays(prep)
    return arr


class _Eval:
    """A scored project at some round: its rho (internal units) and the partition used."""

    __slots__ = ("p", "rnd", "rho", "cls", "util", "weight", "inv", "poor", "urich", "pcoef",
                 "pweight")

    def __init__(self, p, rnd, rho, cls, util, weight, inv, poor, urich, pcoef, pweight):
        self.p = p
        self.rnd = rnd
        self.rho = rho  # Fraction, or None when the supporters cannot pay the project
        self.cls = cls  # supporters' classes (numpy), with the utility and total weight of each
        self.util = util
        self.weight = weight
        self.inv = inv  # for each supporting group, its position in cls
        self.poor = poor  # numpy bool: pays everything it has (includes zero classes)
        self.urich = urich  # total weight * utility of the rich
        # money of the poor (or of all supporters, if unaffordable) = b * pweight - pcoef . rho
        self.pcoef = pcoef
        self.pweight = pweight


class _FastRun:
    def __init__(self, prep: _Prep, b: Fraction) -> None:
        self.prep = prep
        self.arr = arr = _arrays(prep)
        self.b = Fraction(b)
        self.fbv = float(self.b)
        self.R = len(prep.supported) + 1  # at most this many rounds
        cap = 256
        self.H = np.zeros((cap, self.R), dtype=np.int64)
        self.zero = np.zeros(cap, dtype=bool)
        self.fb = np.zeros(cap, dtype=np.float64)  # money per class, as floats
        self.fb[0] = self.fbv
        self.nc = 1
        self.exact: dict[int, Fraction] = {0: self.b}
        self.class_of = np.zeros(arr.n_groups, dtype=np.int64)
        self.rhos: list[Fraction] = []  # exact rho (internal units) per round
        self.chosen: list[_Eval] = []  # evaluation of the funded project per round
        self.bounds: list[tuple[_Eval, int]] = []  # (lower bound, last round + 1 it stood)
        self.drops: list[_Eval] = []  # unaffordable projects

    # exact money -----------------------------------------------------------------------------

    def money_of(self, cls: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, int]:
        """(coef, weight) with: money of these classes = b * weight - coef . rhos."""
        nz = ~self.zero[cls]
        w = weight[nz]
        t = len(self.rhos)
        coef = w @ self.H[cls[nz], :t] if t else np.zeros(0, dtype=np.int64)
        return coef, int(w.sum())

    def value(self, coef: np.ndarray, weight: int) -> Fraction:
        total = self.b * weight
        rhos = self.rhos
        for t in np.flatnonzero(coef).tolist():
            total -= int(coef[t]) * rhos[t]
        return total

    def budget_exact(self, c: int) -> Fraction:
        x = self.exact.get(c)
        if x is None:
            if self.zero[c]:
                x = Fraction(0)
            else:
                row = self.H[c]
                x = self.b
                for t in np.flatnonzero(row[: len(self.rhos)]).tolist():
                    x -= int(row[t]) * self.rhos[t]
            self.exact[c] = x
        return x

    # scoring ---------------------------------------------------------------------------------

    def score(self, p: int) -> _Eval:
        arr = self.arr
        cost = self.prep.cost[p]
        rows = arr.groups[p]
        rnd = len(self.rhos)
        if arr.utils is None:
            cls, inv = np.unique(self.class_of[rows], return_inverse=True)
            util = np.ones(len(cls), dtype=np.int64)
        else:
            keys, inv = np.unique(self.class_of[rows] * arr.ukey + arr.utils[p],
                                  return_inverse=True)
            cls, util = np.divmod(keys, arr.ukey)
        weight = np.bincount(inv, weights=arr.weights[p], minlength=len(cls)).astype(np.int64)
        fb = self.fb[cls]
        ftotal = float(weight @ fb)
        if ftotal <= cost * (1 + _EPS):
            coef, wsum = self.money_of(cls, weight)
            if ftotal < cost * (1 - _EPS) or self.value(coef, wsum) < cost:
                return _Eval(p, rnd, None, cls, util, weight, inv, None, 0, coef, wsum)
        zero = self.zero[cls]
        res = self._partition(cost, cls, util, weight, fb, zero)
        if res is None:
            res = self._partition_exact(cost, cls, util, weight, zero)
        rho, poor, urich, pcoef, pweight = res
        return _Eval(p, rnd, rho, cls, util, weight, inv, poor, urich, pcoef, pweight)

    def _partition(self, cost, cls, util, weight, fb, zero):
        """Find the poor classes with floats, then compute rho exactly and confirm."""
        nz = np.flatnonzero(~zero)
        ratio = fb[nz] / util[nz]
        srt = nz[np.argsort(ratio, kind="stable")]
        wu = weight * util
        u_all = int(wu[nz].sum())
        money = (weight[srt] * fb[srt]).astype(np.float64)
        before_money = np.concatenate(([0.0], np.cumsum(money)[:-1]))
        before_util = np.concatenate(([0], np.cumsum(wu[srt])[:-1]))
        rho_k = (cost - before_money) / (u_all - before_util)
        rich_at = np.flatnonzero(fb[srt] / util[srt] >= rho_k)
        if len(rich_at) == 0:
            return None
        k = int(rich_at[0])
        poor = zero.copy()
        poor[srt[:k]] = True
        pcoef, pweight = self.money_of(cls[poor], weight[poor])
        urich = u_all - int(before_util[k])
        if urich <= 0:
            return None
        rho = (cost - self.value(pcoef, pweight)) / urich
        # confirm: poor classes have at most rho * u, rich ones at least
        rf = float(rho)
        x = fb[nz] - rf * util[nz]
        tol = _EPS * rf * util[nz]
        pnz = poor[nz]
        doubt = np.flatnonzero((pnz & (x > -tol)) | (~pnz & (x < tol)))
        for i in nz[doubt].tolist():
            bc = self.budget_exact(int(cls[i]))
            lim = rho * int(util[i])
            if (bc > lim) if poor[i] else (bc < lim):
                return None
        return rho, poor, urich, pcoef, pweight

    def _partition_exact(self, cost, cls, util, weight, zero):
        idx = [i for i in range(len(cls)) if not zero[i]]
        bud = {i: self.budget_exact(int(cls[i])) for i in idx}
        idx.sort(key=lambda i: bud[i] / int(util[i]))
        need = Fraction(cost)
        total_util = sum(int(weight[i]) * int(util[i]) for i in idx)
        poor = zero.copy()
        for i in idx:
            r = need / total_util
            if r * int(util[i]) <= bud[i]:
                pcoef, pweight = self.money_of(cls[poor], weight[poor])
                return r, poor, total_util, pcoef, pweight
            poor[i] = True
            need -= int(weight[i]) * bud[i]
            total_util -= int(weight[i]) * int(util[i])
        raise AssertionError("affordable project without a price")  # pragma: no cover

    # funding ---------------------------------------------------------------------------------

    def fund(self, ev: _Eval) -> None:
        t = len(self.rhos)
        k = len(ev.cls)
        base = self.nc
        if base + k > len(self.zero):
            cap = max(2 * len(self.zero), base + k)
            self.H = np.concatenate([self.H, np.zeros((cap - len(self.zero), self.R), np.int64)])
            self.zero = np.concatenate([self.zero, np.zeros(cap - len(self.zero), bool)])
            self.fb = np.concatenate([self.fb, np.zeros(cap - len(self.fb))])
        new = slice(base, base + k)
        self.H[new] = self.H[ev.cls]
        self.H[new, t] = np.where(ev.poor, 0, ev.util)
        self.zero[new] = ev.poor
        self.fb[new] = np.where(ev.poor, 0.0, self.fb[ev.cls] - float(ev.rho) * ev.util)
        self.nc = base + k
        self.class_of[self.arr.groups[ev.p]] = base + ev.inv
        self.rhos.append(ev.rho)
        self.chosen.append(ev)

    def money(self) -> list[Fraction]:
        out = []
        for p in range(len(self.prep.ids)):
            rows = self.arr.groups[p]
            if len(rows) == 0:
                out.append(Fraction(0))
                continue
            cls, inv = np.unique(self.class_of[rows], return_inverse=True)
            weight = np.bincount(inv, weights=self.arr.weights[p], minlength=len(cls))
            out.append(self.value(*self.money_of(cls, weight.astype(np.int64))))
        return out


def _mes_fast(prep: _Prep, b: Fraction, want_money: bool = False, state=None) -> _MesRun:
    state = _FastRun(prep, b)
    # the true rho of a project is rho_internal / div (approval: utility = cost, internal 1)
    div = [1] * len(prep.ids) if prep.cumulative else [c or 1 for c in prep.cost]
    heap = []
    for p in prep.supported:
        ev = state.score(p)
        if ev.rho is None:
            state.drops.append(ev)
        else:
            heap.append((ev.rho / div[p], prep.tkey[p], p, ev))
    heapq.heapify(heap)
    order: list[int] = []
    while heap:
        _rho, tk, p, ev = heapq.heappop(heap)
        rnd = len(state.rhos)
        if ev.rnd != rnd:  # stale: re-score
            state.bounds.append((ev, rnd))
            ev = state.score(p)
            if ev.rho is None:
                state.drops.append(ev)
            else:
                heapq.heappush(heap, (ev.rho / div[p], tk, p, ev))
            continue
        state.fund(ev)
        order.append(p)
    result = _MesRun(order, state.money() if want_money else None)
    result.state = state
    return result


# --------------------------------------------------------------------------------------------
# Rules


def _greedy_order(prep: _Prep, candidates, left: int) -> list[int]:
    chosen = []
    for p in sorted(candidates, key=lambda p: (-prep.score[p], prep.tkey[p])):
        if prep.cost[p] <= left:
            chosen.append(p)
            left -= prep.cost[p]
    return chosen


def _add1(prep: _Prep, mes, skip: bool = True) -> tuple[Fraction, _MesRun]:
    """Raise the per-voter budget one currency unit at a time while the outcome stays within the
    budget; return the last budget within and its run."""
    unit = prep.scale
    budget = prep.budget
    b = Fraction((budget // (prep.n * unit)) * unit)
    run_ = mes(prep, b)
    supported = len(prep.supported)
    while len(run_.order) < supported:  # all supported funded: a larger b cannot do better
        if skip and run_.next_b is not None:
            # every b' in [b, next_b) gives the same run: jump to the last such step
            k = -((b - run_.next_b) // unit) - 1  # largest k with b + k * unit < next_b
            if k > 0:
                b += k * unit
        nxt_b = b + unit
        nxt = mes(prep, nxt_b)
        if sum(prep.cost[p] for p in nxt.order) > budget:
            break
        b, run_ = nxt_b, nxt
    return b, run_


def run(election: Election, rule: str = "equal-shares", completion: str = "add1") -> Outcome:
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; expected one of {', '.join(RULES)}")
    if rule == "equal-shares" and completion not in COMPLETIONS:
        raise ValueError(
            f"unknown completion {completion!r}; expected one of {', '.join(COMPLETIONS)}"
        )
    prep = _Prep(election)
    return _run_prepared(prep, rule, completion, _mes_fast)


def _run_prepared(prep: _Prep, rule: str, completion: str, mes) -> Outcome:
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
            voter_budget, final = _add1(prep, mes)
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
