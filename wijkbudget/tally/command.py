"""The counter on the command line, without the app: ``python -m wijkbudget.tally FILE.pb --rule
… [--completion …] [--json]``. It imports the tally engine and nothing of Flask, the database or
the rest of wijkbudget, so it starts in a fraction of the app's time; ``flask tally`` hands over
to it (one contract, one implementation).

The contract: the funded project ids in selection order, one per line; with ``--json`` one
object ``{"rule", "completion", "funded", "cost", "budget"}`` with amounts in the file's
currency units; the file's notes on standard error; exit code 2 (and a Dutch message) when the
file is missing or cannot be read, 2 for wrong arguments as well.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from fractions import Fraction
from typing import TextIO

#: the choices (the same as ``rules.RULES`` and ``rules.COMPLETIONS``; written out so that the
#: arguments are checked before numpy and the rules are loaded)
RULES = ("greedy", "equal-shares")
COMPLETIONS = ("add1", "greedy", "none")


def amount(value: int, scale: int) -> int | float:
    """An amount in units of the file's currency: a whole number for files without decimals,
    else a number with decimals (123450 at scale 100 → 1234.5)."""
    return value if scale == 1 else float(Fraction(value, scale))


def count(
    path: str,
    rule: str,
    completion: str = "add1",
    *,
    as_json: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Count one file and print the outcome; returns the exit code."""
    from . import pabulib, rules  # numpy: only once the arguments are known to be right

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        election = pabulib.read(path)
    except FileNotFoundError:
        print(f"Bestand niet gevonden: {path}", file=err)
        return 2
    except pabulib.PabulibError as error:
        print(f"{path}: {error}", file=err)
        return 2
    except OSError as error:
        print(f"Kan {path} niet lezen: {error.strerror or error}", file=err)
        return 2
    for note in election.notes:
        print(note, file=err)
    used = completion if rule == "equal-shares" else None
    # one count that may take a while: the add-one search may use a second CPU
    outcome = rules.run(election, rule, used, parallel=True)
    if as_json:
        summary = {
            "rule": rule,
            "completion": used,
            "funded": outcome.funded,
            "cost": amount(outcome.cost, election.scale),
            "budget": amount(outcome.budget, election.scale),
        }
        print(json.dumps(summary, ensure_ascii=False), file=out)
    else:
        for pid in outcome.funded:
            print(pid, file=out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wijkbudget.tally",
        description="Count a pabulib .pb file: print the funded project ids in selection order.",
    )
    parser.add_argument("path", metavar="FILE.pb")
    parser.add_argument("--rule", required=True, choices=RULES, help="How to count.")
    parser.add_argument(
        "--completion",
        choices=COMPLETIONS,
        default="add1",
        help="How equal shares fills the budget (ignored with --rule greedy; default add1).",
    )
    parser.add_argument(
        "--json", dest="as_json", action="store_true", help="One JSON object instead of the ids."
    )
    args = parser.parse_args(argv)
    return count(args.path, args.rule, args.completion, as_json=args.as_json)
