"""The reference implementation (pabutools) with our tie-breaking, shared by the tests
(tests/test_tally_rules.py) and the benchmark (benchmarks/tally.py).

pabutools is only used here and by those two: its method_of_equal_shares and
greedy_utilitarian_welfare, given our tie-breaking, are the oracle for wijkbudget.tally.rules."""

from __future__ import annotations

import math
from fractions import Fraction

from pabutools.election import (
    AbstractCumulativeProfile,
    AbstractOrdinalProfile,
    Additive_Cardinal_Sat,
    ApprovalBallot,
    ApprovalProfile,
    Cost_Sat,
    CumulativeBallot,
    CumulativeProfile,
    Instance,
)
from pabutools.election import Project as PbProject
from pabutools.election.satisfaction import AdditiveSatisfaction
from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares
from pabutools.tiebreaking import TieBreakingRule

from wijkbudget.tally.model import BallotKind, Election, Project


def from_pabutools(instance, profile) -> Election:
    """Our Election from pabutools' parse (used when our reader is not available)."""
    amounts = [Fraction(p.cost) for p in instance] + [Fraction(instance.budget_limit)]
    scale = 1
    for a in amounts:
        scale = scale * a.denominator // math.gcd(scale, a.denominator)
    projects = {p.name: Project(p.name, int(Fraction(p.cost) * scale)) for p in instance}
    if isinstance(profile, AbstractCumulativeProfile):
        kind = BallotKind.CUMULATIVE
        ballots = [{p.name: int(v) for p, v in b.items() if v > 0} for b in profile]
    else:
        kind = (
            BallotKind.ORDINAL
            if isinstance(profile, AbstractOrdinalProfile)
            else BallotKind.APPROVAL
        )
        ballots = [{p.name: 1 for p in b} for b in profile]
    return Election(projects, int(Fraction(instance.budget_limit) * scale), kind, ballots, scale)


def support(election: Election) -> dict[str, int]:
    """Ballots naming each project (with more than 0 points)."""
    counts = dict.fromkeys(election.projects, 0)
    for b in election.ballots:
        for p, v in b.items():
            if v > 0:
                counts[p] += 1
    return counts


def tie_breaking(election: Election) -> TieBreakingRule:
    """Our tie-breaking for pabutools: lowest cost, most supporters, project id."""
    supp = support(election)
    return TieBreakingRule(lambda inst, prof, proj: (proj.cost, -supp[proj.name], proj.name))


def pabutools_mes(instance, profile, tie, cumulative: bool) -> set[str]:
    """pabutools' plain MES (cost satisfaction; points for cumulative ballots)."""
    sat = Additive_Cardinal_Sat if cumulative else Cost_Sat
    out = method_of_equal_shares(instance, profile, sat_class=sat, tie_breaking=tie)
    return {p.name for p in out}


class PointsTimesCost(AdditiveSatisfaction):
    """Greedy over points: pabutools divides the total satisfaction by the cost."""

    def __init__(self, instance, profile, ballot):
        super().__init__(
            instance, profile, ballot, lambda i, pr, bal, proj, pre: bal.get(proj, 0) * proj.cost
        )


class Reference:
    """An election in pabutools form (built from our Election, so both count the same ballots)."""

    def __init__(self, election: Election) -> None:
        self.election = election
        self.scale = election.scale
        self.projects = {
            pid: PbProject(pid, Fraction(p.cost, election.scale))
            for pid, p in election.projects.items()
        }
        self.budget = Fraction(election.budget, election.scale)
        self.instance = Instance(self.projects.values(), budget_limit=self.budget)
        self.cumulative = election.kind == BallotKind.CUMULATIVE
        if self.cumulative:
            self.profile = CumulativeProfile(
                [
                    CumulativeBallot({self.projects[p]: v for p, v in b.items() if v > 0})
                    for b in election.ballots
                ],
                instance=self.instance,
            )
        else:
            self.profile = ApprovalProfile(
                [ApprovalBallot(self.projects[p] for p in b) for b in election.ballots],
                instance=self.instance,
            )
        self.support = support(election)
        self.tie = tie_breaking(election)
        self.supported = {p for p, s in self.support.items() if s > 0}
        self.n = len(election.ballots)

    def cost(self, funded) -> Fraction:
        return sum((self.projects[p].cost for p in funded), Fraction(0))

    def mes(self, voter_budget: Fraction | None = None) -> list[str]:
        """Plain MES; with a per-voter budget given, run as if the budget were n * b."""
        if self.n == 0:
            return []
        saved = self.instance.budget_limit
        if voter_budget is not None:
            self.instance.budget_limit = voter_budget * self.n
        try:
            sat = Additive_Cardinal_Sat if self.cumulative else Cost_Sat
            out = method_of_equal_shares(
                self.instance, self.profile, sat_class=sat, tie_breaking=self.tie
            )
        finally:
            self.instance.budget_limit = saved
        # projects of cost 0: we fund them when someone supports them (rho = 0); pabutools
        # (1.2) loses them from its outcome, so they are added here
        names = [p.name for p in out if p.name in self.supported]
        return names + [
            p for p in sorted(self.supported) if self.projects[p].cost == 0 and p not in names
        ]

    def add1(self) -> tuple[Fraction, list[str]]:
        """The cities' add-one completion, driven by pabutools' plain MES (in currency units)."""
        b = Fraction(math.floor(self.budget / self.n))
        out = self.mes(b)
        while set(out) != self.supported:
            nxt = self.mes(b + 1)
            if self.cost(nxt) > self.budget:
                break
            b, out = b + 1, nxt
        return b, out

    def greedy(self, budget=None, exclude=()) -> list[str]:
        sat = PointsTimesCost if self.cumulative else Cost_Sat
        instance = self.instance
        if budget is not None or exclude:
            instance = Instance(
                [p for p in self.instance if p.name not in exclude],
                budget_limit=self.budget if budget is None else budget,
            )
        out = greedy_utilitarian_welfare(
            instance, self.profile, sat_class=sat, tie_breaking=self.tie
        )
        return [p.name for p in out if p.name in self.supported]

    def completed(self) -> list[str]:
        _b, out = self.add1()
        return out + self.greedy(self.budget - self.cost(out), exclude=set(out))
