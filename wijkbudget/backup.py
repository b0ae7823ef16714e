"""Backup and restore of the whole database: SQLite through its online backup API (a consistent
copy while the site runs), PostgreSQL through pg_dump's custom format and pg_restore."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from .extensions import db


class BackupError(Exception):
    pass


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore connection arguments from the SQLAlchemy URL (password via env)."""
    parsed = make_url(url)
    args = ["--host", parsed.host or "localhost", "--port", str(parsed.port or 5432)]
    if parsed.username:
        args += ["--username", parsed.username]
    args += ["--dbname", parsed.database or ""]
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    return args, env


def _run(command: list[str], env: dict[str, str]) -> None:
    import os

    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is niet geïnstalleerd (nodig voor PostgreSQL).")
    # a fixed program with arguments from our own configuration, no shell
    done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(done.stderr.strip().splitlines()[-1] if done.stderr else command[0])


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


def restore(path: Path) -> None:
    """Replace everything in the database with the backup at ``path``."""
    if not path.is_file():
        raise BackupError(f"Geen backup gevonden op {path}.")
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
