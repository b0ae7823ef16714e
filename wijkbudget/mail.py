"""Sending mail: SMTP in production, .eml files in instance/mail/ during development."""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from flask import Flask, current_app, render_template
from flask_babel import force_locale

log = logging.getLogger(__name__)


class MailError(Exception):
    """The mail could not be handed over (the caller decides whether that stops anything)."""


def build_message(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="wijkbudget")
    message.set_content(body)
    return message


def _write_file(message: EmailMessage) -> None:
    folder = Path(current_app.config["MAIL_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.eml"
    path.write_bytes(bytes(message))
    log.info("mail to %s written to %s: %s", message["To"], path, message["Subject"])


def _send_smtp(message: EmailMessage) -> None:
    config = current_app.config
    host, port, security = config["MAIL_HOST"], int(config["MAIL_PORT"]), config["MAIL_SECURITY"]
    try:
        if security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=15, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port, timeout=15)
        with client:
            if security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if config["MAIL_USERNAME"]:
                client.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("mail to %s could not be sent: %s", message["To"], exc)
        raise MailError(str(exc)) from exc


def send_mail(to: str, subject: str, body: str, headers: Mapping[str, str] | None = None) -> None:
    """Send one plain-text mail now, with any extra ``headers`` (e.g. List-Unsubscribe).
    Raises MailError when the SMTP server refuses or is away."""
    message = build_message(to, subject, body)
    if headers:
        # a long URL in a header stays one line (up to RFC 5322's 998), not encoded words,
        # which mail clients do not read as a List-Unsubscribe address
        message.policy = message.policy.clone(max_line_length=998)
        for name, value in headers.items():
            message[name] = value
    if current_app.config["MAIL_BACKEND"] == "smtp":
        _send_smtp(message)
    else:
        _write_file(message)


def send_template(recipient: Any, template: str, subject: Any, **context: Any) -> None:
    """Send the mail ``template`` (a .txt Jinja template) in the recipient's language.

    ``recipient`` is a User (its address and language) or an address (Dutch). ``subject`` is a
    lazy_gettext string. A mail server that is away is logged, not fatal: nothing the person did
    is lost, and the page they see says what happened.
    """
    if isinstance(recipient, str):
        address, language = recipient, "nl"
    else:
        address, language = recipient.email, recipient.language
    if not address:
        return
    with force_locale(language):
        body = render_template(template, **context)
        try:
            send_mail(address, str(subject), body)
        except MailError:
            log.warning("mail %s could not be sent", template)


def init_app(app: Flask) -> None:
    if app.config["MAIL_BACKEND"] not in {"smtp", "file"}:
        raise ValueError("WIJKBUDGET_MAIL_BACKEND must be smtp or file")
