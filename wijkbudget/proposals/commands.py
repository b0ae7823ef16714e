"""``flask proposals thumbnails``: the thumbnails of proposal photos stored before they were
made at upload (see thumbnails.py). Safe to run again, and twice at once. A command of the
proposals blueprint (``bp.cli``: its group is the blueprint's name)."""

from __future__ import annotations

import click

from . import operations
from .pages import bp


@bp.cli.command("thumbnails")
def thumbnails_command() -> None:
    """Make the missing thumbnails (240 and 480 pixels wide) of proposal photos."""
    made, problems = operations.make_missing_thumbnails()
    click.echo(f"{made} foto('s) kregen thumbnails.")
    for problem in problems:
        click.echo(f"Niet gelukt: {problem}", err=True)
    if problems:
        raise SystemExit(1)
