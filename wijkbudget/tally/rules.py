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

Every project gets an ``Explanation``: the figures behind the sentence on the result page. For
greedy (and the greedy completion): what was left of the budget when its turn came. For a
project chosen by equal shares, with ``explain=True``: how its supporters paid for it
(payments.py: what they had left, who paid in full, who paid all they had, who had nothing
left), from the engine's own prices and checked to add up to the cost. For one equal shares
did not choose: what its supporters had left together at the end.

This module is the public entry (``run``, ``RULES``, ``COMPLETIONS``, ``STAGES``, ``Outcome``,
``Explanation``, ``Payment``) and the rules themselves; the counting machinery is below it:
prep.py (the election in index form), exact.py (the exact reference run of MES), engine.py with
fastrun.py and replay.py (the fast run of MES that ``run`` uses), search.py (the add-one
search), parallel.py (that search in two processes, only when the caller asks for it) and
payments.py (who paid what for each project equal shares chose).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from .engine import mes_fast
from .model import Election
from .payments import Payment, pay
from .prep import Mes, Prep
from .search import add1

__all__ = ["COMPLETIONS", "RULES", "STAGES", "Explanation", "Outcome", "Payment", "run"]

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
    # greedy, and the greedy completion: what was left of the budget (internal units) when the
    # project's turn came; None for projects that never had a turn there
    left_before: int | None = None
    # equal-shares, funded in the equal-shares stage, counted with ``explain=True``: how its
    # supporters paid for it
    payment: Payment | None = None


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


def run(
    election: Election,
    rule: str = "equal-shares",
    completion: str | None = "add1",
    *,
    parallel: bool = False,
    explain: bool = False,
) -> Outcome:
    """Count an election. ``completion`` applies to equal-shares; greedy ignores it (None is
    fine there). ``parallel=True``: a long add-one search may fork one child process to use a
    second CPU (parallel.py; it is always reaped before this returns or raises; the outcome is
    the same either way). Only callers that count once and may take a while ask for it (closing
    a round, the command line); the default keeps everything in this process, as a page view
    must. ``explain=True``: each project equal shares chose gets its ``payment`` (one more exact
    pass over the ballots; closing a round asks for it, a recount that only wants the outcome
    does not)."""
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; expected one of {', '.join(RULES)}")
    if completion not in COMPLETIONS and not (rule == "greedy" and completion is None):
        raise ValueError(
            f"unknown completion {completion!r}; expected one of {', '.join(COMPLETIONS)}"
        )
    prep = Prep(election)
    return _run_prepared(prep, rule, completion, mes_fast, parallel, explain)


def _run_prepared(
    prep: Prep,
    rule: str,
    completion: str | None,
    mes: Mes,
    parallel: bool = False,
    explain: bool = False,
) -> Outcome:
    """The outcome of ``rule`` on a prepared election, with ``mes`` as the MES run (the fast
    engine; the tests also pass the exact reference)."""
    budget = prep.budget
    money: list[Fraction] | None = None
    voter_budget: Fraction | None = None
    stages: list[tuple[int, str]] = []
    left_before: dict[int, int] = {}
    payments: dict[int, Payment] = {}
    if rule == "greedy":
        stages = [(p, "greedy") for p in _greedy_order(prep, prep.supported, budget, left_before)]
    elif prep.n == 0:
        pass
    else:
        if completion == "none":
            voter_budget = Fraction(budget, prep.n)
            final = mes(prep, voter_budget, True)
        else:
            voter_budget, _ = add1(prep, mes, parallel=parallel)
            final = mes(prep, voter_budget, True)
        money = final.money
        stages = [(p, "equal-shares") for p in final.order]
        if explain:
            assert final.prices is not None  # (a run with its money has its prices)
            payments = pay(prep, voter_budget, final.order, final.prices)
        if completion == "greedy":
            done = set(final.order)
            left = budget - sum(prep.cost[p] for p in final.order)
            rest = [p for p in prep.supported if p not in done]
            stages += [(p, "completion") for p in _greedy_order(prep, rest, left, left_before)]
    step = {p: i + 1 for i, (p, _s) in enumerate(stages)}
    stage_of = dict(stages)
    explanations: dict[str, Explanation] = {}
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
            left_before=left_before.get(p),
            payment=payments.get(p),
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


def _greedy_order(
    prep: Prep, candidates: Iterable[int], left: int, left_before: dict[int, int]
) -> list[int]:
    """Most supporters (or points) first, ties as for MES; each taken if it still fits. What
    was left when each candidate's turn came goes into ``left_before``."""
    chosen = []
    for p in sorted(candidates, key=lambda p: (-prep.score[p], prep.tkey[p])):
        left_before[p] = left
        if prep.cost[p] <= left:
            chosen.append(p)
            left -= prep.cost[p]
    return chosen
