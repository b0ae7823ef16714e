"""The vote-counting rules against the reference implementation (pabutools) and real outcomes.

pabutools is the oracle: its method_of_equal_shares and greedy_utilitarian_welfare, given our
tie-breaking (tests/pabutools_reference.py). The files in tests/data/pabulib are real pabulib
elections."""

from __future__ import annotations

import math
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

from wijkbudget.tally import fastrun, parallel, rules
from wijkbudget.tally.engine import mes_fast
from wijkbudget.tally.exact import mes_exact
from wijkbudget.tally.model import BallotKind, Election, Project
from wijkbudget.tally.prep import Prep
from wijkbudget.tally.search import add1

pabutools = pytest.importorskip("pabutools")

from pabutools.election import parse_pabulib  # noqa: E402

from tests.pabutools_reference import Reference, from_pabutools  # noqa: E402

DATA = Path(__file__).parent / "data" / "pabulib"
FILES = [
    "France_Toulouse_2019.pb",  # cumulative
    "France_Toulouse_2022_6_-_Saint-Cyprien.pb",  # decimal costs
    "Netherlands_Amsterdam_166.pb",
    "Netherlands_Amsterdam_643.pb",  # choose-1
    "Netherlands_Assen_2024.pb",
    "Poland_Czestochowa_2020_Grabowka.pb",  # cumulative
    "Poland_Czestochowa_2024_Gnaszyn_-_Kawodrza.pb",  # cumulative, greedy with `selected`
    "Poland_Swiecie_2023.pb",
    "Poland_Warszawa_2019_Miedzeszyn.pb",  # greedy with `selected`
    "Poland_Wieliczka_2023_Green_Budget.pb",
    "Poland_Zabrze_2020_Pawlow.pb",
    "Switzerland_Zurich_D10.pb",  # cumulative
    "Switzerland_Zurich_S5R.pb",  # ordinal
    "Switzerland_Zurich_SN.pb",
    "US_Stanford_Dataset_PB_Cambridge_2015_vote_approvals.pb",
    "US_Stanford_Dataset_Your_Voice_Your_Choice_Parks_and_Streets-_Seattle_2019_District_5_vote_rankings.pb",
]
# decided with the Method of Equal Shares (add-one); their `selected` column is the real outcome
MES_OFFICIAL = [
    "Poland_Wieliczka_2023_Green_Budget.pb",
    "Poland_Swiecie_2023.pb",
    "Netherlands_Assen_2024.pb",
]


def read(name: str) -> Election:
    try:
        from wijkbudget.tally.pabulib import read as read_pb
    except ImportError:  # pragma: no cover - the reader is written in parallel
        return from_pabutools(*parse_pabulib(str(DATA / name)))
    return read_pb(DATA / name)


# --------------------------------------------------------------------------------------------
# Real elections


@pytest.fixture(scope="module")
def elections() -> dict[str, Election]:
    return {name: read(name) for name in FILES}


_OUTCOMES: dict[tuple, rules.Outcome] = {}


def outcome_of(elections, name: str, rule: str, completion: str = "add1") -> rules.Outcome:
    """rules.run on a file, computed once per test session."""
    key = (name, rule, completion)
    if key not in _OUTCOMES:
        _OUTCOMES[key] = rules.run(elections[name], rule, completion)
    return _OUTCOMES[key]


def test_data_is_varied(elections):
    kinds = {e.kind for e in elections.values()}
    assert kinds == {BallotKind.APPROVAL, BallotKind.CUMULATIVE, BallotKind.ORDINAL}
    assert sum((DATA / name).stat().st_size for name in FILES) < 5_000_000


@pytest.mark.parametrize("name", MES_OFFICIAL)
def test_equal_shares_reproduces_the_official_outcome(elections, name):
    election = elections[name]
    outcome = outcome_of(elections, name, "equal-shares")
    assert election.selected
    assert set(outcome.funded) == election.selected
    assert outcome.cost <= election.budget


@pytest.mark.parametrize("name", FILES)
def test_equal_shares_none_matches_pabutools(elections, name):
    election = elections[name]
    ref = Reference(election)
    ours = outcome_of(elections, name, "equal-shares", "none")
    assert set(ours.funded) == set(ref.mes())
    assert ours.voter_budget == Fraction(election.budget, election.voters)


@pytest.mark.parametrize("name", FILES)
def test_equal_shares_add1_matches_pabutools(elections, name):
    """pabutools' add-one loop (one full pabutools run per step) where there are few steps;
    elsewhere the certificate: pabutools gives our outcome at our final budget, and exceeds the
    budget one unit higher (the loop itself is checked on random elections)."""
    election = elections[name]
    ref = Reference(election)
    ours = outcome_of(elections, name, "equal-shares")
    b = ours.voter_budget / election.scale
    assert b == int(b)
    start = math.floor(ref.budget / ref.n)
    assert b >= start
    if b - start <= 40 and election.voters <= 1000:
        ref_b, ref_out = ref.add1()
        assert b == ref_b
        assert set(ours.funded) == set(ref_out)
    else:
        assert set(ours.funded) == set(ref.mes(b))
        if set(ours.funded) != ref.supported:
            assert ref.cost(ref.mes(b + 1)) > ref.budget
    if b - start <= 150:  # our own loop without skipping agrees
        stepped = add1(Prep(election), mes_fast, skip=False)
        assert stepped[0] == ours.voter_budget


@pytest.mark.parametrize("name", FILES)
def test_equal_shares_greedy_completion_matches_pabutools(elections, name):
    election = elections[name]
    ref = Reference(election)
    ours = outcome_of(elections, name, "equal-shares", "greedy")
    add1 = outcome_of(elections, name, "equal-shares")
    assert ours.funded[: len(add1.funded)] == add1.funded
    assert ours.voter_budget == add1.voter_budget
    left = ref.budget - ref.cost(add1.funded)
    extra = ref.greedy(left, exclude=set(add1.funded))
    assert set(ours.funded) == set(add1.funded) | set(extra)
    assert ours.cost <= election.budget


@pytest.mark.parametrize("name", FILES)
def test_greedy_matches_pabutools(elections, name):
    election = elections[name]
    ours = outcome_of(elections, name, "greedy")
    assert set(ours.funded) == set(Reference(election).greedy())
    assert ours.completion is None and ours.voter_budget is None


def _greedy_with_selected(name: str) -> bool:
    """META says the city used greedy, and PROJECTS has a `selected` column."""
    lines = (DATA / name).read_text("utf-8").splitlines()
    rule = next((x.strip() for x in lines if x.startswith("rule;")), "")
    header = lines[lines.index("PROJECTS") + 1] if "PROJECTS" in lines else ""
    return rule == "rule;greedy" and "selected" in header.split(";")


GREEDY_OFFICIAL = [name for name in FILES if _greedy_with_selected(name)]


def test_greedy_files_are_there():
    assert len(GREEDY_OFFICIAL) >= 2


@pytest.mark.parametrize("name", GREEDY_OFFICIAL)
def test_greedy_reproduces_the_official_outcome(elections, name):
    election = elections[name]
    assert election.selected
    assert set(outcome_of(elections, name, "greedy").funded) == election.selected


# --------------------------------------------------------------------------------------------
# Random elections


def random_election(rng: random.Random, cumulative: bool) -> Election:
    """Small elections with many ties; some with decimal amounts (scale 10 or 100)."""
    m = rng.randint(1, 7)
    n = rng.randint(0, 18)
    scale = rng.choice([1, 1, 1, 10, 100])
    costs = [rng.choice([1, 2, 2, 3, 4, 5, 6, 10]) * rng.choice([1, 1, 3]) for _ in range(m)]
    if scale > 1:
        costs = [c * scale + rng.choice([0, 0, rng.randint(0, scale - 1)]) for c in costs]
    if rng.random() < 0.3:
        costs[0] = 0
    projects = {f"p{i}": Project(f"p{i}", c) for i, c in enumerate(costs)}
    popular = rng.sample(list(projects), rng.randint(0, m))
    ballots = []
    for _ in range(n):
        chosen = popular if rng.random() < 0.3 else rng.sample(list(projects), rng.randint(0, m))
        ballots.append({p: (rng.randint(1, 3) if cumulative else 1) for p in chosen})
    budget = rng.randint(1, sum(costs) + 3 * scale)
    kind = BallotKind.CUMULATIVE if cumulative else BallotKind.APPROVAL
    return Election(projects, budget, kind, ballots, scale)


@pytest.mark.parametrize("cumulative", [False, True], ids=["approval", "cumulative"])
def test_random_elections_match_pabutools(cumulative):
    rng = random.Random(20261130 + cumulative)
    for _ in range(150):
        election = random_election(rng, cumulative)
        ref = Reference(election)
        context = (election.budget, election.projects, election.ballots)
        assert set(rules.run(election, "greedy").funded) == set(ref.greedy()), context
        if election.voters == 0:
            assert rules.run(election).funded == []
            continue
        none = rules.run(election, "equal-shares", "none")
        assert set(none.funded) == set(ref.mes()), context
        add1 = rules.run(election, "equal-shares", "add1")
        ref_b, ref_out = ref.add1()
        assert add1.voter_budget / election.scale == ref_b, context
        assert set(add1.funded) == set(ref_out), context
        completed = rules.run(election, "equal-shares", "greedy")
        assert set(completed.funded) == set(ref.completed()), context


@pytest.mark.parametrize("cumulative", [False, True], ids=["approval", "cumulative"])
def test_fast_path_equals_exact_path(cumulative):
    """The fast MES run (budget classes, lazy scores, floats checked exactly) against the plain
    Fraction implementation: same selection order, same money left, at many budgets."""
    rng = random.Random(7 + cumulative)
    for _ in range(300):
        election = random_election(rng, cumulative)
        prep = Prep(election)
        if prep.n == 0:
            continue
        for b in (
            Fraction(election.budget, prep.n),
            Fraction(rng.randint(0, 40), rng.randint(1, 7)),
        ):
            exact = mes_exact(prep, b, True)
            fast = mes_fast(prep, b, True)
            assert (fast.order, fast.money) == (exact.order, exact.money)


@pytest.mark.parametrize("cumulative", [False, True], ids=["approval", "cumulative"])
def test_add1_skipping_equals_stepping(cumulative):
    rng = random.Random(99 + cumulative)
    for _ in range(150):
        election = random_election(rng, cumulative)
        election.ballots *= rng.randint(1, 30)  # bigger budgets per step
        prep = Prep(election)
        if prep.n == 0:
            continue
        stepped = add1(prep, mes_fast, skip=False)
        skipped = add1(prep, mes_fast)
        assert (skipped[0], skipped[1].order) == (stepped[0], stepped[1].order)


def scaled_election(rng: random.Random, cumulative: bool) -> Election:
    """A random election with costs and budget scaled up (many add-one steps per change of the
    outcome) and its ballots repeated."""
    small = random_election(rng, cumulative)
    f = rng.choice([1, 30, 200])
    return Election(
        {pid: Project(pid, p.cost * f) for pid, p in small.projects.items()},
        small.budget * f,
        small.kind,
        small.ballots * rng.randint(1, 6),
        small.scale,
    )


def scaled_preps(
    rng: random.Random, cumulative: bool, count: int
) -> Iterator[tuple[Election, Prep]]:
    """``count`` scaled elections, each with its prepared form (those without voters left out)."""
    for _ in range(count):
        election = scaled_election(rng, cumulative)
        prep = Prep(election)
        if prep.n:
            yield election, prep


@pytest.mark.parametrize("cumulative", [False, True], ids=["approval", "cumulative"])
def test_replay_proves_only_budgets_with_the_same_run(cumulative):
    """Every budget that a run with a grid (replay.Replay) claims to give its run does so in the
    exact implementation; grids of single budgets and of pieces, on elections with many steps
    per change of the outcome and on ones where the outcome changes at almost every step."""
    rng = random.Random(4242 + cumulative)
    proven_total = 0
    for election, prep in scaled_preps(rng, cumulative, 120):
        unit = prep.scale
        b0 = prep.first_share + rng.randint(0, 40) * unit
        n = rng.choice([1, 2, 5, 16, 40])
        spacing = rng.choice([1, 1, 3])
        grid = [b0 + i * spacing * unit for i in range(n + 1)]
        run = mes_fast(prep, Fraction(grid[-1]), grid=grid)
        context = (election.budget, election.projects, election.ballots, grid)
        if not run.stopped:
            assert run.order == mes_exact(prep, Fraction(grid[-1])).order, context
        for g in run.covered:
            assert grid[0] < g <= grid[-1], context
            assert mes_exact(prep, Fraction(g)).order == run.order, (g, context)
        proven_total += len(run.covered)
    assert proven_total > 200  # the proofs do prove things


def _cannot_end_the_search(prep: Prep, order: list[int]) -> bool:
    return sum(prep.cost[p] for p in order) <= prep.budget and len(order) < len(prep.supported)


@pytest.mark.parametrize("cumulative", [False, True], ids=["approval", "cumulative"])
def test_runs_cut_short_within_the_budget(cumulative):
    """A run with ``within`` (the add-one search's single steps) is the whole run's order cut
    short, and only where the whole run cannot end the search (outcome within the budget, some
    supported project left out)."""
    rng = random.Random(515 + cumulative)
    cut = 0
    for election, prep in scaled_preps(rng, cumulative, 150):
        start = prep.first_share
        for b in (start, start + rng.randint(1, 60) * prep.scale):
            whole = mes_exact(prep, Fraction(b)).order
            run = mes_fast(prep, Fraction(b), within=prep.budget)
            context = (b, election.budget, election.projects, election.ballots)
            assert run.stopped == run.cut, context
            if run.cut:
                cut += 1
                assert whole[: len(run.order)] == run.order, context
                assert _cannot_end_the_search(prep, whole), context
            else:
                assert run.order == whole, context
    assert cut > 50  # runs are cut short


@pytest.mark.parametrize("cumulative", [False, True], ids=["approval", "cumulative"])
def test_runs_with_a_grid_cut_short_within_the_budget(cumulative):
    """With a grid and ``within`` (the add-one search's tries): every budget proven (and the run's
    own budget, unless stopped for the proofs) gives a run that agrees on the rounds run and,
    when the run was cut short, cannot end the search."""
    rng = random.Random(616 + cumulative)
    cut = 0
    for election, prep in scaled_preps(rng, cumulative, 100):
        unit = prep.scale
        b0 = prep.first_share + rng.randint(0, 40) * unit
        grid = [b0 + i * unit for i in range(rng.choice([1, 5, 16]) + 1)]
        run = mes_fast(prep, Fraction(grid[-1]), grid=grid, within=prep.budget)
        checked = list(run.covered) + ([grid[-1]] if run.cut or not run.stopped else [])
        for g in checked:
            whole = mes_exact(prep, Fraction(g)).order
            context = (g, election.budget, election.projects, election.ballots, grid)
            if run.cut:
                cut += 1
                assert whole[: len(run.order)] == run.order, context
                assert _cannot_end_the_search(prep, whole), context
            else:
                assert whole == run.order, context
    assert cut > 20


def test_runs_on_one_prepared_election_in_any_order():
    """Runs share the round-0 evaluations of their election (approval): runs at budgets in any
    order on one prepared election equal runs on freshly prepared ones."""
    rng = random.Random(717)
    for _ in range(60):
        election = random_election(rng, False)
        shared = Prep(election)
        if shared.n == 0:
            continue
        budgets = [Fraction(rng.randint(0, 60), rng.randint(1, 5)) for _ in range(8)]
        for b in budgets:
            fresh = mes_fast(Prep(election), b, True)
            again = mes_fast(shared, b, True)
            assert (again.order, again.money) == (fresh.order, fresh.money)


@pytest.mark.parametrize("cumulative", [False, True], ids=["approval", "cumulative"])
def test_fast_path_sorting_fallback_equals_exact_path(cumulative, monkeypatch):
    """The partition found by sorting (used when water-filling takes too many rounds), forced
    everywhere, against the exact implementation."""
    monkeypatch.setattr(fastrun, "_FILL_ROUNDS", 0)
    rng = random.Random(31 + cumulative)
    for _ in range(200):
        election = random_election(rng, cumulative)
        election.ballots *= rng.randint(1, 3)
        prep = Prep(election)
        if prep.n == 0:
            continue
        b = Fraction(rng.randint(0, 40), rng.randint(1, 7))
        exact = mes_exact(prep, b, True)
        fast = mes_fast(prep, b, True)
        assert (fast.order, fast.money) == (exact.order, exact.money)


@pytest.mark.parametrize("cumulative", [False, True], ids=["approval", "cumulative"])
def test_add1_fast_and_skipping_equals_exact_stepping(cumulative):
    """The whole add-one loop: the fast path with skipping against the exact implementation
    stepping one unit at a time (costs scaled up, so that there are many steps and jumps), and,
    where there are few steps, every step's order of the fast run against the exact one."""
    rng = random.Random(2027 + cumulative)
    for election, prep in scaled_preps(rng, cumulative, 80):
        exact_b, exact_run = add1(prep, mes_exact, skip=False)
        fast_b, fast_run = add1(prep, mes_fast)
        context = (election.budget, election.projects, election.ballots)
        assert (fast_b, fast_run.order) == (exact_b, exact_run.order), context
        b = Fraction(prep.first_share)
        if exact_b - b <= 100 * prep.scale:
            while b <= exact_b + prep.scale:
                assert mes_fast(prep, b).order == mes_exact(prep, b).order, context
                b += prep.scale


# --------------------------------------------------------------------------------------------
# The add-one search in two processes


@pytest.mark.parametrize("chunk", [0.0, 1.0], ids=["one-budget-chunks", "growing-chunks"])
@pytest.mark.parametrize("cumulative", [False, True], ids=["approval", "cumulative"])
def test_add1_parallel_equals_sequential(cumulative, chunk, forks, monkeypatch):
    """The search split over two processes finds the budget of the sequential loop: chunks of
    one budget each (the first qualifying budget at any place in a chunk, or at its start) and
    chunks that grow (tries inside chunks)."""
    monkeypatch.setattr(parallel, "CHUNK_TIME", chunk)
    monkeypatch.setattr(parallel, "CHUNK_SHARE", chunk)
    rng = random.Random(606 + cumulative)
    split = 0
    for election, prep in scaled_preps(rng, cumulative, 25):
        before = len(forks)
        in_two = add1(prep, mes_fast, parallel=True)[0]
        split += len(forks) > before
        sequential = add1(prep, mes_fast)[0]
        assert in_two == sequential, (election.budget, election.projects, election.ballots)
    assert split > 10


@pytest.mark.parametrize("name", FILES)
def test_add1_parallel_equals_sequential_on_real_elections(elections, name, forks):
    in_two = rules.run(elections[name], "equal-shares", "add1", parallel=True)
    assert in_two == outcome_of(elections, name, "equal-shares")
    assert rules.run(elections[name], "equal-shares", "add1", parallel=False) == in_two


def test_add1_stays_in_one_process_with_one_cpu(elections, monkeypatch):
    monkeypatch.setattr(parallel, "SOLO", 0.0)
    monkeypatch.setattr(parallel, "cpus", lambda: 1)
    monkeypatch.setattr(parallel.os, "fork", lambda: pytest.fail("forked with one CPU"))
    name = "Poland_Swiecie_2023.pb"
    assert rules.run(elections[name], parallel=True) == outcome_of(elections, name, "equal-shares")
    monkeypatch.setattr(parallel, "cpus", lambda: 2)
    assert rules.run(elections[name], parallel=False) == outcome_of(elections, name, "equal-shares")


def test_run_splits_the_search_only_when_asked(elections, forks):
    """By default a count stays in this process (the "what if" page counts with it); only a
    caller that passes parallel=True (closing a round, the command line) forks."""
    name = "Poland_Swiecie_2023.pb"
    assert rules.run(elections[name]) == outcome_of(elections, name, "equal-shares")
    assert rules.run(elections[name], "equal-shares", "greedy").funded
    assert forks == []
    assert rules.run(elections[name], parallel=True) == outcome_of(elections, name, "equal-shares")
    assert len(forks) == 1


def test_cpus_counts_the_affinity(monkeypatch):
    # no other Python thread (the test session's mail server runs one)
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 1)
    assert parallel.cpus() == len(os.sched_getaffinity(0))
    before = signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reaped automatically
    try:
        assert parallel.cpus() == 1
    finally:
        signal.signal(signal.SIGCHLD, before)


def test_cpus_is_one_while_another_python_thread_runs():
    """In a threaded server (gunicorn's gthread workers) the search does not fork."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert parallel.cpus() == 1
    finally:
        stop.set()
        other.join()


def test_add1_parallel_failure_in_the_child_raises(elections, forks, monkeypatch):
    parent = os.getpid()
    work = parallel._work

    def failing_in_child(*args):
        if os.getpid() != parent:
            raise ValueError("broken child")
        return work(*args)

    monkeypatch.setattr(parallel, "_work", failing_in_child)
    with pytest.raises(RuntimeError, match="broken child"):
        rules.run(elections["Poland_Swiecie_2023.pb"], parallel=True)
    assert len(forks) == 1


def test_add1_parallel_failure_here_ends_the_child(elections, forks, monkeypatch):
    parent = os.getpid()

    def stuck_child_failing_parent(*args):
        if os.getpid() != parent:
            time.sleep(60)
        raise KeyError("broken parent")

    monkeypatch.setattr(parallel, "_work", stuck_child_failing_parent)
    began = time.perf_counter()
    with pytest.raises(KeyError, match="broken parent"):
        rules.run(elections["Poland_Swiecie_2023.pb"], parallel=True)
    assert time.perf_counter() - began < 30  # the child was killed, not waited for
    assert len(forks) == 1


# --------------------------------------------------------------------------------------------
# Explanations and the interface


def test_explanations(elections):
    name = "Poland_Wieliczka_2023_Green_Budget.pb"
    election = elections[name]
    outcome = outcome_of(elections, name, "equal-shares")
    assert outcome.rule == "equal-shares" and outcome.completion == "add1"
    assert outcome.budget == election.budget
    assert outcome.cost == sum(election.projects[p].cost for p in outcome.funded)
    assert set(outcome.explanations) == set(election.projects)
    for pid, ex in outcome.explanations.items():
        assert ex.project_id == pid
        assert ex.cost == election.projects[pid].cost
        assert ex.supporters == sum(1 for b in election.ballots if pid in b)
        assert ex.score == outcome.scores[pid] == ex.supporters
        if ex.funded:
            assert ex.stage == "equal-shares"
            assert outcome.funded[ex.step - 1] == pid
            assert ex.supporters_money is None
        else:
            assert ex.step is None
            assert ex.stage in ("unsupported", "too-expensive", "not-enough")
            assert isinstance(ex.supporters_money, Fraction)
            assert 0 <= ex.supporters_money < ex.cost
    assert outcome.voter_budget == 315


def test_explanation_stages():
    projects = {
        "a": Project("a", 60),
        "b": Project("b", 50),
        "c": Project("c", 10),
        "big": Project("big", 200),
        "none": Project("none", 5),
    }
    ballots = [{"a": 1, "big": 1}] * 6 + [{"b": 1, "c": 1}] * 3 + [{}]
    election = Election(projects, 100, BallotKind.APPROVAL, ballots)
    outcome = rules.run(election, "equal-shares", "greedy")
    ex = outcome.explanations
    assert ex["none"].stage == "unsupported" and ex["none"].supporters == 0
    assert ex["big"].stage == "too-expensive" and not ex["big"].funded
    assert ex["a"].stage == "equal-shares" and ex["a"].step == 1
    funded_stages = {ex[p].stage for p in outcome.funded}
    assert funded_stages <= {"equal-shares", "completion"}
    assert [ex[p].step for p in outcome.funded] == list(range(1, len(outcome.funded) + 1))
    greedy = rules.run(election, "greedy")
    assert greedy.funded == ["a", "c"]  # b (3 supporters, 50) no longer fits after a
    assert greedy.explanations["b"].stage == "not-enough"
    assert all(e.supporters_money is None for e in greedy.explanations.values())
    assert greedy.scores == {"a": 6, "b": 3, "c": 3, "big": 6, "none": 0}


def test_cumulative_scores_are_points():
    projects = {"x": Project("x", 10), "y": Project("y", 10)}
    ballots = [{"x": 3}, {"y": 1}, {"y": 1}]
    election = Election(projects, 10, BallotKind.CUMULATIVE, ballots)
    outcome = rules.run(election, "greedy")
    assert outcome.scores == {"x": 3, "y": 2}
    assert outcome.funded == ["x"]
    assert outcome.explanations["y"].supporters == 2


def test_no_voters():
    election = Election({"a": Project("a", 1)}, 10, BallotKind.APPROVAL, [])
    for rule, completion in [("equal-shares", c) for c in rules.COMPLETIONS] + [("greedy", "add1")]:
        outcome = rules.run(election, rule, completion)
        assert outcome.funded == [] and outcome.cost == 0
        assert outcome.explanations["a"].stage == "unsupported"


def test_unknown_rule_or_completion():
    election = Election({"a": Project("a", 1)}, 10, BallotKind.APPROVAL, [{"a": 1}])
    with pytest.raises(ValueError):
        rules.run(election, "phragmen")
    with pytest.raises(ValueError):
        rules.run(election, "equal-shares", "add2")
    with pytest.raises(ValueError):
        rules.run(election, "greedy", "add2")
    with pytest.raises(ValueError):
        rules.run(election, "equal-shares", None)
    assert rules.run(election, "greedy", None).funded == ["a"]  # as the results page calls it
    assert rules.RULES == ("equal-shares", "greedy")
    assert rules.COMPLETIONS == ("add1", "greedy", "none")
