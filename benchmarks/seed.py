"""A city-scale data set for the load benchmark (issue 9, "Performance, measured").

    .venv/bin/python benchmarks/seed.py [--database postgresql+psycopg://postgres@127.0.0.1:5432/bench]
        [--scale 1.0] [--plan /tmp/wijkbudget-bench-<db>.json]

Drops and recreates every table in the database (created if missing), then builds, at scale 1.0:
10 wijken, 50 rounds (per wijk three closed rounds with a result, funded projects and a ledger,
one round in voting with printed codes, one in the support phase), 5,000 proposals with their
threads, 200,000 comments, 300,000 ballots with their choices and one participation each (by
account or by code), 20,000 expenses with hash-chained ledger entries, and fresh unused voting
codes for the cast benchmark. ``--scale 0.1`` builds a tenth of every count (the wijken and
rounds stay). Seeded random; bulk inserts in batches of 10,000.

Codes are keyed with the secret key, so ``benchmarks/load.py`` serves with the same fixed key. The
plan file (JSON) holds what the load script needs: slugs, ids and the plain fresh codes.
"""

from __future__ import annotations

import argparse
import enum
import json
import math
import random
import secrets
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
SECRET_KEY = "wijkbudget-benchmark-secret-key-not-for-production"  # noqa: S105
BATCH = 10_000
WORDS = [
    "speeltuin",
    "bankjes",
    "bomen",
    "buurtfeest",
    "moestuin",
    "fietsenstalling",
    "jeugdhonk",
    "zwerfafval",
    "straatverlichting",
    "geveltuin",
    "beweegtuin",
    "waterpunt",
    "ontmoetingsplek",
    "kunstwerk",
    "hondenveld",
    "voetbalkooi",
    "bibliotheek",
    "zonnepanelen",
    "picknicktafels",
    "vlonder",
]
CATEGORIES = ("Groen", "Spelen", "Verkeer", "Samen", "Duurzaam")


def plan_path(url: str) -> Path:
    return Path(f"/tmp/wijkbudget-bench-{make_url(url).database}.json")  # noqa: S108


def ensure_database(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        )
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def chunks(rows: list[dict], size: int = BATCH):  # type: ignore[no-untyped-def]
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def main() -> None:  # noqa: C901, PLR0912, PLR0915 (one straight script)
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default=DEFAULT_DB)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument(
        "--fresh-codes", type=int, default=0, help="default: 20,000 × scale, at least 8,000"
    )
    parser.add_argument("--plan", default="", help="default: /tmp/wijkbudget-bench-<db>.json")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    scale = args.scale
    ensure_database(args.database)

    from wijkbudget import create_app
    from wijkbudget.accounts.models import Role, RoleAssignment, User
    from wijkbudget.dialogue.models import Comment, Thread, ThreadKind, ThreadStatus
    from wijkbudget.extensions import db, utcnow
    from wijkbudget.neighbourhoods.models import Area, Neighbourhood
    from wijkbudget.proposals.models import CostLine, Proposal, State
    from wijkbudget.results import operations as results
    from wijkbudget.rounds.models import (
        Aggregation,
        BallotType,
        Category,
        Eligibility,
        Phase,
        Round,
    )
    from wijkbudget.sealing import new_round_keys, seal
    from wijkbudget.spending.models import (
        GENESIS,
        EntryKind,
        Expense,
        ExpenseState,
        LedgerEntry,
        PayeeType,
        ProjectStatus,
    )
    from wijkbudget.voting.codes import code_hash, group
    from wijkbudget.voting.models import (
        Channel,
        CodeBatch,
        Participation,
        Receipt,
        SealedBallot,
        VotingCode,
    )

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": args.database, "SECRET_KEY": SECRET_KEY, "TESTING": True}
    )
    rng = random.Random(args.seed)
    n_wijken, rounds_per_wijk = 10, 5
    n_proposals = round(5_000 * scale)
    n_comments = round(200_000 * scale)
    n_ballots = round(300_000 * scale)
    n_expenses = round(20_000 * scale)
    n_fresh = args.fresh_codes or max(8_000, round(20_000 * scale))  # two load.py runs at least
    users_per_wijk = max(50, round(4_000 * scale))
    per_round = max(1, n_proposals // (n_wijken * rounds_per_wijk))
    timings: dict[str, float] = {}
    started_all = time.perf_counter()

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = now - since
        print(f"  {name:<28} {now - since:7.1f} s", flush=True)
        return now

    def plain(value: object) -> object:
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def bulk(model: object, rows: list[dict]) -> None:
        """COPY in batches of 10,000: the fast path of PostgreSQL, inside the session's
        transaction (enums by value, times as naive UTC, as the column types store them)."""
        if not rows:
            return
        table = model.__table__  # type: ignore[attr-defined]
        columns = list(rows[0])
        raw = db.session.connection().connection.driver_connection
        names = ", ".join(f'"{c}"' for c in columns)
        with raw.cursor() as cursor:
            for part in chunks(rows):
                with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                    for row in part:
                        copy.write_row([plain(row.get(c)) for c in columns])

    def fix_sequence(table: str) -> None:
        sql = (
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 (our names)
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
        )
        db.session.execute(text(sql))

    with app.app_context():
        t = time.perf_counter()
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.create_all()
        t = lap("schema", t)
        now = utcnow()
        year_ago = now - timedelta(days=365)

        # --- wijken, areas, users -------------------------------------------------------------
        wijken = [
            {"name": f"Wijk {i + 1}", "slug": f"wijk-{i + 1}", "description": "", "created_at": now}
            for i in range(n_wijken)
        ]
        wijk_ids = list(
            db.session.scalars(insert(Neighbourhood).returning(Neighbourhood.id), wijken)
        )
        area_rows = [
            {"neighbourhood_id": w, "name": f"Buurt {w}.{a}", "slug": f"buurt-{w}-{a}"}
            for w in wijk_ids
            for a in range(4)
        ]
        area_ids = list(db.session.scalars(insert(Area).returning(Area.id), area_rows))
        areas_of = {w: area_ids[i * 4 : i * 4 + 4] for i, w in enumerate(wijk_ids)}
        user_rows = []
        for w in wijk_ids:
            user_rows.append(
                {
                    "email": f"bestuur-{w}@bench.invalid",
                    "display_name": f"Bestuur {w}",
                    "password_hash": "-",
                    "neighbourhood_id": w,
                    "email_verified_at": year_ago,
                    "login_token": secrets.token_urlsafe(24),
                    "language": "nl",
                    "created_at": year_ago,
                }
            )
            for u in range(users_per_wijk):
                user_rows.append(
                    {
                        "email": f"bewoner-{w}-{u}@bench.invalid",
                        "display_name": f"Bewoner {w}.{u}",
                        "password_hash": "-",
                        "neighbourhood_id": w,
                        "area_id": rng.choice(areas_of[w]),
                        "email_verified_at": year_ago,
                        "login_token": secrets.token_urlsafe(24),
                        "language": "nl",
                        "created_at": year_ago,
                    }
                )
        user_ids: list[int] = []
        for part in chunks(user_rows):
            user_ids += db.session.scalars(insert(User).returning(User.id), part)
        board_of: dict[int, int] = {}
        residents_of: dict[int, list[int]] = {}
        for row, uid in zip(user_rows, user_ids, strict=True):
            if row["email"].startswith("bestuur"):
                board_of[row["neighbourhood_id"]] = uid
            else:
                residents_of.setdefault(row["neighbourhood_id"], []).append(uid)
        bulk(
            RoleAssignment,
            [
                {
                    "user_id": board_of[w],
                    "role": Role.BOARD,
                    "neighbourhood_id": w,
                    "granted_at": now,
                }
                for w in wijk_ids
            ],
        )
        t = lap(f"users ({len(user_ids):,})", t)

        # --- rounds, categories, proposals, cost lines -----------------------------------------
        # per wijk: 0-2 closed (result, projects, ledger), 3 voting (codes), 4 support
        round_rows = []
        for w in wijk_ids:
            for r in range(rounds_per_wijk):
                closed = r < 3
                start = now - timedelta(days=300 - 60 * r) if closed else now - timedelta(days=40)
                round_rows.append(
                    {
                        "neighbourhood_id": w,
                        "title": f"Wijkbudget {2021 + r}",
                        "introduction": "Stem op de plannen voor de wijk.",
                        "budget_cents": int(per_round * 2_250_000 * 0.15) + 2_000_000,
                        "min_cost_cents": 0,
                        "max_cost_cents": 5_000_000,
                        "ballot_type": BallotType.APPROVAL,
                        "ballot_max_choices": 5,
                        "eligibility": Eligibility.CODES if r % 2 else Eligibility.ACCOUNTS,
                        "aggregation": Aggregation.EQUAL_SHARES if r == 1 else Aggregation.GREEDY,
                        "phase": Phase.VOTING if r < 4 else Phase.SUPPORT,
                        "submission_opens": start,
                        "review_opens": start + timedelta(days=10),
                        "support_opens": start + timedelta(days=20),
                        "voting_opens": start + timedelta(days=30),
                        "result_opens": (
                            start + timedelta(days=44) if closed else now + timedelta(days=30)
                        ),
                        "created_at": start,
                        "created_by_id": board_of[w],
                        # (made by the model for a round added through the ORM)
                        **dict(
                            zip(
                                ("ballot_public_key", "ballot_private_key"),
                                new_round_keys(),
                                strict=True,
                            )
                        ),
                    }
                )
        round_ids = list(db.session.scalars(insert(Round).returning(Round.id), round_rows))
        rounds_of = {
            w: round_ids[i * rounds_per_wijk : (i + 1) * rounds_per_wijk]
            for i, w in enumerate(wijk_ids)
        }
        wijk_of_round = {rid: w for w, rids in rounds_of.items() for rid in rids}
        cat_rows = [
            {"round_id": rid, "name": name, "position": i}
            for rid in round_ids
            for i, name in enumerate(CATEGORIES)
        ]
        cat_ids = list(db.session.scalars(insert(Category).returning(Category.id), cat_rows))
        cats_of = {rid: cat_ids[i * 5 : i * 5 + 5] for i, rid in enumerate(round_ids)}
        prop_rows = []
        for rid in round_ids:
            w = wijk_of_round[rid]
            r = rounds_of[w].index(rid)
            for _ in range(per_round):
                title_words = rng.sample(WORDS, 2)
                submitted = round_rows[round_ids.index(rid)]["submission_opens"] + timedelta(
                    hours=rng.randrange(1, 200)
                )
                prop_rows.append(
                    {
                        "round_id": rid,
                        "neighbourhood_id": w,
                        "submitter_id": rng.choice(residents_of[w]),
                        "title": f"{title_words[0].capitalize()} en {title_words[1]}",
                        "summary": f"Een plan voor {title_words[0]} in de buurt.",
                        "description": "Wat we willen doen, met wie en waarom. " * 8,
                        "category_id": rng.choice(cats_of[rid]),
                        "area_id": rng.choice(areas_of[w]),
                        "state": State.ADMITTED if r < 4 else State.SUBMITTED,
                        "cost_cents": rng.randrange(5_000, 40_000) * 100,
                        "support_count": rng.randrange(0, 60),
                        "created_at": submitted,
                        "updated_at": submitted,
                        "submitted_at": submitted,
                    }
                )
        prop_ids: list[int] = []
        for part in chunks(prop_rows):
            prop_ids += db.session.scalars(insert(Proposal).returning(Proposal.id), part)
        props_of: dict[int, list[int]] = {}
        for row, pid in zip(prop_rows, prop_ids, strict=True):
            props_of.setdefault(row["round_id"], []).append(pid)
        cost_lines = []
        for row, pid in zip(prop_rows, prop_ids, strict=True):
            first = row["cost_cents"] // 3
            cost_lines += [
                {"proposal_id": pid, "position": 0, "description": "Materiaal",
                 "amount_cents": first},
                {"proposal_id": pid, "position": 1, "description": "Uitvoering",
                 "amount_cents": row["cost_cents"] - first},
            ]  # fmt: skip
        bulk(CostLine, cost_lines)
        db.session.commit()
        t = lap(f"rounds, proposals ({len(prop_ids):,})", t)

        # --- threads and comments ------------------------------------------------------------
        thread_rows = [
            {
                "neighbourhood_id": row["neighbourhood_id"],
                "round_id": row["round_id"],
                "proposal_id": pid,
                "kind": ThreadKind.PROPOSAL,
                "status": ThreadStatus.OPEN,
                "title": row["title"],
                "body": "",
                "created_at": row["submitted_at"],
            }
            for row, pid in zip(prop_rows, prop_ids, strict=True)
        ]
        thread_ids: list[int] = []
        for part in chunks(thread_rows):
            thread_ids += db.session.scalars(insert(Thread).returning(Thread.id), part)
        # a long tail: most threads a few comments, some hundreds or thousands
        weights = [min(rng.paretovariate(1.3), 60.0) for _ in thread_ids]
        total = sum(weights)
        counts = [math.floor(n_comments * wt / total) for wt in weights]
        for i in rng.sample(range(len(counts)), n_comments - sum(counts)):
            counts[i] += 1
        comment_rows: list[dict] = []
        thread_meta = []
        next_id = 1
        for tid, trow, count in zip(thread_ids, thread_rows, counts, strict=True):
            w = trow["neighbourhood_id"]
            people = rng.sample(residents_of[w], min(len(residents_of[w]), max(3, count // 3 + 1)))
            turns: dict[int, int] = {}
            depth_of: dict[int, tuple[int, int]] = {}  # id -> (depth, root)
            ids_here: list[int] = []
            when = trow["created_at"]
            for _ in range(count):
                author = rng.choice(people)
                turns[author] = turns.get(author, 0) + 1
                when += timedelta(minutes=rng.randrange(1, 300))
                parent = rng.choice(ids_here) if ids_here and rng.random() < 0.45 else None
                if parent is not None and depth_of[parent][0] >= 3:
                    parent = depth_of[parent][1]
                depth = depth_of[parent][0] + 1 if parent else 0
                root = depth_of[parent][1] if parent else None
                cid = next_id
                next_id += 1
                depth_of[cid] = (depth, root or cid)
                ids_here.append(cid)
                comment_rows.append(
                    {
                        "id": cid,
                        "thread_id": tid,
                        "author_id": author,
                        "parent_id": parent,
                        "root_id": root,
                        "depth": depth,
                        "author_turn": turns[author],
                        "body": "Goed plan, maar denk ook aan de buren. " * rng.randint(1, 4),
                        "created_at": when,
                        "report_count": 0,
                        "hidden_reason": "",
                        "is_board_response": False,
                    }
                )
            thread_meta.append({"id": tid, "c": count, "p": len(turns)})
        bulk(Comment, comment_rows)
        fix_sequence("comment")
        for part in chunks(thread_meta):
            db.session.execute(
                text("UPDATE thread SET comment_count = :c, participant_count = :p WHERE id = :id"),
                part,
            )
        db.session.commit()
        busiest = max(range(len(counts)), key=lambda i: counts[i])
        t = lap(f"threads, comments ({len(comment_rows):,})", t)
        del comment_rows

        # --- ballots, choices, participations, codes -----------------------------------------
        voting_rounds = [rid for w in wijk_ids for rid in rounds_of[w][:4]]
        per_voting = n_ballots // len(voting_rounds)
        batch_rows = [
            {
                "round_id": rid,
                "label": "Brieven",
                "size": 0,
                "seed": None,
                "created_by_id": board_of[wijk_of_round[rid]],
                "created_at": now,
            }
            for rid in voting_rounds
        ]
        batch_ids = list(db.session.scalars(insert(CodeBatch).returning(CodeBatch.id), batch_rows))
        batch_of = dict(zip(voting_rounds, batch_ids, strict=True))
        code_counter = 0

        def new_code() -> str:
            return "".join(rng.choice("ABCDEFGHJKMNPQRSTUVWXYZ23456789") for _ in range(12))

        for rid in voting_rounds:
            w = wijk_of_round[rid]
            pids = props_of[rid]
            popularity = [rng.random() ** 2 for _ in pids]
            online = 0
            if round_rows[round_ids.index(rid)]["eligibility"] == Eligibility.ACCOUNTS:
                online = min(per_voting, int(len(residents_of[w]) * 0.8))
            voters = rng.sample(residents_of[w], online)
            code_rows = [
                {"batch_id": batch_of[rid], "round_id": rid, "code_hash": code_hash(new_code()),
                 "used": True}
                for _ in range(per_voting - online)
            ]  # fmt: skip
            code_ids = list(range(code_counter + 1, code_counter + 1 + len(code_rows)))
            for cid, row in zip(code_ids, code_rows, strict=True):
                row["id"] = cid
            code_counter += len(code_ids)
            bulk(VotingCode, code_rows)
            public_key = round_rows[round_ids.index(rid)]["ballot_public_key"]
            ballots, receipts, parts = [], [], []
            for i in range(per_voting):
                chosen = set(rng.choices(pids, popularity, k=rng.randint(1, 5)))
                # sealed, as a cast seals it (the close opens them); the receipts without a
                # copy of the ballot (nobody holds their codes)
                ballots.append(
                    {"id": str(uuid.uuid4()), "round_id": rid, "counted": True,
                     "paper_batch_id": None, "box": seal(public_key, dict.fromkeys(chosen, 1))}
                )  # fmt: skip
                receipts.append({"receipt_hash": secrets.token_hex(32), "round_id": rid})
                if i < online:
                    parts.append(
                        {"round_id": rid, "user_id": voters[i], "code_id": None,
                         "channel": Channel.ONLINE, "area_id": None}
                    )  # fmt: skip
                else:
                    parts.append(
                        {"round_id": rid, "user_id": None, "code_id": code_ids[i - online],
                         "channel": Channel.CODE, "area_id": None}
                    )  # fmt: skip
            rng.shuffle(parts)  # participation order says nothing about ballot order
            bulk(SealedBallot, ballots)
            bulk(Receipt, receipts)
            bulk(Participation, parts)
        fix_sequence("voting_code")
        db.session.execute(
            text("UPDATE code_batch SET size = (SELECT count(*) FROM voting_code c "
                 "WHERE c.batch_id = code_batch.id)")
        )  # fmt: skip
        db.session.commit()
        t = lap(f"ballots ({per_voting * len(voting_rounds):,})", t)

        # --- fresh codes for the cast benchmark: the voting round of wijk 1 --------------------
        bench_wijk = wijk_ids[0]
        bench_round = rounds_of[bench_wijk][3]
        fresh_batch = db.session.scalar(
            insert(CodeBatch).returning(CodeBatch.id),
            {"round_id": bench_round, "label": "Benchmark", "size": n_fresh, "seed": None,
             "created_by_id": board_of[bench_wijk], "created_at": now},
        )  # fmt: skip
        fresh = sorted({new_code() for _ in range(n_fresh)})
        rng.shuffle(fresh)
        bulk(
            VotingCode,
            [
                {"batch_id": fresh_batch, "round_id": bench_round, "code_hash": code_hash(c),
                 "used": False}
                for c in fresh
            ],
        )  # fmt: skip
        db.session.commit()
        t = lap(f"fresh codes ({len(fresh):,})", t)

        # --- close the three old rounds of every wijk: result, grants (ledger via append) ------
        for w in wijk_ids:
            board = db.session.get(User, board_of[w])
            for rid in rounds_of[w][:3]:
                rnd = db.session.get(Round, rid)
                results.close_voting(board, rnd, confirmed=True, now=rnd.voting_ends)
                db.session.commit()
        db.session.execute(
            text("UPDATE budget_round SET phase = 'execution' WHERE phase = 'result'")
        )
        db.session.commit()
        t = lap("close 30 rounds (tally)", t)

        # --- expenses, and their ledger entries chained after the grants -------------------------
        projects = db.session.execute(
            text(
                "SELECT f.id, f.neighbourhood_id, f.round_id, f.granted_cents, p.submitter_id "
                "FROM funded_project f JOIN proposal p ON p.id = f.proposal_id ORDER BY f.id"
            )
        ).all()
        heads = {
            row.neighbourhood_id: (row.seq, row.hash, row.created_at)
            for row in db.session.execute(
                text(
                    "SELECT DISTINCT ON (neighbourhood_id) neighbourhood_id, seq, hash, created_at "
                    "FROM ledger_entry ORDER BY neighbourhood_id, seq DESC"
                )
            )
        }
        shares = [rng.random() + 0.2 for _ in projects]
        total = sum(shares)
        per_project = [max(1, round(n_expenses * s / total)) for s in shares]
        while sum(per_project) > n_expenses:
            i = rng.randrange(len(per_project))
            if per_project[i] > 1:
                per_project[i] -= 1
        while sum(per_project) < n_expenses:
            per_project[rng.randrange(len(per_project))] += 1
        expense_rows, events = [], []
        next_expense = 1
        for project, count in zip(projects, per_project, strict=True):
            budget = int(project.granted_cents * 0.9)
            base = max(1, budget // (count + 1))
            when = datetime.combine(
                date.today() - timedelta(days=200), datetime.min.time(), tzinfo=UTC
            )
            for _ in range(count):
                when += timedelta(hours=rng.randrange(1, 8))
                roll = rng.random()
                state = (
                    ExpenseState.APPROVED
                    if roll < 0.85
                    else ExpenseState.PENDING
                    if roll < 0.95
                    else ExpenseState.REJECTED
                )
                payee_type = rng.choice(list(PayeeType))
                row = {
                    "id": next_expense,
                    "project_id": project.id,
                    "neighbourhood_id": project.neighbourhood_id,
                    "spent_on": when.date(),
                    "amount_cents": max(1, int(base * rng.uniform(0.5, 1.0))),
                    "vat_cents": None,
                    "payee": f"Leverancier {rng.randrange(200)}",
                    "payee_type": payee_type,
                    "description": f"Inkoop {rng.choice(WORDS)}",
                    "state": state,
                    "recorded_by_id": project.submitter_id,
                    "recorded_at": when,
                    "decided_by_id": board_of[project.neighbourhood_id]
                    if state != ExpenseState.PENDING
                    else None,
                    "decided_at": when + timedelta(days=2)
                    if state != ExpenseState.PENDING
                    else None,
                    "decision_reason": "Geen bon." if state == ExpenseState.REJECTED else "",
                }
                next_expense += 1
                expense_rows.append(row)
                if state == ExpenseState.APPROVED:
                    events.append((row["decided_at"], row, project))
        bulk(Expense, expense_rows)
        fix_sequence("expense")
        # approvals in time order per wijk, each entry on the head of its wijk's chain
        events.sort(key=lambda e: (e[0], e[1]["id"]))
        ledger_rows = []
        for decided_at, row, project in events:
            w = project.neighbourhood_id
            seq, prev, last_at = heads.get(w, (0, GENESIS, decided_at))
            last_at = last_at.replace(tzinfo=UTC) if last_at.tzinfo is None else last_at
            entry = LedgerEntry(
                neighbourhood_id=w,
                seq=seq + 1,
                prev_hash=prev,
                kind=EntryKind.EXPENSE,
                amount_cents=row["amount_cents"],
                round_id=project.round_id,
                project_id=project.id,
                expense_id=row["id"],
                corrects_id=None,
                actor_id=board_of[w],
                reason=row["description"],
                created_at=max(decided_at, last_at + timedelta(microseconds=1)),
            )
            entry.hash = entry.compute_hash()
            heads[w] = (entry.seq, entry.hash, entry.created_at)
            ledger_rows.append(
                {c: getattr(entry, c) for c in (
                    "neighbourhood_id", "seq", "prev_hash", "kind", "amount_cents", "round_id",
                    "project_id", "expense_id", "corrects_id", "actor_id", "reason",
                    "created_at", "hash")}
            )  # fmt: skip
        bulk(LedgerEntry, ledger_rows)
        db.session.execute(
            text("UPDATE funded_project SET status = :s"), {"s": ProjectStatus.IN_PROGRESS.value}
        )
        db.session.commit()
        t = lap(f"expenses ({len(expense_rows):,}), ledger", t)

        from wijkbudget.spending import operations as spending

        check = spending.verify_all(wijk_ids)
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        lap("verify ledger, ANALYZE", t)

        counts_sql = {
            name: db.session.scalar(text(f"SELECT count(*) FROM {name}"))  # noqa: S608
            for name in (
                "neighbourhood", "budget_round", "proposal", "user_account", "thread", "comment",
                "ballot", "ballot_choice", "participation", "voting_code", "funded_project",
                "expense", "ledger_entry", "round_result_line",
            )
        }  # fmt: skip
        bench_pids = props_of[bench_round]
        closed_round = rounds_of[bench_wijk][2]
        busiest_thread = thread_ids[busiest]
        median_i = sorted(range(len(counts)), key=lambda i: counts[i])[len(counts) // 2]
        plan = {
            "database": args.database,
            "scale": scale,
            "secret_key": SECRET_KEY,
            "wijk_slug": f"wijk-{1}",
            "voting_round": bench_round,
            "voting_proposals": bench_pids,
            "voting_category": cats_of[bench_round][0],
            "search_word": WORDS[0],
            "closed_round": closed_round,
            "busiest_thread": busiest_thread,
            "busiest_thread_comments": counts[busiest],
            "busiest_proposal": prop_ids[busiest],
            "median_thread": thread_ids[median_i],
            "median_thread_comments": counts[median_i],
            "median_proposal": prop_ids[median_i],
            "codes": [group(c) for c in fresh],
            "next_code": 0,
            "counts": counts_sql,
        }
        path = Path(args.plan) if args.plan else plan_path(args.database)
        path.write_text(json.dumps(plan, indent=1))
    print(f"database   {make_url(args.database).render_as_string(hide_password=True)}")
    print(f"scale      {scale}   (seed {args.seed})")
    for name, value in counts_sql.items():
        print(f"  {name:<20} {value:>10,}")
    print(f"ledger     {'ok' if check.ok else 'BROKEN'} ({check.count:,} entries)")
    print(f"busiest thread {busiest_thread}: {counts[busiest]:,} comments; "
          f"median {thread_ids[median_i]}: {counts[median_i]} comments")  # fmt: skip
    print(f"plan       {path} ({len(fresh):,} fresh codes for round {bench_round})")
    print(f"seeded in  {time.perf_counter() - started_all:.1f} s")


if __name__ == "__main__":
    main()
