"""The spending exports for people (issue 22): the Excel workbook and the CSV for Dutch Excel.

The same three tables as the machine exports (spending/exports.py: projects, expenses, the
ledger), but with Dutch column names and Dutch words for states and kinds, the project's title
beside its number, who approved or rejected an expense, amounts as ``exports.Euros``
(numbers in the workbook, "1234,56" in the CSV) and times in Dutch time. The machine CSV keeps
its raw fields (ids, cents as "12.50", English state values) for programs that read it.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..exports import Euros
from ..extensions import db
from ..i18n import utc_to_local
from ..neighbourhoods.models import Neighbourhood
from . import queries
from .models import Expense, FundedProject, LedgerEntry, PayeeType

PAYEE_TYPES = {
    PayeeType.COMPANY: _l("bedrijf"),
    PayeeType.ASSOCIATION: _l("vereniging of stichting"),
    PayeeType.PRIVATE: _l("particulier"),
}


def _kind(kind: Any) -> str:
    try:
        return queries.entry_kind_label(kind)
    except (KeyError, ValueError):  # a kind without a Dutch word yet
        return str(getattr(kind, "value", kind))


def _payee_type(kind: PayeeType) -> str:
    return str(PAYEE_TYPES[kind]) if kind in PAYEE_TYPES else kind.value


def _projects(wijk: Neighbourhood) -> tuple[list[str], list[list[Any]]]:
    projects = queries.projects_of(
        wijk,
        selectinload(FundedProject.proposal),
        selectinload(FundedProject.round),
        selectinload(FundedProject.treasurer),
    )
    money = queries.money_by_project([p.id for p in projects])
    header = [_("Project"), _("Titel"), _("Ronde"), _("Status"), _("Penvoerder"),
              _("Toegekend"), _("Uitgegeven"), _("Terug naar de wijk"), _("Over"),
              _("Wacht op goedkeuring")]  # fmt: skip
    rows = [
        [
            p.id,
            p.title,
            p.round.title,
            queries.status_label(p.status),
            p.treasurer.public_name if p.treasurer else "",
            Euros(money[p.id].granted),
            Euros(money[p.id].spent),
            Euros(money[p.id].returned),
            Euros(money[p.id].remaining),
            Euros(money[p.id].pending),
        ]
        for p in projects
    ]
    return header, rows


def _expenses(wijk: Neighbourhood, private: bool) -> tuple[list[str], list[list[Any]]]:
    expenses = db.session.scalars(
        select(Expense)
        .where(Expense.neighbourhood_id == wijk.id)
        .options(
            selectinload(Expense.cost_line),
            selectinload(Expense.project).selectinload(FundedProject.proposal),
            selectinload(Expense.decided_by),
        )
        .order_by(Expense.id)
    )
    header = [_("Uitgave"), _("Project"), _("Projectnummer"), _("Datum"), _("Bedrag"),
              _("Btw"), _("Ontvanger"), _("Soort ontvanger"), _("Omschrijving"),
              _("Kostenpost"), _("Status"), _("Goedgekeurd of afgewezen door"),
              _("Besloten op"), _("Bon")]  # fmt: skip
    rows = [
        [
            e.id,
            e.project.title,
            e.project_id,
            e.spent_on,
            Euros(e.amount_cents),
            Euros(e.vat_cents) if e.vat_cents is not None else None,
            e.payee if private else e.public_payee(),
            _payee_type(e.payee_type),
            e.description,
            e.cost_line.description if e.cost_line else "",
            queries.expense_state_label(e.state),
            e.decided_by.public_name if e.decided_by else "",
            utc_to_local(e.decided_at),
            _("ja") if e.receipt_name else _("nee"),
        ]
        for e in expenses
    ]
    return header, rows


def _ledger(wijk: Neighbourhood) -> tuple[list[str], list[list[Any]]]:
    entries = db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.neighbourhood_id == wijk.id)
        .options(selectinload(LedgerEntry.project).selectinload(FundedProject.proposal))
        .order_by(LedgerEntry.seq)
    )
    header = [_("Boeking"), _("Tijd"), _("Soort"), _("Bedrag"), _("Project"), _("Uitgave"),
              _("Corrigeert boeking"), _("Reden"), _("Hash")]  # fmt: skip
    rows = [
        [
            e.seq,
            utc_to_local(e.created_at),
            _kind(e.kind),
            Euros(e.amount_cents),
            e.project.title if e.project else "",
            e.expense_id or "",
            e.corrects_id or "",
            e.reason,
            e.hash,
        ]
        for e in entries
    ]
    return header, rows


def table(wijk: Neighbourhood, what: str, *, private: bool) -> tuple[list[str], list[list[Any]]]:
    """The table ``what`` ("projecten", "uitgaven" or "grootboek") for people."""
    if what == "projecten":
        return _projects(wijk)
    if what == "uitgaven":
        return _expenses(wijk, private)
    return _ledger(wijk)
