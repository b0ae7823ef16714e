"""Closing a round with many ballots: how long the board's "stemming sluiten" takes (opening the
sealed ballots into the ballot table in random order, reading them, the tally, writing the .pb
file, the result and the grants), in one transaction.

    .venv/bin/python benchmarks/close_round.py [--ballots 100000] [--proposals 40]
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/bench]   # default: SQLite file

Prints the figures; it asserts nothing (docs/figures.md quotes them)."""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ballots", type=int, default=100_000)
    parser.add_argument("--proposals", type=int, default=40)
    parser.add_argument("--database", default="")
    args = parser.parse_args()
    url = args.database or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite'}"

    from wijkbudget import create_app
    from wijkbudget.accounts.models import Role, RoleAssignment, User
    from wijkbudget.extensions import db, utcnow
    from wijkbudget.neighbourhoods.models import Neighbourhood
    from wijkbudget.proposals.models import Proposal, State
    from wijkbudget.results import operations
    from wijkbudget.rounds.models import Aggregation, Phase, Round
    from wijkbudget.sealing import seal
    from wijkbudget.voting import operations as voting
    from wijkbudget.voting.models import SealedBallot

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        db.drop_all()
        db.create_all()
        wijk = Neighbourhood(name="Bench", slug="bench", description="")
        board = User(email="bestuur@bench.invalid", display_name="Bestuur", password_hash="-")  # noqa: S106 (no login)
        board.role_assignments = [RoleAssignment(role=Role.BOARD, neighbourhood=wijk)]
        now = utcnow()
        rnd = Round(neighbourhood=wijk, title="Bench", introduction="", budget_cents=30_000_000,
                    min_cost_cents=0, max_cost_cents=100_000_000, phase=Phase.VOTING,
                    aggregation=Aggregation.EQUAL_SHARES,
                    result_opens=now - timedelta(hours=1))  # fmt: skip
        db.session.add_all([wijk, board, rnd])
        db.session.flush()
        rng = random.Random(7)
        proposals = [
            Proposal(
                round=rnd,
                neighbourhood_id=wijk.id,
                submitter=board,
                title=f"P{i}",
                summary="",
                state=State.ADMITTED,
                cost_cents=rng.randrange(5_000, 40_000) * 100,
            )  # fmt: skip
            for i in range(args.proposals)
        ]
        db.session.add_all(proposals)
        db.session.commit()
        ids = [p.id for p in proposals]
        weights = [rng.random() ** 2 for _ in ids]
        started = time.perf_counter()
        for start in range(0, args.ballots, 10_000):
            ballots = []
            for _ in range(min(10_000, args.ballots - start)):
                chosen = set(rng.choices(ids, weights, k=rng.randint(1, 6)))
                ballots.append(
                    {"id": str(uuid.uuid4()), "round_id": rnd.id, "counted": True,
                     "box": seal(rnd.ballot_public_key, dict.fromkeys(chosen, 1))}
                )  # fmt: skip
            db.session.execute(insert(SealedBallot), ballots)
        db.session.commit()
        print(f"database   {db.engine.url.get_backend_name()}")
        print(f"seeded     {args.ballots:,} ballots × {args.proposals} proposals "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip

        rnd = db.session.get(Round, rnd.id)
        board = db.session.get(User, board.id)
        started = time.perf_counter()
        # the parts on their own (rolled back): opening the sealed ballots, then reading them
        open_start = time.perf_counter()
        opened = voting.unseal_ballots(rnd)
        db.session.flush()
        unsealed = time.perf_counter() - open_start
        read_start = time.perf_counter()
        election, _ = operations.round_election(rnd)
        read = time.perf_counter() - read_start
        db.session.rollback()
        rnd = db.session.get(Round, rnd.id)
        started = time.perf_counter()
        result = operations.close_voting(board, rnd, confirmed=True)
        db.session.commit()
        total = time.perf_counter() - started
        funded = sum(1 for line in result.lines if line.funded)
        print(f"opening    {unsealed:.2f} s ({opened:,} sealed ballots opened, shuffled, written)")
        print(f"reading    {read:.2f} s ({election.voters:,} ballots)")
        print(f"close      {total:.2f} s in all (read, equal shares add-one, .pb file, result, "
              f"grants; {funded} funded)")  # fmt: skip


if __name__ == "__main__":
    main()
