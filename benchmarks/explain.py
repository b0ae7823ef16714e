"""The query plans of the main pages: every statement each page runs, EXPLAINed on PostgreSQL.

    .venv/bin/python benchmarks/explain.py [--database postgresql+psycopg://postgres@127.0.0.1:5432/bench]
        [--verbose]

Uses the database and plan file of ``seed.py``. Requests each page of the load benchmark once (in
process, page cache off), records the SQL it sends with its parameters, and prints per page the
statements with their estimated cost and the tables read by a sequential scan. A sequential
scan of a table with more than 10,000 rows is marked ``!``: a filter without an index. With
``--verbose`` it prints every plan. It asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import re

from _inprocess import DEFAULT_DB, plan_file, seeded_app, voter_with_code
from sqlalchemy import create_engine, event, text

BIG = 10_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default=DEFAULT_DB)
    parser.add_argument("--plan", default="")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    path = plan_file(args.database, args.plan)
    plan = json.loads(path.read_text())
    slug, rid = plan["wijk_slug"], plan["voting_round"]

    from wijkbudget.extensions import db

    app = seeded_app(args.database, plan)
    seen: list[tuple[str, object]] = []
    with app.app_context():
        event.listen(
            db.engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, parameters, *_: seen.append((statement, parameters)),
        )

    viewer = voter_with_code(app, path, plan)  # for the ballot page

    pages = {
        "proposal list ?category":
            f"/wijk/{slug}/rondes/{rid}/voorstellen?category={plan['voting_category']}",
        "proposal list ?q": f"/wijk/{slug}/rondes/{rid}/voorstellen?q={plan['search_word']}",
        "proposal page": f"/voorstellen/{plan['busiest_proposal']}",
        "thread (busiest)": f"/gesprekken/{plan['busiest_thread']}",
        "ballot page": f"/wijk/{slug}/rondes/{rid}/stemmen",
        "result page": f"/wijk/{slug}/rondes/{plan['closed_round']}/uitslag",
        "ledger page": f"/wijk/{slug}/geld/grootboek",
        "money page": f"/wijk/{slug}/geld",
        "wijk page": f"/wijk/{slug}",
        "round page": f"/wijk/{slug}/rondes/{rid}",
    }  # fmt: skip
    engine = create_engine(args.database)
    with engine.connect() as conn:
        sizes = {
            name: int(rows)
            for name, rows in conn.execute(
                text("SELECT relname, reltuples FROM pg_class WHERE relkind = 'r'")
            )
        }
        for name, url in pages.items():
            seen.clear()
            client = viewer if name == "ballot page" else app.test_client()
            status = client.get(url).status_code
            print(f"\n== {name}  {url}  ({status}, {len(seen)} statements)")
            for statement, parameters in seen:
                if not statement.lstrip().upper().startswith("SELECT"):
                    continue
                explained = conn.exec_driver_sql(
                    "EXPLAIN " + statement, parameters if parameters else ()
                ).all()
                lines = [row[0] for row in explained]
                cost = re.search(r"cost=[\d.]+\.\.([\d.]+)", lines[0])
                scans = re.findall(r"Seq Scan on (\w+)", "\n".join(lines))
                marks = [f"{t}{'!' if sizes.get(t, 0) > BIG else ''}" for t in scans]
                first = " ".join(statement.split())[:90]
                print(f"  cost {float(cost.group(1)) if cost else 0:>10.1f}  "
                      f"seq: {', '.join(marks) or '-':<28} {first}")  # fmt: skip
                if args.verbose:
                    print("\n".join("      " + line for line in lines))
    engine.dispose()


if __name__ == "__main__":
    main()
