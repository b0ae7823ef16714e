"""How long a whole process takes: the standalone counter against the app's own start-up.

    .venv/bin/python benchmarks/startup.py [FILE.pb] [--runs 7]

Runs, alternately, ``python -m wijkbudget.tally FILE --rule equal-shares --completion none``,
``flask --app wsgi tally`` on the same file and ``flask --app wsgi --help`` (the app loaded, nothing
counted), each ``--runs`` times, and prints the wall-clock seconds (min, median, max) and the
counter's median as a share of the app's start-up. Figures go to docs/figures.md, never into a
test. Default file: Łódź 2022 from ../shared/pabulib (90,494 voters, 160 projects).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT.parent / "shared" / "pabulib" / "Poland_Lodz_2022.pb"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=str(DEFAULT))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    flask = str(Path(sys.executable).parent / "flask")
    rule = ["--rule", "equal-shares", "--completion", "none"]
    commands = {
        "python -m wijkbudget.tally": [sys.executable, "-m", "wijkbudget.tally", args.file, *rule],
        "flask --app wsgi tally": [flask, "--app", "wsgi", "tally", args.file, *rule],
        "flask --app wsgi --help": [flask, "--app", "wsgi", "--help"],
    }
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    times: dict[str, list[float]] = {name: [] for name in commands}
    outputs: dict[str, str] = {}
    for _ in range(args.runs):
        for name, command in commands.items():
            began = time.perf_counter()
            # our own fixed commands; the only argument from outside is the file's path
            done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)  # noqa: S603
            times[name].append(time.perf_counter() - began)
            if done.returncode != 0:
                sys.exit(f"{name} failed: {done.stderr[-2000:]}")
            outputs[name] = done.stdout
    standalone, in_app = outputs["python -m wijkbudget.tally"], outputs["flask --app wsgi tally"]
    print(f"{Path(args.file).name}, {args.runs} runs each, on {os.cpu_count()} CPUs")
    print(f"same funded projects from both counters: {standalone == in_app}")
    print(f"{'command':<28} {'min':>6} {'median':>7} {'max':>6}  (seconds)")
    for name, values in times.items():
        print(f"{name:<28} {min(values):6.2f} {statistics.median(values):7.2f} {max(values):6.2f}")
    share = statistics.median(times["python -m wijkbudget.tally"]) / statistics.median(
        times["flask --app wsgi --help"]
    )
    print(f"the standalone counter takes {share:.0%} of the app's start-up (median)")


if __name__ == "__main__":
    main()
