"""How long hostile input keeps a worker busy, in-process (issue 18, point 1).

Not a test: run it by hand, e.g.

    .venv/bin/python benchmarks/backtracking.py          # the old patterns up to 40,000 chars
    .venv/bin/python benchmarks/backtracking.py --full   # the old postcode pattern at 100,000 too

For each hostile input it prints the seconds the old pattern took (the ones issue 18 found,
kept here only to compare) and the seconds today's code takes: the parsers, the name check,
the Markdown of a long text, and whole requests (registration and the account page with a
100,000-character postcode, on a throwaway SQLite database). The structural guarantee is in
tests/test_input_limits.py; these are the figures for docs/security.md."""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _inprocess import one_resident_app  # noqa: E402 (it loads the app only when called)

# the patterns before issue 18, to compare with
OLD_POSTCODE = re.compile(r"^\s*([1-9][0-9]{3})\s*([A-Za-z]{2})?\s*$")
OLD_DASHES = re.compile(r"\s*-\s*")


def timed(call: Callable[[], Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def row(what: str, seconds: float) -> None:
    print(f"  {what:<62} {seconds * 1000:>10.2f} ms", flush=True)


def functions(sizes: list[int], old_sizes: list[int]) -> None:
    from wijkbudget.accounts.names import display_name_problem
    from wijkbudget.money import MoneyError, parse_euros
    from wijkbudget.neighbourhoods.models import postcode_digits
    from wijkbudget.neighbourhoods.operations import NeighbourhoodError, parse_postcode_ranges
    from wijkbudget.text import render_markdown

    def refused(call: Callable[[], Any], error: type[Exception]) -> Callable[[], None]:
        def run() -> None:
            with contextlib.suppress(error):
                call()

        return run

    print("old patterns (before issue 18), one call, best of 1:")
    for n in old_sizes:
        text = "3531" + " " * n + "x"
        row(f"postcode pattern, {n:,} spaces", timed(lambda t=text: OLD_POSTCODE.match(t), 1))
        ranges = "3531" + " " * n + "x"
        row(
            f"postcode ranges' dash pattern, {n:,} spaces",
            timed(lambda r=ranges: OLD_DASHES.sub("-", r), 1),
        )
    print("today, one call, best of 3:")
    for n in sizes:
        text = "3531" + " " * n + "x"
        row(f"postcode_digits, {n:,} spaces", timed(lambda t=text: postcode_digits(t)))
        row(
            f"parse_postcode_ranges, {n:,} spaces",
            timed(refused(lambda t=text: parse_postcode_ranges(t), NeighbourhoodError)),
        )
        amount = "1" + " " * n + "x"
        row(
            f"parse_euros, {n:,} characters",
            timed(refused(lambda a=amount: parse_euros(a), MoneyError)),
        )
        name = "b e s t u u r " * (n // 14)
        row(
            f"display_name_problem, {n:,} characters", timed(lambda m=name: display_name_problem(m))
        )
    # Markdown has no length cap of its own: the form's maximum (5,000 to 10,000) is the cap
    for n in (5_000, 10_000):
        for label, text in (
            ("emphasis openers", "*a " * (n // 3)),
            ("brackets", "[" * n),
            ("nested quotes", "> " * (n // 2) + "x"),
            ("backticks", "`" * n),
        ):
            from wijkbudget.text import _rendered

            row(
                f"render_markdown, {n:,} characters of {label}",
                timed(lambda t=text: (_rendered.cache_clear(), render_markdown(t))),
            )


def requests() -> None:
    password = "lombok-is-de-mooiste-buurt"  # noqa: S105 (a throwaway database)
    with tempfile.TemporaryDirectory() as folder:
        app, place = one_resident_app(
            Path(folder),
            {
                "TESTING": True,
                "SECRET_KEY": "backtracking-benchmark",
                "WTF_CSRF_ENABLED": False,
                "RATELIMIT_ENABLED": False,
                "PAGE_CACHE_SECONDS": 0,
                "COOKIE_SECURE": False,
                "MAIL_SUPPRESS_SEND": True,
            },
            password,
        )
        huge = "3531" + " " * 100_000 + "x"
        client = app.test_client()
        print("whole requests with a 100,000-character postcode, best of 3:")

        def register() -> None:
            response = client.post(
                "/registreren",
                data={
                    "email": "fatima@example.org",
                    "password": password,
                    "display_name": "Fatima",
                    "place": place,
                    "postcode": huge,
                    "birth_year": "1984",
                    "language": "nl",
                },
            )
            assert response.status_code == 422, response.status_code

        row("POST /registreren → 422", timed(register))
        response = client.post("/inloggen", data={"email": "jan@example.org", "password": password})
        assert response.status_code == 303, response.status_code

        def account() -> None:
            response = client.post(
                "/account/gegevens",
                data={
                    "profile-display_name": "Jan",
                    "profile-language": "nl",
                    "profile-area": "",
                    "profile-work_postcode": huge,
                },
            )
            assert response.status_code == 422, response.status_code

        row("POST /account/gegevens (work postcode) → 422", timed(account))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the old postcode pattern at 100,000")
    args = parser.parse_args()
    functions(
        [10_000, 40_000, 100_000], [10_000, 40_000, 100_000] if args.full else [10_000, 40_000]
    )
    requests()


if __name__ == "__main__":
    main()
