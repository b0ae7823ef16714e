"""Voting codes stay out of every log line.

A letter's QR code opens ``/stem?code=K7QF-2MXP-9TRA`` so that the code is filled in for the
voter. A web server writes the request line (and the Referer) into its access log, and a code
in a log is a vote for whoever reads it. :class:`RedactCodes` replaces the value of every
``code=`` query parameter by ``[weg]`` in the messages and arguments of a log record, whatever
the format: it is put on the development server's logger (``werkzeug``), on gunicorn's access
and error loggers and on the app's own (``init_app``). The page itself sends no Referer and is
never cached (voting/views/ballot.py ``enter_code``), and the page cache never looks it up
(pagecache.SKIP_PATHS). A proxy in front (nginx) keeps its own log: docs/door-to-door.md says
how to leave the query out there.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask

#: a ``code=`` parameter's value in a URL, a query string or a request line, also inside
#: another parameter (the language link's ``next=%2Fstem%3Fcode%3D…``): after ``?``, ``&``,
#: ``;``, a space or a quote, or their encodings ``%3F`` / ``%26``; up to the next parameter
CODE_PARAMETER = re.compile(r"(?i)((?:^|[?&;\s\"']|%3F|%26)code(?:=|%3D))(?:(?!%26)[^&;\s\"'])*")
REDACTED = "[weg]"

#: the loggers that write requests or their URLs
LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "flask.app", "wijkbudget")


def redact(text: str) -> str:
    """``text`` with the value of every ``code=`` parameter replaced."""
    return CODE_PARAMETER.sub(lambda m: m.group(1) + REDACTED, text)


def _redacted(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactCodes(logging.Filter):
    """A logging filter that takes voting codes out of a record's message and arguments (a
    tuple, or gunicorn's dict of atoms) before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            # in place: gunicorn's atoms are a dict of its own kind (it answers missing keys
            # and headers), which the format still needs
            for key, value in list(record.args.items()):
                record.args[key] = _redacted(value)
        elif isinstance(record.args, tuple):
            record.args = tuple(_redacted(value) for value in record.args)
        return True


_FILTER = RedactCodes()


def install() -> None:
    """Put the filter on every logger that writes requests (once; safe to call again)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def init_app(app: Flask) -> None:
    install()
    if _FILTER not in app.logger.filters:
        app.logger.addFilter(_FILTER)
