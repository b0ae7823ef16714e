"""Maintenance: while a backup is put back (or an operator says so), the site writes nothing.

The state is one file, the *flag* (``MAINTENANCE_FILE``, by default ``maintenance.json`` in
the instance folder). Every worker looks whether it exists at the start of every request that
would write (anything but GET, HEAD and OPTIONS), which costs one ``stat``; while it exists
such a request gets a Dutch 503 page with ``Retry-After`` and nothing runs. A file, not Redis:
it needs no service that could be away, and ``flask restore`` runs where the instance folder
is. Several servers behind a load balancer share it by putting the flag on a shared mount
(point ``MAINTENANCE_FILE`` there on every server).

Three more guards make sure no write slips through around the moment the flag appears:

- *the commit guard*: a write request that started before the flag and commits after it is
  refused at its commit (``before_commit``: it is rolled back and gets the 503), so a voter is
  never handed a receipt for a ballot the restore then removes;
- the restore waits a grace period and (on PostgreSQL) until every transaction that was open
  when the flag appeared has ended, before it compares the database with the backup
  (backup.py);
- a database error during maintenance (a table being replaced under a page) is the same 503,
  not a 500.

The flag holds who set it: the reason (``restore`` or ``manual``), the process id, the host
and when. A restore removes its own flag when it ends, also when it fails; if the process died
(killed, the machine went down), ``flask maintenance status`` recognises the flag as stale
(that process no longer runs on this host) and ``flask maintenance off`` removes it. The web
keeps honouring a stale flag: better no writes than writes into a half-finished restore; the
health check says so.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app, has_app_context, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError

from .unavailable import unavailable_response

#: methods that never write: served during maintenance
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RESTORE = "restore"
MANUAL = "manual"


class MaintenanceError(Exception):
    """A write was refused because the site is in maintenance (turned into the 503 page)."""


class FlagTaken(Exception):
    """Another restore holds the flag (or one whose process cannot be checked from here)."""


# --- the flag ---------------------------------------------------------------------------------


def flag_path(app: Flask | None = None) -> Path:
    app = app or current_app
    configured = str(app.config.get("MAINTENANCE_FILE") or "").strip()
    return Path(configured) if configured else Path(app.instance_path) / "maintenance.json"


def is_on(app: Flask | None = None) -> bool:
    """Whether the flag is there: one ``stat``, cheap enough for every request."""
    return flag_path(app).exists()


def _proc_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), so a new process
    that got the same id later is not mistaken for the one that set the flag."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


@dataclass(frozen=True)
class Flag:
    reason: str
    pid: int
    host: str
    started: str  # ISO 8601, UTC
    proc_start: str | None = None
    boot_id: str | None = None

    @classmethod
    def of_this_process(cls, reason: str) -> Flag:
        pid = os.getpid()
        return cls(
            reason=reason,
            pid=pid,
            host=socket.gethostname(),
            started=datetime.now(UTC).isoformat(timespec="seconds"),
            proc_start=_proc_start(pid),
            boot_id=_boot_id(),
        )

    def holder_alive(self) -> bool | None:
        """Whether the process that set the flag still runs: None when that cannot be told from
        here (another host)."""
        if self.host != socket.gethostname():
            return None
        if self.boot_id and _boot_id() and self.boot_id != _boot_id():
            return False  # the machine restarted since
        if self.proc_start is not None and Path("/proc/self/stat").exists():
            return _proc_start(self.pid) == self.proc_start
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # it exists, under another user
        return True

    @property
    def stale(self) -> bool:
        """A restore's flag whose process no longer runs (a manual flag is never stale)."""
        return self.reason == RESTORE and self.holder_alive() is False

    def describe(self) -> str:
        what = "een restore" if self.reason == RESTORE else "de beheerder (maintenance on)"
        text = f"gezet door {what}, proces {self.pid} op {self.host}, sinds {self.started} (UTC)"
        if self.stale:
            text += (
                "; VEROUDERD: dat proces draait niet meer. Kijk of de database in orde is en "
                "zet onderhoud uit met `flask --app wsgi maintenance off`"
            )
        elif self.reason == RESTORE and self.holder_alive() is None:
            text += "; of dat proces nog draait, is vanaf deze machine niet te zien"
        return text


def read_flag(app: Flask | None = None) -> Flag | None:
    """The flag, or None when maintenance is off. A flag that cannot be read (half written,
    edited by hand) still means maintenance; it reads as a manual one."""
    path = flag_path(app)
    try:
        raw = path.read_text()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
        return Flag(
            reason=str(data["reason"]),
            pid=int(data["pid"]),
            host=str(data["host"]),
            started=str(data["started"]),
            proc_start=data.get("proc_start"),
            boot_id=data.get("boot_id"),
        )
    except (ValueError, KeyError, TypeError):
        return Flag(reason=MANUAL, pid=0, host="?", started="?")


def _write_new(path: Path, flag: Flag) -> bool:
    """Create the flag file only if there is none (O_EXCL: two restores cannot both win)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(flag), handle)
    return True


def _write_over(path: Path, flag: Flag) -> None:
    """Replace the flag in one step (never a moment without one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(asdict(flag)))
    os.replace(temporary, path)


def switch_on(app: Flask | None = None) -> Flag:
    """The operator's ``maintenance on``. Refused while a restore that runs holds the flag."""
    path = flag_path(app)
    found = read_flag(app)
    if found is not None and found.reason == RESTORE and not found.stale:
        raise FlagTaken(found.describe())
    flag = Flag.of_this_process(MANUAL)
    _write_over(path, flag)
    return flag


def switch_off(app: Flask | None = None, *, force: bool = False) -> Flag | None:
    """The operator's ``maintenance off``; the flag that was removed (None: it was off). A
    running restore's flag stays unless ``force``."""
    found = read_flag(app)
    if found is None:
        return None
    if found.reason == RESTORE and not found.stale and not force:
        raise FlagTaken(found.describe())
    flag_path(app).unlink(missing_ok=True)
    return found


@contextmanager
def during_restore(app: Flask | None = None, say: Any = print) -> Iterator[Flag]:
    """Maintenance for the whole ``with`` block, removed at its end whatever happens (also on
    an exception, Ctrl-C). A stale flag of a restore that died is taken over; a manual flag
    (the operator's ``maintenance on``) is kept on afterwards; a restore that runs, or one whose
    process cannot be checked from here, refuses (:class:`FlagTaken`)."""
    path = flag_path(app)
    flag = Flag.of_this_process(RESTORE)
    kept: Flag | None = None
    while not _write_new(path, flag):
        found = read_flag(app)
        if found is None:
            continue  # removed in between: try again
        if found.reason == RESTORE and not found.stale:
            raise FlagTaken(found.describe())
        if found.stale:
            say(f"Oude onderhoudsvlag overgenomen ({found.describe()}).")
        else:
            kept = found
            say("Onderhoud stond al aan (maintenance on) en blijft na de restore aan.")
        _write_over(path, flag)
        break
    try:
        yield flag
    finally:
        if kept is not None:
            _write_over(path, kept)
            say("Onderhoud blijft aan (zoals het stond); zet het uit met `maintenance off`.")
        else:
            if read_flag(app) == flag:  # ours (an operator may have removed it by force)
                path.unlink(missing_ok=True)
            say("Onderhoud staat weer uit.")


# --- the web ----------------------------------------------------------------------------------


def message() -> str:
    found = read_flag()
    if found is not None and found.reason == RESTORE:
        return _(
            "We zetten een backup terug. Wat je net deed, is niet opgeslagen. Probeer het over "
            "een paar minuten opnieuw."
        )
    return _(
        "We doen onderhoud aan wijkbudget. Wat je net deed, is niet opgeslagen. Probeer het "
        "over een paar minuten opnieuw."
    )


def response() -> Any:
    """The 503 of maintenance: a page (or JSON for the API, or plain text when even the page
    cannot be made), ``Retry-After``, nothing saved."""
    return unavailable_response(
        message,
        retry_after=int(current_app.config["MAINTENANCE_RETRY_AFTER_SECONDS"]),
        title=_("Even onderhoud"),
    )


def health() -> tuple[str, dict[str, str]]:
    """What ``/healthz`` says: ``ok``, or that the site is in maintenance (still 200: the site
    serves its pages, and a load balancer must not take it out)."""
    found = read_flag()
    if found is None:
        return "ok", {}
    state = "stale" if found.stale else "on"
    # (no pid or host name: this is public; `flask maintenance status` names them)
    return f"maintenance: {state}, {found.reason} since {found.started}", {"X-Maintenance": state}


def _write_request_during_maintenance() -> bool:
    return (
        has_request_context()
        and request.method not in SAFE_METHODS
        and has_app_context()
        and is_on(current_app)
    )


def _guard_commit(_session: Any) -> None:
    """A write request that began before the flag appeared: its commit is refused (the use
    case rolls back), so nothing it did is saved and no receipt is shown for it."""
    if _write_request_during_maintenance():
        raise MaintenanceError("maintenance: the commit of a write request is refused")


def init_app(app: Flask, db: Any) -> None:
    @app.before_request
    def refuse_writes() -> Any:
        if request.method in SAFE_METHODS or not is_on(app):
            return None
        return response()

    @app.errorhandler(MaintenanceError)
    def refused(_error: MaintenanceError) -> Any:
        return response()

    @app.errorhandler(SQLAlchemyError)
    def database_error(error: SQLAlchemyError) -> Any:
        """During maintenance a page may fail because its tables are being replaced: the
        maintenance 503. Otherwise the error goes on as before (a 500). (Unreachable or refused
        by a constraint have their own handlers in errors.py; those look at maintenance too.)"""
        if is_on(app):
            return response()
        raise error

    if not event.contains(db.session, "before_commit", _guard_commit):
        event.listen(db.session, "before_commit", _guard_commit)


# --- the operator's command -------------------------------------------------------------------


@click.group("maintenance")
def maintenance_command() -> None:
    """Maintenance: while on, every write request gets a 503 (see maintenance.py)."""


@maintenance_command.command("on")
def maintenance_on() -> None:
    """Put the site into maintenance until `maintenance off`."""
    try:
        switch_on()
    except FlagTaken as error:
        raise click.ClickException(f"Er loopt een restore: {error}") from error
    click.echo(f"Onderhoud staat aan ({flag_path()}): de site slaat niets op.")


@maintenance_command.command("off")
@click.option("--force", is_flag=True, help="Also remove the flag of a restore that still runs.")
def maintenance_off(force: bool) -> None:
    """End maintenance (also a stale flag left by a restore that died)."""
    try:
        removed = switch_off(force=force)
    except FlagTaken as error:
        raise click.ClickException(
            f"Er loopt een restore: {error}. Die zet onderhoud zelf uit als hij klaar is "
            "(--force haalt de vlag toch weg)."
        ) from error
    if removed is None:
        click.echo("Onderhoud stond al uit.")
    else:
        click.echo(f"Onderhoud staat uit (de vlag was {removed.describe()}).")


@maintenance_command.command("status")
def maintenance_status() -> None:
    """Say whether the site is in maintenance, who set it, and whether the flag is stale."""
    found = read_flag()
    if found is None:
        click.echo(f"Onderhoud staat uit ({flag_path()} bestaat niet).")
        return
    click.echo(f"Onderhoud staat aan: {found.describe()}.")
