"""How many ballots per second the cast itself can store on this machine, without the web.

    .venv/bin/python benchmarks/cast_capacity.py [--database postgresql+psycopg://postgres@127.0.0.1:5432/bench]
        [--seconds 10] [--processes 4] [--plan /tmp/wijkbudget-bench-<db>.json]

Uses the database and plan file of ``seed.py`` (like ``load.py``). Each of ``--processes``
processes (default 2 × cores, like the gunicorn workers of ``load.py``) casts ballots with fresh
codes as fast as it can through the same code as the cast page (``voting.operations.cast`` and
its commit, with the round and the code loaded as the page loads them), with no HTTP, no Flask
request, no session and no template. That is the most the cast could ever do here, whatever the
web layer: compare its casts/s with the ceiling (``/healthz``) of ``load.py``. Then it checks that
the round has one participation per ballot. It asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from typing import Any

from _inprocess import DEFAULT_DB, fresh_code, plan_file, seeded_app
from sqlalchemy import create_engine, text


def _cast_many(args: tuple[str, dict[str, Any], list[str], float, Any]) -> tuple[int, float]:
    database, plan, codes, seconds, start = args
    from wijkbudget.extensions import db
    from wijkbudget.pagecache import quiet_commit
    from wijkbudget.rounds.queries import round_by_slug
    from wijkbudget.voting import operations, queries
    from wijkbudget.voting.codes import code_hash, normalise_code
    from wijkbudget.voting.models import Channel, VotingCode

    app = seeded_app(database, plan)
    slug, rid = plan["wijk_slug"], plan["voting_round"]
    proposals = plan["voting_proposals"]
    with app.app_context():
        hashes = [code_hash(normalise_code(c)) for c in codes]
        ids = dict(
            db.session.execute(
                db.select(VotingCode.code_hash, VotingCode.id).where(
                    VotingCode.code_hash.in_(hashes)
                )
            ).all()
        )
        code_ids = [ids[h] for h in hashes]
        db.session.rollback()
        start.wait()
        done, began, cpu = 0, time.perf_counter(), time.process_time()
        for n, code_id in enumerate(code_ids):
            if time.perf_counter() - began >= seconds:
                break
            rnd = round_by_slug(slug, rid)
            code = queries.usable_code(code_id, rid)
            selection = {pid: 1 for pid in proposals[n % 7 : n % 7 + 3]}
            operations.cast(rnd, selection, code=code, channel=Channel.CODE)
            quiet_commit(db.session)
            done += 1
        return done, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default=DEFAULT_DB)
    parser.add_argument("--plan", default="")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--processes", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--per-process", type=int, default=6000, help="fresh codes each takes")
    args = parser.parse_args()
    path = plan_file(args.database, args.plan)
    plan = json.loads(path.read_text())
    rid = plan["voting_round"]
    codes = fresh_code(path, plan, args.processes * args.per_process)
    engine = create_engine(args.database)
    counts = text(
        "SELECT (SELECT count(*) FROM ballot WHERE round_id = :r), "
        "(SELECT count(*) FROM participation WHERE round_id = :r)"
    )
    with engine.connect() as conn:
        before = conn.execute(counts, {"r": rid}).one()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Manager().Event()
    jobs = [
        (args.database, plan, codes[i * args.per_process : (i + 1) * args.per_process],
         args.seconds, start)
        for i in range(args.processes)
    ]  # fmt: skip
    with ctx.Pool(args.processes) as pool:
        pending = pool.map_async(_cast_many, jobs)
        time.sleep(3)  # every process has loaded the app and its codes
        start.set()
        results = pending.get()
    with engine.connect() as conn:
        after = conn.execute(counts, {"r": rid}).one()
    casts = sum(done for done, _ in results)
    cpu = sum(c for _, c in results)
    print(f"database  {args.database}")
    print(f"cast      {args.processes} processes × {args.seconds:.0f} s, no HTTP")
    print(f"          {casts} ballots, {casts / args.seconds:.0f} casts/s, "
          f"{cpu / max(casts, 1) * 1000:.2f} ms CPU per cast in the processes")  # fmt: skip
    print(f"invariant new ballots {after[0] - before[0]}, "
          f"new participations {after[1] - before[1]}; "
          f"round {rid}: ballots {after[0]:,} == participations {after[1]:,}: "
          f"{'yes' if after[0] == after[1] else 'NO'}")  # fmt: skip


if __name__ == "__main__":
    main()
