"""The add-one search of the Method of Equal Shares, in one process: the per-voter budget that
the cities' add-one completion ends at.

``add1`` raises each voter's budget one currency unit at a time from ⌊B/n⌋ while the outcome
still costs at most the budget (rules.py calls it for the ``add1`` and ``greedy`` completions).
``Scan`` finds the first budget that ends the loop without running every budget: with the fast
engine (engine.py) one run with a grid proves a whole range of budgets (replay.py), and single
runs stop early once they cannot end the search. With the exact reference (exact.py) it steps
one budget at a time, which the tests compare against. A long search may go on in two
processes (parallel.py), when the caller asks for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from fractions import Fraction

from . import parallel as split  # (named so: ``parallel`` is add1's flag)
from .engine import mes_fast
from .prep import Mes, MesRun, Prep

#: what a search finds: (x, over, the run at x, the run at x - unit or None)
Found = tuple[int, bool, MesRun, MesRun | None]

_FIRST_SPAN = 8  # budgets tried at once at the start
_POINTS = 32  # grid budgets per try (beyond: pieces)
_STREAK = 3  # unchanged single steps before trying a jump again
_GAIN = 3  # budgets proven per try below which single steps are preferred
_GROW = 2  # factor of the span after a try proven whole


def add1(
    prep: Prep, mes: Mes, skip: bool = True, parallel: bool = False
) -> tuple[Fraction, MesRun | None]:
    """Raise the per-voter budget one currency unit at a time while the outcome stays within the
    budget; return the last budget within and its run (None when the budgets were searched in
    parallel: the caller runs it again anyway).

    The loop stops at the first budget (after the start) whose outcome costs more than the budget
    (the result is the budget before it) or funds every supported project (a larger budget cannot
    do better: the result is that budget); ``Scan`` finds that budget. With ``parallel`` (fast
    path only) and more than one CPU, a search that is not over after parallel.SOLO seconds goes
    on in two processes (``parallel.scan_parallel``)."""
    unit = prep.scale
    b = Fraction(prep.first_share)
    start = mes(prep, b)
    if len(start.order) == len(prep.supported):
        return b, start
    scan = Scan(prep, mes, skip)
    first = int(b) + unit
    if parallel and mes is mes_fast and split.cpus() > 1:
        began = time.perf_counter()
        found = scan.search(first, deadline=began + split.SOLO)
        if found is None:
            reached = scan.reached
            assert reached is not None  # (set when the deadline cut the search short)
            rate = (reached - first) // unit / (time.perf_counter() - began)
            size = max(1, round(rate * split.CHUNK_TIME))
            x, over = split.scan_parallel(scan.search, unit, reached, size)
            return Fraction(x - unit if over else x), None
    else:
        found = scan.search(first)
    assert found is not None  # (without an end or a deadline the search finds the budget)
    x, over, run_x, before = found
    if over:
        if before is None:
            return Fraction(x - unit), start
        if before.stopped:  # cut short: the whole run
            before = mes(prep, Fraction(x - unit))
        return Fraction(x - unit), before
    return Fraction(x), run_x


class Scan:
    """The search of the add-one loop: the first budget (whole units, ascending from a given one)
    whose outcome costs more than the budget (``over``) or funds every supported project.

    Skipping (fast path only): a run at some budget hi above the next budget x not yet known,
    with a grid of budgets from x - 1 unit to hi (``Replay``), proves that some of the budgets
    in between give the run at hi (``known``); a range of one budget is an ordinary (exact)
    run. The range (``span``) grows while everything in it is proven; when x is not proven the
    next try zooms into the first piece of the grid (single steps when that piece is one
    budget). Where tries prove little (the order changes almost every step) single steps are
    cheaper: tries resume after a few steps that kept the order. This state is kept from one
    search to the next (the parallel search makes many short ones)."""

    def __init__(self, prep: Prep, mes: Mes, skip: bool = True) -> None:
        self.prep = prep
        self.mes = mes
        self.skip = skip and mes is mes_fast
        self.span = _FIRST_SPAN  # budgets tried at once
        self.good = _FIRST_SPAN  # the last span proven whole
        self.gain = float(_GAIN)  # budgets proven per try, on average (recent tries weigh more)
        self.try_time = 0.0  # seconds per try, on average (0: no try timed yet)
        self.step_time = 0.0  # seconds per single step, on average (0: none timed yet)
        self.streak = 0  # single steps in a row that kept the order
        self.reached: int | None = None  # after a search cut short: the first budget not searched

    def search(
        self,
        first: int,
        last: int | Callable[[], int] | None = None,
        deadline: float | None = None,
    ) -> Found | None:
        """Search the budgets first, first + unit, ... up to ``last`` (None: no end; or a
        function giving the current end, asked before every run). Returns (x, over, run at x,
        run at x - unit, perhaps cut short (``stopped``), or None when x is ``first``), or None
        when no budget up to the end qualifies or when the ``deadline`` (time.perf_counter())
        passed before a run; then ``reached`` is the first budget not searched."""
        prep, mes = self.prep, self.mes
        unit = prep.scale
        budget = prep.budget
        supported = len(prep.supported)
        end: Callable[[], int | None]
        if callable(last):
            end = last
        else:

            def end() -> int | None:
                return last

        known: dict[int, MesRun] = {}  # budget (whole units, >= x) -> its run
        prev: MesRun | None = None
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
                    if mes is mes_fast:  # may stop early: a run that cannot end the search
                        nxt = mes_fast(prep, Fraction(x), within=budget)
                    else:
                        nxt = mes(prep, Fraction(x))
                    # (orders cut short compare as they are: this only steers the search)
                    self._stepped(prev is not None and nxt.order == prev.order, began)
                else:
                    self._try(x, hi, known, began)
                    continue
            cost = nxt.cost
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

    def _try(self, x: int, hi: int, known: dict[int, MesRun], began: float) -> None:
        """A run at hi with a grid from x - 1 unit to hi, begun at ``began``; what it proves
        goes into ``known``."""
        unit = self.prep.scale
        base = x - unit
        n = (hi - base) // unit
        steps: range | list[int]
        if n <= _POINTS:
            steps = range(n + 1)
        else:
            steps = sorted({i * n // _POINTS for i in range(_POINTS + 1)})
        grid = [base + s * unit for s in steps]
        # cut short within the budget (``cut``), the run at hi and the budgets it proves agree on
        # the rounds run and cannot end the search: projects out of the heap at hi cannot be paid
        # at lower budgets with the same rounds either (voters have no more money there)
        run_hi = mes_fast(self.prep, Fraction(hi), grid=grid, within=self.prep.budget)
        proven = run_hi.covered
        assert proven is not None  # (a run with a grid says what it proves)
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
