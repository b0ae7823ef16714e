"""Backup and restore: after wiping the database and restoring, every ballot has its
participation and the ledger verifies with the same head hash."""

from __future__ import annotations

from sqlalchemy import func, select, text

from wijkbudget.accounts.models import Role
from wijkbudget.extensions import db, utcnow
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Phase
from wijkbudget.spending import operations as spending
from wijkbudget.voting import operations as voting
from wijkbudget.voting.models import Channel, Participation, SealedBallot


def test_backup_wipe_restore(app, tmp_path, make_wijk, make_user, make_round, make_proposal):
    wijk = make_wijk("Noord")
    board = make_user("bestuur@example.org", wijk=wijk, roles=((Role.BOARD, wijk),))
    voters = [make_user(f"kiezer{i}@example.org", wijk=wijk) for i in range(3)]
    rnd = make_round(wijk, Phase.VOTING)
    proposal = make_proposal(rnd, voters[0], State.ADMITTED)
    for voter in voters:
        voting.cast(rnd, {proposal.id: 1}, user=voter, channel=Channel.ONLINE)
    done = make_round(wijk, Phase.RESULT, title="Vorig jaar")
    chosen = make_proposal(done, voters[1], State.CHOSEN)
    spending.grant_chosen(board, done, [chosen], utcnow())
    db.session.commit()
    head = spending.verify(wijk.id)
    assert head.ok and head.count == 1

    runner = app.test_cli_runner()
    path = tmp_path / "wijkbudget.backup"
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    assert path.stat().st_size > 0

    # disaster: everything is gone
    db.session.remove()
    with db.engine.begin() as connection:
        if db.engine.url.get_backend_name() == "postgresql":
            names = ", ".join(t.name for t in db.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} CASCADE"))
        else:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
    assert db.session.scalar(select(func.count(SealedBallot.id))) == 0

    refused = runner.invoke(args=["restore", str(path)], input="n\n")
    assert refused.exit_code != 0
    assert db.session.scalar(select(func.count(SealedBallot.id))) == 0
    result = runner.invoke(args=["restore", str(path), "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    ballots = db.session.scalar(select(func.count(SealedBallot.id)))
    participations = db.session.scalar(select(func.count(Participation.id)))
    assert ballots == participations == 3
    again = spending.verify(wijk.id)
    assert again.ok and (again.count, again.head) == (head.count, head.head)


def test_restore_from_a_missing_file_says_so(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["restore", str(tmp_path / "nope"), "--yes"])
    assert result.exit_code != 0 and "Geen backup" in result.output
