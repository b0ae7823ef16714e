"""``flask send-notifications``: find what happened, queue the mails, send the queue."""

from __future__ import annotations

import click
from flask import current_app

from . import operations


@click.command("send-notifications")
def send_notifications() -> None:
    """Queue a mail for every new event someone wants to hear of (voting opens, the reminder,
    the result, the outcome of one's own proposal, news and expenses of what one follows) and
    send what waits. Meant to run every few minutes (after `flask tick`); safe to run twice at
    once: each mail goes once."""
    base = current_app.config["PUBLIC_URL"] or "http://127.0.0.1:5000"
    with current_app.test_request_context(base_url=base):  # as send-digests: links, locale
        report = operations.send_notifications()
    click.echo(
        f"{report.queued} in de wachtrij gezet, {report.sent} verstuurd, "
        f"{report.failed} mislukt (later opnieuw), {report.dropped} niet meer nodig."
    )
