"""A restore on a site that serves (issue 19, part 4): the site is in maintenance for the whole
run (writes get a Dutch 503 and write nothing, pages are still served, /healthz says so), the
restore refuses when the live database holds votes, receipts or ledger entries the backup
lacks (unless told to lose them), the flag is removed when the restore ends or fails, and a
flag left by a restore that died is recognised. On SQLite and PostgreSQL; the race of casts
against a starting restore on PostgreSQL only."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select

from tests.concurrency import REPEAT, postgres_only, race, repeat
from wijkbudget import backup as backups
from wijkbudget import maintenance
from wijkbudget.accounts.models import Role
from wijkbudget.extensions import db, utcnow
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Eligibility, Phase
from wijkbudget.spending import operations as spending
from wijkbudget.voting import operations as voting
from wijkbudget.voting import queries as voting_queries
from wijkbudget.voting.models import Channel, Participation

MAINTENANCE_TEXT = "We zetten een backup terug"


@pytest.fixture
def scene(make_wijk, make_user, make_round, make_proposal):
    """A wijk with a round in voting (accounts), two admitted proposals, a board member and
    three residents."""
    wijk = make_wijk("Noord")
    board = make_user("bestuur@example.org", wijk=wijk, roles=((Role.BOARD, wijk),))
    voters = [make_user(f"kiezer{i}@example.org", wijk=wijk) for i in range(3)]
    rnd = make_round(wijk, Phase.VOTING, title="Wijkbudget 2027", budget=500_000)
    proposals = [
        make_proposal(rnd, board, State.ADMITTED, cost=200_000, commit=False) for _ in range(2)
    ]
    db.session.commit()
    return {
        "wijk": wijk,
        "slug": wijk.slug,
        "board": board,
        "voters": voters,
        "round": rnd,
        "round_id": rnd.id,
        "proposals": [p.id for p in proposals],
        "url": f"/wijk/{wijk.slug}/rondes/{rnd.id}/stemmen",
    }


def ready_to_cast(client: Any, url: str, proposal_id: int) -> Any:
    """Choose and review (before maintenance); the action that sends the ballot."""
    chosen = {"p": [str(proposal_id)], "action": "review"}
    assert client.post(url, chosen, page=url).status_code == 303
    token = client.csrf(f"{url}/controleren")
    return lambda: client.raw.post(f"{url}/versturen", data={"csrf_token": token})


def receipt_of(client: Any, response: Any) -> str:
    """The receipt code the page after the cast shows."""
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    found = re.search(r'class="receipt"><strong>([A-Z0-9-]+)<', page)
    assert found, page[:2000]
    return found.group(1)


def receipt_counts(client: Any, receipt: str) -> bool:
    checked = client.post("/controleer", {"receipt": receipt}, page="/controleer")
    assert checked.status_code in (200, 404), checked.status_code
    return checked.status_code == 200


def participations(round_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(
        select(func.count(Participation.id)).where(Participation.round_id == round_id)
    )


def take_backup(app: Any, path: Any) -> None:
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output


def run_restore(app: Any, path: Any, *flags: str) -> Any:
    db.session.rollback()
    return app.test_cli_runner().invoke(args=["restore", str(path), "--yes", *flags])


def flag_file(app: Any) -> Any:
    return maintenance.flag_path(app)


# --- maintenance while the restore runs -------------------------------------------------------


def test_during_a_restore_writes_get_503_and_pages_are_served(
    app, scene, make_client, tmp_path, monkeypatch
):
    voter = make_client()
    voter.login(scene["voters"][0].email)
    cast = ready_to_cast(voter, scene["url"], scene["proposals"][0])
    path = tmp_path / "site.backup"
    take_backup(app, path)
    seen: dict[str, Any] = {}
    real_replace = backups.replace_database

    def replace_while_visited(backup_path: Any) -> None:
        visitor = make_client()
        seen["cast"] = cast()
        seen["post_elsewhere"] = visitor.raw.post("/controleer", data={"receipt": "X"})
        seen["home"] = visitor.get("/")
        seen["health"] = visitor.get("/healthz")
        seen["participations"] = participations(scene["round_id"])
        real_replace(backup_path)

    monkeypatch.setattr(backups, "replace_database", replace_while_visited)
    result = run_restore(app, path)
    assert result.exit_code == 0, result.output
    assert "Onderhoud staat aan" in result.output and "Onderhoud staat weer uit" in result.output

    refused = seen["cast"]
    body = refused.get_data(as_text=True)
    assert refused.status_code == 503 and MAINTENANCE_TEXT in body
    assert "probeer het over een paar minuten opnieuw" in body.lower()
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["Cache-Control"] == "no-store"
    assert seen["post_elsewhere"].status_code == 503  # before the CSRF check: every write
    assert seen["participations"] == 0  # nothing written
    assert seen["home"].status_code == 200  # reading goes on
    health = seen["health"]
    assert health.status_code == 200 and health.get_data(as_text=True).startswith(
        "maintenance: on, restore"
    )
    assert health.headers["X-Maintenance"] == "on"

    # afterwards: the flag is gone, the same cast goes through
    assert not flag_file(app).exists()
    assert make_client().get("/healthz").get_data(as_text=True) == "ok"
    assert participations(scene["round_id"]) == 0
    again = ready_to_cast(voter, scene["url"], scene["proposals"][0])()
    assert again.status_code == 303 and again.headers["Location"].endswith("/bewijs")
    assert participations(scene["round_id"]) == 1


def test_a_write_that_began_before_maintenance_is_refused_at_its_commit(app, scene, make_client):
    """The flag appears while a cast runs (after its check at the start of the request): the
    cast's commit is refused, it writes nothing and hands out no receipt."""
    voter = make_client()
    voter.login(scene["voters"][0].email)
    cast = ready_to_cast(voter, scene["url"], scene["proposals"][0])

    def flag_appears(*_args: Any) -> None:
        if not flag_file(app).exists():
            maintenance.switch_on(app)

    event.listen(db.engine, "before_cursor_execute", flag_appears)
    try:
        response = cast()
    finally:
        event.remove(db.engine, "before_cursor_execute", flag_appears)
    assert flag_file(app).exists()
    assert response.status_code == 503, response.get_data(as_text=True)[:1000]
    assert "onderhoud" in response.get_data(as_text=True)
    assert participations(scene["round_id"]) == 0
    maintenance.switch_off(app)


@contextmanager
def failing_statements(error: type[Exception]):
    """Every statement fails with the driver's ``error`` (as while tables are replaced)."""

    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise error("relation does not exist (being replaced)")

    hooks = ("do_execute", "do_execute_no_params")
    for name in hooks:
        event.listen(db.engine, name, fail)
    try:
        yield
    finally:
        for name in hooks:
            event.remove(db.engine, name, fail)


@pytest.mark.parametrize("kind", ["ProgrammingError", "OperationalError", "InternalError"])
def test_a_page_that_fails_during_maintenance_is_the_503_not_a_500(app, scene, make_client, kind):
    dbapi = db.engine.dialect.loaded_dbapi
    error = getattr(dbapi, kind)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["maintenance", "on"]).exit_code == 0
    client = make_client()
    with failing_statements(error):
        for url in (f"/wijk/{scene['slug']}", scene["url"]):
            response = client.get(url)
            assert response.status_code == 503, (url, response.status_code)
            assert "onderhoud" in response.get_data(as_text=True)
            assert response.headers["Retry-After"]
    assert runner.invoke(args=["maintenance", "off"]).exit_code == 0
    if kind == "ProgrammingError":  # without maintenance it is the error it is
        with failing_statements(error), pytest.raises(Exception, match="being replaced"):
            client.get(f"/wijk/{scene['slug']}")


def test_the_operators_maintenance_command(app, scene, make_client):
    runner = app.test_cli_runner()
    client = make_client()
    assert "staat uit" in runner.invoke(args=["maintenance", "status"]).output
    on = runner.invoke(args=["maintenance", "on"])
    assert on.exit_code == 0 and "staat aan" in on.output
    status = runner.invoke(args=["maintenance", "status"]).output
    assert "staat aan" in status and "maintenance on" in status and "VEROUDERD" not in status
    response = client.raw.post("/controleer", data={"receipt": "X"})
    assert response.status_code == 503
    assert "We doen onderhoud" in response.get_data(as_text=True)  # not "a backup"
    assert client.get("/healthz").get_data(as_text=True).startswith("maintenance: on, manual")
    off = runner.invoke(args=["maintenance", "off"])
    assert off.exit_code == 0 and "staat uit" in off.output
    assert "stond al uit" in runner.invoke(args=["maintenance", "off"]).output
    assert client.raw.post("/controleer", data={"receipt": "X"}).status_code == 400  # CSRF


def test_a_restore_keeps_the_operators_maintenance_on(app, scene, tmp_path):
    path = tmp_path / "site.backup"
    take_backup(app, path)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["maintenance", "on"]).exit_code == 0
    result = run_restore(app, path)
    assert result.exit_code == 0, result.output
    assert "blijft aan" in result.output
    assert maintenance.read_flag(app).reason == maintenance.MANUAL
    assert runner.invoke(args=["maintenance", "off"]).exit_code == 0


# --- the refusal --------------------------------------------------------------------------------


def test_a_vote_after_the_backup_makes_the_restore_refuse(app, scene, make_client, tmp_path):
    path = tmp_path / "site.backup"
    rnd, voters = scene["round"], scene["voters"]
    voting.cast(rnd, {scene["proposals"][0]: 1}, user=voters[0], channel=Channel.ONLINE)
    take_backup(app, path)  # holds the first vote

    voter = make_client()
    voter.login(voters[1].email)
    cast = ready_to_cast(voter, scene["url"], scene["proposals"][1])()
    assert cast.status_code == 303
    receipt = receipt_of(voter, cast)
    voting.cast(rnd, {scene["proposals"][0]: 1}, user=voters[2], channel=Channel.ONLINE)
    assert participations(scene["round_id"]) == 3

    refused = run_restore(app, path)
    assert refused.exit_code == 1
    assert "Restore geweigerd" in refused.output
    assert "Wijkbudget 2027 (Noord): 2 stem(men)" in refused.output
    assert "Wijkbudget 2027 (Noord): 2 stembewijs(zen)" in refused.output
    assert "--lose-votes" in refused.output and "--lose-ledger" not in refused.output
    assert "Onderhoud staat weer uit" in refused.output
    assert not flag_file(app).exists()
    # nothing changed: the votes and the receipt are there
    assert participations(scene["round_id"]) == 3
    assert receipt_counts(make_client(), receipt)

    # told to lose them, it goes through and says what was lost
    done = run_restore(app, path, "--lose-votes")
    assert done.exit_code == 0, done.output
    assert "Verloren met deze restore" in done.output
    assert "Wijkbudget 2027 (Noord): 2 stem(men)" in done.output
    assert not flag_file(app).exists()
    assert participations(scene["round_id"]) == 1
    assert not receipt_counts(make_client(), receipt)


def test_ledger_entries_after_the_backup_make_the_restore_refuse(
    app, scene, make_round, make_proposal, tmp_path
):
    path = tmp_path / "site.backup"
    take_backup(app, path)
    wijk_id = scene["wijk"].id
    done = make_round(scene["wijk"], Phase.RESULT, title="Vorig jaar")
    chosen = make_proposal(done, scene["voters"][0], State.CHOSEN, cost=150_000)
    spending.grant_chosen(scene["board"], done, [chosen], utcnow())
    db.session.commit()

    refused = run_restore(app, path, "--lose-votes")  # votes are not money
    assert refused.exit_code == 1
    assert "Noord: 1 post(en) in het grootboek, samen € 1500,00" in refused.output
    assert "--lose-ledger" in refused.output
    assert spending.verify(wijk_id).count == 1
    result = run_restore(app, path, "--lose-ledger")
    assert result.exit_code == 0, result.output
    assert "Noord: 1 post(en) in het grootboek" in result.output
    db.session.rollback()
    assert spending.verify(wijk_id).count == 0


def test_an_older_database_restores_without_questions(app, scene, tmp_path):
    """Nothing in the live database that the backup lacks: no refusal, nothing named."""
    path = tmp_path / "site.backup"
    voting.cast(
        scene["round"], {scene["proposals"][0]: 1}, user=scene["voters"][0], channel=Channel.ONLINE
    )
    take_backup(app, path)
    result = run_restore(app, path)
    assert result.exit_code == 0, result.output
    assert "Verloren" not in result.output and "geweigerd" not in result.output
    assert participations(scene["round_id"]) == 1


def test_a_restore_into_an_empty_database(app, app_config, scene, tmp_path):
    """After a disaster the database may be new and empty (no tables): nothing to compare,
    the restore puts everything back. (A database of its own: the suite's shared one is left
    alone.)"""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from wijkbudget import create_app

    voting.cast(
        scene["round"], {scene["proposals"][0]: 1}, user=scene["voters"][0], channel=Channel.ONLINE
    )
    path = tmp_path / "site.backup"
    take_backup(app, path)
    url = app_config["SQLALCHEMY_DATABASE_URI"]
    server = None
    if url.startswith("postgresql"):
        name = f"wijkbudget_empty_{uuid.uuid4().hex[:10]}"
        server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        fresh_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    else:
        fresh_url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    fresh = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": fresh_url})
    try:
        with fresh.app_context():
            result = fresh.test_cli_runner().invoke(args=["restore", str(path), "--yes"])
            assert result.exit_code == 0, result.output
            with db.engine.connect() as connection:
                restored = connection.execute(
                    text("SELECT count(*) FROM participation WHERE round_id = :r"),
                    {"r": scene["round_id"]},
                ).scalar()
            assert restored == 1
            db.engine.dispose()
    finally:
        if server is not None:
            with server.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            server.dispose()


def test_a_file_that_is_no_backup_changes_nothing(app, scene, tmp_path):
    path = tmp_path / "garbage.backup"
    path.write_bytes(b"no backup at all " * 100)
    result = run_restore(app, path)
    assert result.exit_code == 1
    assert not flag_file(app).exists()
    assert "Onderhoud staat aan" not in result.output  # refused before maintenance


# --- the flag -----------------------------------------------------------------------------------


def test_the_flag_is_removed_after_a_failing_restore(app, scene, tmp_path, monkeypatch):
    path = tmp_path / "site.backup"
    take_backup(app, path)

    def broken(_path: Any) -> None:
        assert flag_file(app).exists()
        raise backups.BackupError("pg_restore: error: could not connect")

    monkeypatch.setattr(backups, "replace_database", broken)
    result = run_restore(app, path)
    assert result.exit_code == 1 and "could not connect" in result.output
    assert not flag_file(app).exists()

    def crashed(_path: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(backups, "replace_database", crashed)
    result = run_restore(app, path)
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)
    assert not flag_file(app).exists()


def dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    child.wait()
    return child.pid


def test_a_stale_flag_is_recognised_and_taken_over(app, scene, make_client, tmp_path):
    path = tmp_path / "site.backup"
    take_backup(app, path)
    mine = maintenance.Flag.of_this_process(maintenance.RESTORE)
    stale = {**mine.__dict__, "pid": dead_pid(), "started": "2026-12-01T03:00:00+00:00"}
    flag_file(app).write_text(json.dumps(stale))
    runner = app.test_cli_runner()

    status = runner.invoke(args=["maintenance", "status"]).output
    assert "staat aan" in status and "VEROUDERD" in status and str(stale["pid"]) in status
    client = make_client()
    health = client.get("/healthz")
    assert health.get_data(as_text=True).startswith("maintenance: stale")
    assert health.headers["X-Maintenance"] == "stale"
    assert client.raw.post("/controleer", data={"receipt": "X"}).status_code == 503  # honoured

    # a restore takes a dead restore's flag over, and removes it at its end
    result = run_restore(app, path)
    assert result.exit_code == 0, result.output
    assert "Oude onderhoudsvlag overgenomen" in result.output
    assert not flag_file(app).exists()

    # and `maintenance off` removes a stale flag without --force
    flag_file(app).write_text(json.dumps(stale))
    assert runner.invoke(args=["maintenance", "off"]).exit_code == 0
    assert not flag_file(app).exists()


def test_a_running_restore_is_not_disturbed(app, scene, tmp_path):
    """Another restore holds the flag (this very process stands in for it): a second restore
    refuses and leaves it; `maintenance off` and `on` refuse without --force."""
    path = tmp_path / "site.backup"
    take_backup(app, path)
    flag_file(app).write_text(json.dumps(maintenance.Flag.of_this_process("restore").__dict__))
    before = flag_file(app).read_text()
    runner = app.test_cli_runner()
    assert "VEROUDERD" not in runner.invoke(args=["maintenance", "status"]).output
    second = run_restore(app, path)
    assert second.exit_code == 1 and "Er loopt al een restore" in second.output
    assert flag_file(app).read_text() == before
    assert runner.invoke(args=["maintenance", "on"]).exit_code == 1
    assert runner.invoke(args=["maintenance", "off"]).exit_code == 1
    assert flag_file(app).read_text() == before
    assert runner.invoke(args=["maintenance", "off", "--force"]).exit_code == 0
    assert not flag_file(app).exists()


def test_a_flag_of_another_host_cannot_be_judged_and_is_kept(app, scene, tmp_path):
    path = tmp_path / "site.backup"
    take_backup(app, path)
    other = {**maintenance.Flag.of_this_process("restore").__dict__, "host": "elders.invalid"}
    flag_file(app).write_text(json.dumps(other))
    runner = app.test_cli_runner()
    assert "niet te zien" in runner.invoke(args=["maintenance", "status"]).output
    assert run_restore(app, path).exit_code == 1
    assert json.loads(flag_file(app).read_text())["host"] == "elders.invalid"
    assert runner.invoke(args=["maintenance", "off", "--force"]).exit_code == 0


# --- the race (PostgreSQL) ---------------------------------------------------------------------

N = 6


@postgres_only
def test_casts_racing_a_restore_never_get_a_receipt_for_a_lost_ballot(
    app, scene, make_client, make_round, make_proposal, tmp_path
):
    """Casts with codes and a restore start at the same instant. In even attempts the casts
    start at once, a little apart; in odd ones around the moment the restore switches
    maintenance on (after it has read the backup, which the test times first), so that some
    are under way when the flag appears. Every cast got its receipt and its ballot is there
    after the restore finished (which then refused), or got the 503 and no receipt; and the
    restore refused exactly when a cast had got its receipt."""
    app.config["MAINTENANCE_GRACE_SECONDS"] = 1
    outcomes = []
    for attempt in repeat(2 * REPEAT):
        rnd = make_round(scene["wijk"], Phase.VOTING, title=f"Race {attempt}", budget=500_000)
        rnd.eligibility = Eligibility.CODES
        proposal = make_proposal(rnd, scene["board"], State.ADMITTED, cost=200_000)
        codes = voting.batch_codes(voting.generate_codes(scene["board"], rnd, N))
        round_id = rnd.id
        url = f"/wijk/{scene['slug']}/rondes/{round_id}/stemmen"
        path = tmp_path / f"race-{attempt}.backup"
        take_backup(app, path)
        started = time.monotonic()
        backups.read_backup(path)
        lead = (time.monotonic() - started) if attempt % 2 else 0.0
        db.session.rollback()
        clients = [make_client() for _ in range(N)]
        casts = []
        for client, code in zip(clients, codes, strict=True):
            assert client.post("/stem", {"code": code}, page="/stem").status_code == 303
            casts.append(ready_to_cast(client, url, proposal.id))
        db.session.rollback()
        runner = app.test_cli_runner()

        def contender(
            i: int, casts: list = casts, path: Any = path, runner: Any = runner, lead=lead
        ) -> Any:
            if i == N:
                return lambda: runner.invoke(args=["restore", str(path), "--yes"])

            def cast_a_little_later() -> Any:
                time.sleep(max(0.0, lead + 0.05 * (i - N // 2)) if lead else 0.03 * i)
                return casts[i]()

            return cast_a_little_later

        *responses, restored = race(N + 1, contender)
        statuses = [r.status_code for r in responses]
        outcomes.append((statuses, restored.exit_code))
        assert set(statuses) <= {303, 503}, statuses
        got_receipt = [i for i, r in enumerate(responses) if r.status_code == 303]
        assert all(responses[i].headers["Location"].endswith("/bewijs") for i in got_receipt)
        assert not flag_file(app).exists()
        assert (restored.exit_code != 0) == bool(got_receipt), (statuses, restored.output)
        if got_receipt:
            assert "Restore geweigerd" in restored.output
        assert participations(round_id) == len(got_receipt)
        for i in got_receipt:
            receipt = receipt_of(clients[i], responses[i])
            db.session.rollback()
            assert voting_queries.check_receipt(receipt) is not None
        for i, response in enumerate(responses):
            if response.status_code == 503:  # no receipt, now or on the next visit
                body = response.get_data(as_text=True)
                assert MAINTENANCE_TEXT in body and 'class="receipt"' not in body
                assert clients[i].raw.get(url).status_code == 200  # the ballot, not /bewijs
    print("outcomes (statuses of the casts, exit code of the restore):", outcomes)
