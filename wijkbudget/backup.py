"""Backup and restore of the whole database: SQLite through its online backup API (a consistent
copy while the site runs), PostgreSQL through pg_dump's custom format and pg_restore.

A restore on a site that serves (:func:`restore`) cannot race it:

1. it reads the backup's votes and ledger first (a file that is no backup stops here);
2. it puts the site into maintenance (maintenance.py): every write request gets a 503 from then
   on, and one that began before and commits after is refused at its commit;
3. it waits ``MAINTENANCE_GRACE_SECONDS`` for requests already running, and on PostgreSQL at
   most ``MAINTENANCE_DRAIN_SECONDS`` until every transaction that was open when maintenance
   began has ended (``pg_stat_activity``);
4. it compares the live database with the backup: participations (by id), receipts (by
   ``receipt_hash``, when both have the table) and ledger entries (by hash) that the live
   database holds and the backup does not would be lost. Then it refuses and names them per
   round and per wijk, unless the operator said ``--lose-votes`` / ``--lose-ledger``;
5. only then it replaces the database, and maintenance ends (also when anything failed).

So every receipt handed out before step 4 belongs to a ballot the comparison sees (and a restore
that would remove it is refused), and after step 2 no receipt is handed out at all.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from . import maintenance
from .extensions import db


class BackupError(Exception):
    pass


class RestoreRefused(BackupError):
    """The live database holds votes or money records the backup does not."""

    def __init__(self, loss: Loss) -> None:
        super().__init__(loss.report())
        self.loss = loss


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore connection arguments from the SQLAlchemy URL (password via env)."""
    parsed = make_url(url)
    args = ["--host", parsed.host or "localhost", "--port", str(parsed.port or 5432)]
    if parsed.username:
        args += ["--username", parsed.username]
    args += ["--dbname", parsed.database or ""]
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    return args, env


def _run(command: list[str], env: dict[str, str]) -> str:
    """Run a PostgreSQL client program; its standard output."""
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is niet geïnstalleerd (nodig voor PostgreSQL).")
    # a fixed program with arguments from our own configuration, no shell
    done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(done.stderr.strip().splitlines()[-1] if done.stderr else command[0])
    return done.stdout


def backup(path: Path) -> None:
    url = db.engine.url
    path.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        target = sqlite3.connect(path)
        raw = db.engine.raw_connection()
        try:
            raw.driver_connection.backup(target)  # type: ignore[union-attr]
        finally:
            raw.close()
            target.close()
        return
    if url.get_backend_name() == "postgresql":
        args, env = _pg_args(url.render_as_string(hide_password=False))
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(path), *args], env)
        return
    raise BackupError(f"Geen backup voor database {url.get_backend_name()}.")


# --- what a restore would lose ----------------------------------------------------------------

#: table → the column that identifies a row across the live database and a backup
KEYS = {
    "participation": "id",
    "receipt": "receipt_hash",
    "ledger_entry": "hash",
    # a vote closed after the backup: the restore would take its round back into voting
    "round_result": "round_id",
}


@dataclass
class Loss:
    """What the live database holds that the backup does not: lost votes per round,
    receipts per round, ledger entries (and their sum) per wijk."""

    votes: Counter[str] = field(default_factory=Counter)
    receipts: Counter[str] = field(default_factory=Counter)
    results: Counter[str] = field(default_factory=Counter)  # closed votes, per round
    ledger: Counter[str] = field(default_factory=Counter)
    ledger_cents: Counter[str] = field(default_factory=Counter)

    @property
    def of_votes(self) -> bool:
        return bool(self.votes or self.receipts or self.results)

    def lines(self) -> list[str]:
        lines = [f"  {where}: {n} stem(men)" for where, n in sorted(self.votes.items())]
        lines += [
            f"  {where}: {n} stembewijs(zen) (bonnetje met code)"
            for where, n in sorted(self.receipts.items())
        ]
        lines += [
            f"  {where}: de uitslag van een gesloten stemming" for where in sorted(self.results)
        ]
        lines += [
            f"  {where}: {n} post(en) in het grootboek, samen {_euros(self.ledger_cents[where])}"
            for where, n in sorted(self.ledger.items())
        ]
        return lines

    def report(self) -> str:
        return "\n".join(
            [
                "Restore geweigerd: de database heeft gegevens die niet in de backup staan. "
                "Met deze backup gaan ze verloren:",
                *self.lines(),
                "Er is niets veranderd. Maak eerst een nieuwe backup, of zet deze backup bewust "
                "terug met " + " en ".join(self.flags_needed()) + ".",
            ]
        )

    def flags_needed(self) -> list[str]:
        return (["--lose-votes"] if self.of_votes else []) + (
            ["--lose-ledger"] if self.ledger else []
        )


def _euros(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}€ {abs(cents) // 100},{abs(cents) % 100:02d}"


Kept = dict[str, set[str] | None]  # table → the backup's keys (None: the backup has no table)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return str(value)


def _sqlite_kept(path: Path) -> Kept:
    """The backup's keys, read from the file itself (read-only, never written)."""
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    try:
        source = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as error:
        raise BackupError(f"{path} is geen SQLite-backup: {error}") from error
    try:
        tables = {row[0] for row in source.execute("SELECT name FROM sqlite_master")}
        kept: Kept = {}
        for table, key in KEYS.items():
            if table not in tables:
                kept[table] = None
                continue
            query = f"SELECT {key} FROM {table}"  # noqa: S608 (names from KEYS)
            kept[table] = {str(_text(row[0])) for row in source.execute(query)}
        return kept
    except sqlite3.Error as error:
        raise BackupError(f"{path} is geen SQLite-backup: {error}") from error
    finally:
        source.close()


_COPY_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _copy_field(raw: str) -> str | None:
    """One field of PostgreSQL's COPY text format: ``\\N`` is NULL, backslash escapes."""
    if raw == "\\N":
        return None
    if "\\" not in raw:
        return raw
    out, i = [], 0
    while i < len(raw):
        char = raw[i]
        if char != "\\" or i + 1 == len(raw):
            out.append(char)
            i += 1
            continue
        nxt = raw[i + 1]
        if nxt in _COPY_ESCAPES:
            out.append(_COPY_ESCAPES[nxt])
            i += 2
        elif nxt == "x" and i + 2 < len(raw):
            digits = raw[i + 2 : i + 4]
            digits = digits if all(c in "0123456789abcdefABCDEF" for c in digits) else digits[:1]
            out.append(chr(int(digits, 16)))
            i += 2 + len(digits)
        elif nxt in "01234567":
            j = i + 1
            while j < len(raw) and j < i + 4 and raw[j] in "01234567":
                j += 1
            out.append(chr(int(raw[i + 1 : j], 8)))
            i = j
        else:
            out.append(nxt)
            i += 2
    return "".join(out)


def copy_rows(script: str, table: str) -> Iterable[dict[str, str | None]]:
    """The rows of ``table`` in a script of ``pg_restore --data-only`` (``COPY … FROM stdin``
    followed by the data in COPY's text format, up to ``\\.``)."""
    lines = iter(script.splitlines())
    for line in lines:
        if not line.startswith("COPY ") or not line.endswith(" FROM stdin;"):
            continue
        name, _, rest = line[len("COPY ") :].partition(" (")
        if name.rsplit(".", 1)[-1].strip('"') != table:
            continue
        columns = [c.strip().strip('"') for c in rest[: rest.index(")")].split(",")]
        for data in lines:
            if data == "\\.":
                break
            yield dict(zip(columns, (_copy_field(f) for f in data.split("\t")), strict=True))


def _postgresql_kept(path: Path) -> Kept:
    """The backup's keys, from its data (``pg_restore --data-only --table=… -f -``: the COPY
    text to stdout), without restoring it anywhere."""
    listing = _run(["pg_restore", "--list", str(path)], {})
    with_data = {
        parts[-2]
        for line in listing.splitlines()
        if not line.startswith(";") and " TABLE DATA " in line
        for parts in [line.split()]
    }
    kept: Kept = {}
    for table, key in KEYS.items():
        if table not in with_data:
            kept[table] = None
            continue
        script = _run(["pg_restore", "--data-only", f"--table={table}", "-f", "-", str(path)], {})
        kept[table] = {str(row[key]) for row in copy_rows(script, table)}
    return kept


def read_backup(path: Path) -> Kept:
    """What the backup at ``path`` holds of votes, receipts and the ledger (their keys)."""
    if not path.is_file():
        raise BackupError(f"Geen backup gevonden op {path}.")
    backend = db.engine.url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_kept(path)
    if backend == "postgresql":
        return _postgresql_kept(path)
    raise BackupError(f"Geen restore voor database {backend}.")


def compare(kept: Kept) -> Loss:
    """What the live database holds that the backup (``kept``) does not. A table that one of
    the two lacks (a receipt table that is newer than the backup) is not compared."""
    loss = Loss()
    with db.engine.connect() as connection:
        live_tables = set(inspect(connection).get_table_names())

        def rows(sql: str) -> list[Any]:
            return list(connection.execute(text(sql)))

        if not {"budget_round", "neighbourhood"} <= live_tables:
            return loss  # an empty database (a new one after a disaster): nothing to lose
        rounds = {
            row.id: f"{row.title} ({row.wijk})"
            for row in rows(
                "SELECT budget_round.id, budget_round.title, neighbourhood.name AS wijk "
                "FROM budget_round JOIN neighbourhood "
                "ON neighbourhood.id = budget_round.neighbourhood_id"
            )
        }
        wijken = {row.id: row.name for row in rows("SELECT id, name FROM neighbourhood")}

        def in_both(table: str) -> set[str] | None:
            return kept.get(table) if table in live_tables else None

        if (backup_ids := in_both("participation")) is not None:
            for row in rows("SELECT id, round_id FROM participation"):
                if _text(row.id) not in backup_ids:
                    loss.votes[rounds.get(row.round_id, f"ronde {row.round_id}")] += 1
        if (backup_receipts := in_both("receipt")) is not None:
            columns = {c["name"] for c in inspect(connection).get_columns("receipt")}
            group = "round_id" if "round_id" in columns else "NULL"
            for row in rows(f"SELECT receipt_hash, {group} AS round_id FROM receipt"):  # noqa: S608
                if _text(row.receipt_hash) not in backup_receipts:
                    where = rounds.get(row.round_id, "alle rondes")
                    loss.receipts[where] += 1
        if (backup_results := in_both("round_result")) is not None:
            for row in rows("SELECT round_id FROM round_result"):
                if _text(row.round_id) not in backup_results:
                    loss.results[rounds.get(row.round_id, f"ronde {row.round_id}")] += 1
        if (backup_hashes := in_both("ledger_entry")) is not None:
            for row in rows("SELECT hash, neighbourhood_id, amount_cents FROM ledger_entry"):
                if _text(row.hash) not in backup_hashes:
                    where = wijken.get(row.neighbourhood_id, f"wijk {row.neighbourhood_id}")
                    loss.ledger[where] += 1
                    loss.ledger_cents[where] += int(row.amount_cents)
    return loss


# --- waiting for the requests that were running -----------------------------------------------


def _open_transactions(since: Any) -> list[Any]:
    """Other sessions of this database whose transaction began at or before ``since``."""
    with db.engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT pid, coalesce(application_name, '') AS application, "
                    "coalesce(host(client_addr), 'local') AS client, state, xact_start "
                    "FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                    "AND xact_start IS NOT NULL AND xact_start <= :since"
                ),
                {"since": since},
            )
        )


def _invisible_sessions() -> int:
    """Sessions of this database whose state this role may not see (another role's, without
    pg_read_all_stats): their transactions cannot be waited for."""
    with db.engine.connect() as connection:
        return int(
            connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_type = 'client backend' AND state IS NULL"
                )
            )
            or 0
        )


def let_running_requests_finish(say: Callable[[str], Any]) -> None:
    """After maintenance began: wait the grace period for requests already under way, and on
    PostgreSQL until every transaction that was open when it began has ended (at most
    ``MAINTENANCE_DRAIN_SECONDS``; then the restore is refused, naming them)."""
    config = current_app.config
    postgresql = db.engine.url.get_backend_name() == "postgresql"
    began = None
    if postgresql:
        with db.engine.connect() as connection:
            began = connection.scalar(text("SELECT clock_timestamp()"))
    time.sleep(max(0.0, float(config["MAINTENANCE_GRACE_SECONDS"])))
    if not postgresql:
        return
    hidden = _invisible_sessions()
    if hidden:
        say(
            f"Let op: van {hidden} verbinding(en) met de database mag deze rol niet zien of ze "
            "nog bezig zijn (geef deze rol pg_read_all_stats). Daarop is niet gewacht."
        )
    deadline = time.monotonic() + float(config["MAINTENANCE_DRAIN_SECONDS"])
    while open_ := _open_transactions(began):
        if time.monotonic() >= deadline:
            names = ", ".join(
                f"proces {row.pid} ({row.application or row.client}, {row.state}, "
                f"sinds {row.xact_start:%H:%M:%S})"
                for row in open_
            )
            raise BackupError(
                "Restore geweigerd: er lopen nog transacties die begonnen voor het onderhoud: "
                f"{names}. Er is niets veranderd; probeer het opnieuw of stop ze eerst."
            )
        time.sleep(0.1)


# --- restore ----------------------------------------------------------------------------------


def restore(
    path: Path,
    *,
    lose_votes: bool = False,
    lose_ledger: bool = False,
    say: Callable[[str], Any] = print,
) -> Loss:
    """Put the backup at ``path`` back on a site that may be serving (see the module's
    docstring). Returns what was lost (empty unless ``lose_votes``/``lose_ledger`` allowed it);
    raises :class:`RestoreRefused` when something would be lost without that permission, and
    :class:`maintenance.FlagTaken` when another restore runs."""
    kept = read_backup(path)
    db.session.remove()
    with maintenance.during_restore(say=say):
        say("Onderhoud staat aan: de site slaat niets op tot de restore klaar is.")
        let_running_requests_finish(say)
        loss = compare(kept)
        if (loss.of_votes and not lose_votes) or (loss.ledger and not lose_ledger):
            raise RestoreRefused(loss)
        replace_database(path)
        if loss.lines():
            say("Verloren met deze restore (zo gevraagd):")
            for line in loss.lines():
                say(line)
    return loss


def replace_database(path: Path) -> None:
    """Replace everything in the database with the backup at ``path`` (no checks: see
    :func:`restore`)."""
    url = db.engine.url
    db.session.remove()
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(path)
        raw = db.engine.raw_connection()
        try:
            source.backup(raw.driver_connection)  # type: ignore[arg-type]
        finally:
            raw.close()
            source.close()
        db.engine.dispose()
        return
    if url.get_backend_name() == "postgresql":
        db.engine.dispose()
        args, env = _pg_args(url.render_as_string(hide_password=False))
        _run(
            ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
             *args, str(path)],
            env,
        )  # fmt: skip
        return
    raise BackupError(f"Geen restore voor database {url.get_backend_name()}.")
