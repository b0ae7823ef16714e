"""An election prepared for counting, and the result of one run of the Method of Equal Shares.

``Prep`` turns an ``Election`` (model.py) into index form once per count: projects numbered
0..m-1, identical ballots merged into one weighted group, supporters and scores per project and
the tie-breaking key. Everything below it reads this form: the exact reference run (exact.py),
the fast engine (engine.py and its parts fastrun.py and replay.py), the add-one search
(search.py, parallel.py) and the rules (rules.py). ``MesRun`` is what one run of either engine
returns; ``Mes`` is the signature both share, so that the rules and the search can be run on
either (the tests run them on both).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from itertools import chain
from typing import Protocol, cast

import numpy as np
from numpy.typing import NDArray

from .model import BallotKind, Election

Int64s = NDArray[np.int64]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]

#: tie-breaking after the main criterion: (cost, -supporters, id): lowest cost, most
#: supporters, id as text
TieKey = tuple[int, int, str]
#: a group's projects: project numbers (approval, ordinal) or (project, points) pairs
GroupItems = tuple[int, ...] | tuple[tuple[int, int], ...]


class Prep:
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
        self.flat_u: Int64s | None  # per (group, project) pair: the points (cumulative only)
        self._groups: list[tuple[GroupItems, int]] | None
        if self.cumulative:
            counted_sets = Counter(
                frozenset((pid, int(pts)) for pid, pts in ballot.items() if pts > 0)
                for ballot in election.ballots
            )
            groups: list[tuple[tuple[tuple[int, int], ...], int]] = [
                (tuple((index[pid], pts) for pid, pts in fs), w)
                for fs, w in counted_sets.items()
                if fs
            ]
            self._groups = list(groups)
            group_w = [w for _items, w in groups]
            lengths = np.array([len(items) for items, _w in groups], dtype=np.int64)
            self.flat_p: Int64s = np.array(
                [p for items, _w in groups for p, _pts in items], dtype=np.int64
            )
            self.flat_u = np.array(
                [pts for items, _w in groups for _p, pts in items], dtype=np.int64
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
        self.flat_g: Int64s = np.repeat(np.arange(len(group_w), dtype=np.int64), lengths)
        self.n_groups = len(group_w)
        self.weights: Int64s = weights
        supp_a = np.bincount(self.flat_p, weights=weights[self.flat_g], minlength=m)
        supp = [int(x) for x in supp_a.tolist()]
        if self.flat_u is not None:
            wu = weights[self.flat_g] * self.flat_u
            score = [int(x) for x in np.bincount(self.flat_p, weights=wu, minlength=m).tolist()]
        else:
            score = list(supp)
        self.supp = supp
        self.score = score
        self.tkey: list[TieKey] = [(self.cost[p], -supp[p], self.ids[p]) for p in range(m)]
        self.supported = [p for p in range(m) if supp[p] > 0]

    @property
    def first_share(self) -> int:
        """Where the add-one loop starts: each voter's ⌊B/n⌋ whole currency units."""
        return (self.budget // (self.n * self.scale)) * self.scale

    @property
    def groups(self) -> list[tuple[GroupItems, int]]:
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

    def util_items(self, items: GroupItems) -> list[tuple[int, int]]:
        """(project, MES utility) pairs of a group: the cost (approval) or the points."""
        if self.cumulative:
            return list(cast(tuple[tuple[int, int], ...], items))
        return [(p, self.cost[p]) for p in cast(tuple[int, ...], items)]

    @cached_property
    def arrays(self) -> Arrays:
        """The supporters per project (the fast engine's form), made on first use."""
        return Arrays(self)


class Arrays:
    """Per project: the supporting groups, their weights and utilities (numpy)."""

    def __init__(self, prep: Prep) -> None:
        m = len(prep.ids)
        order = np.argsort(prep.flat_p, kind="stable")
        cuts = np.cumsum(np.bincount(prep.flat_p, minlength=m))[:-1]
        self.groups: list[Int64s] = np.split(prep.flat_g[order], cuts)
        self.weights: list[Int64s] = [prep.weights[r] for r in self.groups]
        flat_u = prep.flat_u  # (not None exactly when the ballots are cumulative)
        self.utils: list[Int64s] | None = None
        self.ukey = 1  # (cumulative) more than any utility: class * ukey + utility is a key
        if flat_u is not None:
            self.utils = np.split(flat_u[order], cuts)
            self.ukey = int(flat_u.max()) + 1 if len(order) else 1
        self.n_groups = prep.n_groups


@dataclass
class MesRun:
    """One run of the Method of Equal Shares at one per-voter budget."""

    order: list[int]  # funded projects in selection order
    money: list[Fraction] | None  # per project: what its supporters have left at the end
    # (with ``money``) the exact price of each step, per unit of utility (payments.py)
    prices: list[Fraction] | None = None
    # the fast engine's run with a grid (engine.mes_fast): the budgets proven to give this run
    covered: list[int] | None = None
    # the fast engine stopped early (``order`` is cut short): nothing left to prove (grid), or
    # ``cut``: the outcome cannot end the add-one search (``within``)
    stopped: bool = False
    cut: bool = False
    cost: int | None = None  # the cost of ``order``, once the add-one search has added it up


class Mes(Protocol):
    """One MES run: exact.mes_exact (the reference) or engine.mes_fast."""

    def __call__(self, prep: Prep, b: Fraction, want_money: bool = False) -> MesRun: ...
