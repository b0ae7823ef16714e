"""Benchmark of the vote-counting rules (wijkbudget.tally.rules.run) against pabutools.

Not a test: run it by hand, e.g.

    .venv/bin/python benchmarks/tally.py            # everything (pabutools on 200k voters: slow)
    .venv/bin/python benchmarks/tally.py --quick    # no pabutools on the generated election
    .venv/bin/python benchmarks/tally.py --no-reference   # no pabutools at all

For each election it prints our parse time, our times for equal-shares (completion none, add1,
greedy) and greedy, pabutools' parse and plain MES times, the ratio of the plain MES times, and
whether the funded sets of plain MES agree. pabutools only runs plain MES: its add-one loop
would need one full pabutools run per currency unit (about 23,000 on Budapest 2024), which is far
too slow; add1 is checked against pabutools in tests/test_tally_rules.py on small elections.
Times are wall-clock seconds (with CPU seconds of our add1 in brackets, its forked helper
process included: the machine may be shared)."""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wijkbudget.tally import rules  # noqa: E402
from wijkbudget.tally.model import BallotKind, Election, Project  # noqa: E402

PABULIB = Path("/work/shared/pabulib")
FILES = ["Poland_Lodz_2022.pb", "Poland_Warszawa_2026.pb", "Hungary_Budapest_2024.pb"]


def read_ours(path: Path) -> Election:
    try:
        from wijkbudget.tally.pabulib import read
    except ImportError:  # the reader is written in parallel; fall back to pabutools' parser
        from pabutools.election import parse_pabulib

        from tests.pabutools_reference import from_pabutools

        return from_pabutools(*parse_pabulib(str(path)))
    return read(path)


def generated(voters: int = 200_000, projects: int = 300, seed: int = 2026) -> Election:
    """A seeded approval election: popularity skewed, ballots of 1-10 projects, round costs."""
    rng = random.Random(seed)
    ids = [f"P{i:03d}" for i in range(projects)]
    costs = {pid: rng.randint(2, 400) * 500 for pid in ids}
    popularity = [1 / (i + 3) ** 0.8 for i in range(projects)]
    ballots = []
    for _ in range(voters):
        k = rng.randint(1, 10)
        chosen = set(rng.choices(ids, weights=popularity, k=k))
        ballots.append(dict.fromkeys(chosen, 1))
    budget = sum(costs.values()) // 4
    return Election(
        {pid: Project(pid, c) for pid, c in costs.items()}, budget, BallotKind.APPROVAL, ballots
    )


def pabutools_reference(election: Election):
    """pabutools instance and profile for an Election, with our tie-breaking."""
    from tests.pabutools_reference import Reference

    ref = Reference(election)
    return ref.instance, ref.profile, ref.tie


def _cpu() -> float:
    """CPU seconds of this process and of its children that ended (add1's parallel search forks
    one, and always waits for it)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(fn, *args, **kwargs):
    w, c = time.perf_counter(), _cpu()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - w, _cpu() - c


def bench(name, load, reference: bool, ref_loader=None) -> dict:
    election, t_parse, _ = timed(load)
    row = {"name": name, "voters": election.voters, "projects": len(election.projects)}
    row["parse"] = t_parse
    none, row["none"], _ = timed(rules.run, election, "equal-shares", "none")
    # add1 as closing a round counts: its search may fork a helper process (parallel=True)
    add1, row["add1"], row["add1_cpu"] = timed(
        rules.run, election, "equal-shares", "add1", parallel=True
    )
    _, row["es_greedy"], _ = timed(rules.run, election, "equal-shares", "greedy", parallel=True)
    _, row["greedy"], _ = timed(rules.run, election, "greedy")
    row["add1_b"] = add1.voter_budget / election.scale
    row["add1_funded"] = len(add1.funded)
    if reference:
        from tests.pabutools_reference import pabutools_mes

        (instance, profile, tie), row["pb_parse"], _ = timed(ref_loader, election)
        cumulative = election.kind == BallotKind.CUMULATIVE
        ref, row["pb_none"], _ = timed(pabutools_mes, instance, profile, tie, cumulative)
        supported = {p for p, e in none.explanations.items() if e.supporters > 0}
        row["agree"] = set(none.funded) == ref & supported
        row["ratio"] = row["pb_none"] / row["none"]
    return row


def pabutools_file_loader(path: Path):
    def load(election: Election):
        from pabutools.election import parse_pabulib

        from tests.pabutools_reference import tie_breaking

        instance, profile = parse_pabulib(str(path))
        return instance, profile, tie_breaking(election)

    return load


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="no pabutools on the generated one")
    parser.add_argument("--no-reference", action="store_true", help="no pabutools at all")
    parser.add_argument("--voters", type=int, default=200_000, help="generated election size")
    args = parser.parse_args(argv)
    reference = not args.no_reference
    if reference:
        try:
            import pabutools  # noqa: F401
        except ImportError:
            print("pabutools is not installed: running without reference")
            reference = False

    jobs = []
    for name in FILES:
        path = PABULIB / name
        if not path.exists():
            print(f"skipped {name}: not found in {PABULIB}")
            continue
        jobs.append((name, lambda p=path: read_ours(p), reference, pabutools_file_loader(path)))
    gen_name = f"generated {args.voters // 1000}k x 300"
    jobs.append(
        (
            gen_name,
            lambda: generated(args.voters),
            reference and not args.quick,
            pabutools_reference,
        )
    )

    head = (
        f"{'election':<26} {'voters':>7} {'proj':>4} {'parse':>6} {'none':>6} "
        f"{'add1 (cpu)':>14} {'es+greedy':>9} {'greedy':>6} | {'pb parse':>8} {'pb none':>8} "
        f"{'ratio':>6} agree"
    )
    print(head)
    print("-" * len(head))
    for name, load, ref, ref_loader in jobs:
        row = bench(name, load, ref, ref_loader)
        add1 = f"{row['add1']:.2f} ({row['add1_cpu']:.2f})"
        line = (
            f"{name[:26]:<26} {row['voters']:>7} {row['projects']:>4} {row['parse']:>6.2f} "
            f"{row['none']:>6.3f} {add1:>14} {row['es_greedy']:>9.2f} {row['greedy']:>6.3f} | "
        )
        if ref:
            line += (
                f"{row['pb_parse']:>8.2f} {row['pb_none']:>8.2f} {row['ratio']:>5.0f}x "
                f"{'yes' if row['agree'] else 'NO'}"
            )
        else:
            line += f"{'-':>8} {'-':>8} {'-':>6} -"
        print(line, flush=True)
        print(
            f"{'':<26} add1: per-voter budget {row['add1_b']}, {row['add1_funded']} funded; "
            "pabutools: plain MES only (its add-one loop is far too slow here)",
            flush=True,
        )
    print(
        "times in seconds; 'parse' = our reader; none/add1/es+greedy = equal-shares with that "
        "completion, parsing excluded (parse is listed separately); ratio = pb none / none"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
