"""The ``flask`` commands: tick, send-digests, create-admin, grant-role, revoke-role, demo-data,
demo-code, tally, ledger, db roles, backup, restore, maintenance.

A command that changes data calls the use cases (each one transaction, see usecase.py). The
demo's content is demo.py's. This module is loaded only when an app is built (create_app), so
its imports at the top cost nothing to ``import wijkbudget`` or the standalone tally.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import pyotp
from flask import Flask
from flask_migrate.cli import db as db_group
from sqlalchemy import select

from .accounts import operations as accounts
from .accounts.models import Role, User
from .backup import BackupError, backup, restore
from .dbroles import roles
from .demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, seed_demo_data
from .dialogue.operations import send_digests as run_send_digests
from .errors import DomainError
from .extensions import db
from .maintenance import FlagTaken, maintenance_command
from .neighbourhoods.models import Neighbourhood
from .notifications import commands as notification_commands
from .rounds import operations as rounds
from .spending import checkpoints
from .spending import commands as checkpoint_commands
from .spending import operations as spending
from .tally.command import COMPLETIONS, RULES, count


def _role_target(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"Geen account met e-mailadres {email}.")
    return user


def _wijk(slug: str | None) -> Neighbourhood | None:
    if not slug:
        return None
    wijk = db.session.scalar(select(Neighbourhood).where(Neighbourhood.slug == slug))
    if wijk is None:
        raise click.ClickException(f"Geen wijk met slug {slug}.")
    return wijk


@contextmanager
def _refusal_ends_command() -> Iterator[None]:
    """A refusal of the operation inside (a ``DomainError``) ends the command with its message
    and exit code 1."""
    try:
        yield
    except DomainError as error:
        raise click.ClickException(error.message) from error


def init_app(app: Flask) -> None:
    _ledger_commands(app)
    _roles_command()
    _backup_commands(app)
    _tally_command(app)
    app.cli.add_command(notification_commands.send_notifications)

    @app.cli.command("create-admin")
    @click.argument("email")
    @click.option("--name", default="Beheerder", show_default=True, help="Display name.")
    @click.password_option(help="Password (asked for when not given).")
    def create_admin(email: str, name: str, password: str) -> None:
        """Create an admin account (or make an existing account admin)."""
        with _refusal_ends_command():
            user = accounts.make_admin(email, name, password)
        click.echo(f"{user.email} is beheerder.")

    @app.cli.command("grant-role")
    @click.argument("email")
    @click.argument("role", type=click.Choice([r.value for r in Role]))
    @click.option(
        "--wijk", "slug", help="The wijk's slug (required for board; optional for councillor)."
    )
    def grant_role(email: str, role: str, slug: str | None) -> None:
        """Grant ROLE (board, councillor, admin) to the account with EMAIL."""
        user = _role_target(email)
        with _refusal_ends_command():
            accounts.grant_role(None, user, Role(role), _wijk(slug), via="cli")
        click.echo(f"{user.email}: {role}{' in ' + slug if slug else ''}.")

    @app.cli.command("revoke-role")
    @click.argument("email")
    @click.argument("role", type=click.Choice([r.value for r in Role]))
    @click.option("--wijk", "slug", help="The wijk's slug.")
    def revoke_role(email: str, role: str, slug: str | None) -> None:
        """Take ROLE away from the account with EMAIL."""
        user = _role_target(email)
        wijk = _wijk(slug)
        for assignment in list(user.role_assignments):
            if assignment.role == Role(role) and assignment.neighbourhood_id == (
                wijk.id if wijk else None
            ):
                with _refusal_ends_command():
                    accounts.revoke_role(None, assignment, via="cli")
                click.echo(f"{user.email}: {role} ingetrokken.")
                return
        raise click.ClickException("Dit account heeft die rol niet.")

    @app.cli.command("tick")
    def tick() -> None:
        """Move every published round whose dates have passed to its phase (with the support
        threshold when steunen ends). Meant to run every minute from cron or a systemd timer;
        safe to run twice at once. Prints each move, and nothing when nothing was due."""
        for moved in rounds.tick():
            click.echo(str(moved))

    @app.cli.command("send-digests")
    def send_digests() -> None:
        """Mail everyone their new comments (at most one mail per person per hour)."""
        base = app.config["PUBLIC_URL"] or "http://127.0.0.1:5000"
        with app.test_request_context(base_url=base):
            sent = run_send_digests()
        click.echo(f"{sent} mail(s) verstuurd.")

    @app.cli.command("demo-data")
    @click.option("--if-empty", is_flag=True, help="Only when the database has no wijk yet.")
    def demo_data(if_empty: bool) -> None:
        """Fill the database with a small Utrecht-like demo (idempotent)."""
        if if_empty and db.session.scalar(select(Neighbourhood.id).limit(1)) is not None:
            click.echo("De database heeft al wijken: geen demogegevens toegevoegd.")
            return
        logins = seed_demo_data()
        # a first signed checkpoint of each wijk's ledger, as the daily cron job would make it
        checkpoints.sign_all()
        db.session.commit()
        click.echo(f"Demo-accounts (wachtwoord voor allemaal: {DEMO_PASSWORD}):")
        for email, what in logins:
            click.echo(f"  {email:<28} {what}")
        click.echo(
            "Bestuur, raadslid en beheerder loggen in met een tweede stap: zet de sleutel "
            f"{DEMO_TOTP_SECRET} in een app voor inlogcodes, of vraag de code van nu op met "
            "'flask --app wsgi demo-code'."
        )

    @app.cli.command("demo-code")
    def demo_code() -> None:
        """The second-factor code of the demo's staff accounts right now (the demo's public
        key; it opens no account that did not get that key from `demo-data`)."""
        click.echo(pyotp.TOTP(DEMO_TOTP_SECRET).now())


def _ledger_commands(app: Flask) -> None:
    ledger = click.Group("ledger", help="The public spending ledger (grootboek).")

    @ledger.command("verify")
    @click.option("--wijk", "slug", default=None, help="Only this wijk (its slug).")
    @click.option(
        "--checkpoints",
        "checkpoints_file",
        type=click.File("rb"),
        default=None,
        help="A checkpoints file (JSON, as downloaded or mailed): every chain must extend them.",
    )
    def verify(slug: str | None, checkpoints_file: Any) -> None:
        """Recompute the hash chain and check it against the expenses: prints `ok <count>
        <head-hash>` (exit 0), or the id of the first broken entry, or `mismatch` with what
        disagrees, e.g. an expense booked twice (exit 1). With several wijken, the head is the
        SHA-256 of their heads. Then every chain must extend its signed checkpoints (those in
        --checkpoints FILE, and the stored ones): else `checkpoint <wijk>: …` and exit 1."""
        if slug:
            wijk = db.session.scalar(select(Neighbourhood).where(Neighbourhood.slug == slug))
            if wijk is None:
                click.echo(f"Geen wijk met slug {slug}.", err=True)
                raise SystemExit(2)
            ids = [wijk.id]
        else:
            ids = list(db.session.scalars(select(Neighbourhood.id).order_by(Neighbourhood.id)))
        result = spending.verify_all(ids)
        if result.ok:
            checkpoint_commands.check_checkpoints(ids, checkpoints_file)  # exits 1 on a failure
            click.echo(f"ok {result.count} {result.head}")
            return
        if result.broken_id is None:  # the chain is intact; the bookings disagree
            click.echo(f"mismatch (wijk {result.wijk_id}: {result.problem})")
            raise SystemExit(1)
        click.echo(
            f"broken {result.broken_id} (wijk {result.wijk_id}: de keten klopt niet vanaf "
            f"boeking-id {result.broken_id})"
        )
        raise SystemExit(1)

    ledger.add_command(checkpoint_commands.checkpoint)
    ledger.add_command(checkpoint_commands.new_key)
    app.cli.add_command(ledger)


def _roles_command() -> None:
    """``flask db roles``: in Flask-Migrate's ``db`` group (see dbroles.py)."""
    db_group.add_command(roles)


def _tally_command(app: Flask) -> None:
    @app.cli.command("tally")
    @click.argument("path", metavar="FILE.pb")
    @click.option("--rule", required=True, type=click.Choice(RULES), help="How to count.")
    @click.option(
        "--completion",
        type=click.Choice(COMPLETIONS),
        default="add1",
        show_default=True,
        help="How equal shares fills the budget (ignored with --rule greedy).",
    )
    @click.option("--json", "as_json", is_flag=True, help="One JSON object instead of the ids.")
    def tally(path: str, rule: str, completion: str, as_json: bool) -> None:
        """Count a pabulib .pb file: print the funded project ids in selection order.

        With --json: {"rule", "completion", "funded", "cost", "budget"}, amounts in the file's
        currency units. Exit code 2 when the file is missing or cannot be read. The same as
        ``python -m wijkbudget.tally``, which starts without the app (tally/command.py)."""
        code = count(path, rule, completion, as_json=as_json)
        if code:
            raise SystemExit(code)


def _backup_commands(app: Flask) -> None:
    @app.cli.command("backup")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    def backup_command(path: Path) -> None:
        """Copy the whole database to PATH (SQLite: online backup; PostgreSQL: pg_dump -Fc)."""
        try:
            backup(path)
        except BackupError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"Backup gemaakt: {path}")

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="Do not ask: everything now in the database goes.")
    @click.option(
        "--lose-votes",
        is_flag=True,
        help="Restore even if votes (and receipts) cast after the backup are lost; names them.",
    )
    @click.option(
        "--lose-ledger",
        is_flag=True,
        help="Restore even if ledger entries made after the backup are lost; names them.",
    )
    def restore_command(path: Path, yes: bool, lose_votes: bool, lose_ledger: bool) -> None:
        """Replace the whole database with the backup at PATH, with the site in maintenance
        for the whole run (writes get a 503). Refused (exit 1, nothing changed) when the
        database holds votes, receipts or ledger entries the backup lacks, unless --lose-votes
        / --lose-ledger."""
        if not yes:
            click.confirm(
                "Alles in de database wordt vervangen door de backup. Doorgaan?", abort=True
            )
        try:
            restore(path, lose_votes=lose_votes, lose_ledger=lose_ledger, say=click.echo)
        except FlagTaken as error:
            raise click.ClickException(f"Er loopt al een restore: {error}") from error
        except BackupError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"Teruggezet uit {path}")

    app.cli.add_command(maintenance_command)
