"""The checks the verantwoording's use cases share: a reason given and not too long, an amount
above zero, the board of the project's wijk. Each raises a :class:`SpendingError` or
:class:`NotAllowed` in plain Dutch; they read nothing from the database but the user's roles."""

from __future__ import annotations

from flask_babel import gettext as _

from ...accounts.models import User
from ..models import (
    FundedProject,
    NotAllowed,
    SpendingError,
)

REASON_MAX = 1000


def plain(text: str) -> str:
    """One line of plain text (Jinja escapes it on the way out)."""
    return " ".join(text.split())


def check_positive(amount_cents: int) -> None:
    if amount_cents <= 0:
        raise SpendingError(_("Het bedrag moet groter zijn dan nul."))


def clean_reason(reason: str) -> str:
    text = plain(reason or "")
    if not text:
        raise SpendingError(_("Geef een reden op."))
    if len(text) > REASON_MAX:
        raise SpendingError(_("De reden is te lang (hoogstens %(n)d tekens).", n=REASON_MAX))
    return text


def check_board(board: User, project: FundedProject) -> None:
    if not project.can_manage(board):
        raise NotAllowed(_("Alleen het bestuur van de wijk kan dit doen."))
