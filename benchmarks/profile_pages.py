"""Where a page's time goes: each page of the load benchmark, one request at a time, in-process.

    .venv/bin/python benchmarks/profile_pages.py [--database postgresql+psycopg://postgres@127.0.0.1:5432/bench]
        [--repeat 20] [--profile "result page"] [--top 25]

Uses the database and plan file of ``seed.py`` (like ``load.py``). Prints per page the mean and
best time of a request (Flask's test client: no HTTP, no gunicorn), the CPU time, the number of
SQL statements and the response size. ``--profile NAME`` also prints the functions that take the
most time on that page (cProfile, cumulative). The page cache is off unless ``--page-cache``:
this is about what rendering a page costs. It asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import time

from _inprocess import CSRF, DEFAULT_DB, fresh_code, plan_file, seeded_app, voter_with_code
from sqlalchemy import event


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default=DEFAULT_DB)
    parser.add_argument("--plan", default="")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--profile", default="")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--page-cache", action="store_true", help="with the page cache (memory)")
    args = parser.parse_args()
    path = plan_file(args.database, args.plan)
    plan = json.loads(path.read_text())
    slug, rid = plan["wijk_slug"], plan["voting_round"]

    from wijkbudget.extensions import db

    app = seeded_app(args.database, plan, page_cache=args.page_cache)
    statements = [0]
    with app.app_context():
        event.listen(
            db.engine,
            "before_cursor_execute",
            lambda *a, **k: statements.__setitem__(0, statements[0] + 1),
        )

    viewer = voter_with_code(app, path, plan)  # for the ballot page

    pages = [
        ("healthz", "/healthz", None),
        ("proposal list ?category",
         f"/wijk/{slug}/rondes/{rid}/voorstellen?category={plan['voting_category']}", None),
        ("proposal list ?q",
         f"/wijk/{slug}/rondes/{rid}/voorstellen?q={plan['search_word']}", None),
        ("proposal page", f"/voorstellen/{plan['busiest_proposal']}", None),
        ("thread busiest", f"/gesprekken/{plan['busiest_thread']}", None),
        ("thread median", f"/gesprekken/{plan['median_thread']}", None),
        ("ballot page", f"/wijk/{slug}/rondes/{rid}/stemmen", viewer),
        ("result page", f"/wijk/{slug}/rondes/{plan['closed_round']}/uitslag", None),
        ("ledger page", f"/wijk/{slug}/geld/grootboek", None),
    ]  # fmt: skip
    print(f"{'page':<26} {'mean ms':>8} {'best ms':>8} {'cpu ms':>8} {'queries':>8} {'kB':>6}")
    for name, url, client in pages:
        client = client or app.test_client()
        client.get(url)  # warm
        walls, cpus = [], []
        statements[0] = 0
        profiler = cProfile.Profile(time.process_time) if name == args.profile else None
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            response = client.get(url)
            if profiler:
                profiler.disable()
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
            assert response.status_code == 200, (url, response.status_code)
        print(
            f"{name:<26} {statistics.mean(walls) * 1000:8.1f} {min(walls) * 1000:8.1f} "
            f"{statistics.mean(cpus) * 1000:8.1f} {statements[0] / args.repeat:8.1f} "
            f"{len(response.data) / 1024:6.1f}"
        )
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)

    # casting: the four requests of a voter with a letter, each with a fresh code
    ballot_url = f"/wijk/{slug}/rondes/{rid}/stemmen"
    codes = fresh_code(path, plan, args.repeat)
    token = ""  # from each voter's GET /stem
    steps: dict[str, list[float]] = {"GET /stem": [], "POST /stem": [], "POST ballot (review)": [],
                                     "POST versturen": []}  # fmt: skip
    before = statements[0]
    profiler = cProfile.Profile(time.process_time) if args.profile == "cast" else None
    for n, code in enumerate(codes):
        voter = app.test_client()
        chosen = plan["voting_proposals"][n % 7 : n % 7 + 3]
        calls = [
            ("GET /stem", "GET", "/stem", {}, 200),
            ("POST /stem", "POST", "/stem", {"code": code}, 303),
            ("POST ballot (review)", "POST", ballot_url, {"p": chosen, "action": "review"}, 303),
            ("POST versturen", "POST", f"{ballot_url}/versturen", {}, 303),
        ]
        for name, method, url, form, want in calls:
            t, c = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            if method == "GET":
                response = voter.get(url)
            else:
                response = voter.post(url, data={**form, "csrf_token": token})
            if profiler:
                profiler.disable()
            steps[name].append((time.perf_counter() - t, time.process_time() - c))
            if name == "GET /stem":
                token = CSRF.search(response.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
            assert response.status_code == want, (name, response.status_code)
    per_cast = (statements[0] - before) / max(1, len(codes))
    for name, values in steps.items():
        walls = [w for w, _ in values]
        cpus = [c for _, c in values]
        print(f"cast: {name:<20} {statistics.mean(walls) * 1000:8.1f} {min(walls) * 1000:8.1f} "
              f"{statistics.mean(cpus) * 1000:8.1f}")  # fmt: skip
    print(f"cast: {per_cast:.1f} statements per cast (all four requests)")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
