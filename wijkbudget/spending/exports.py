"""Exports of projects, expenses and the ledger: CSV (RFC 4180, formula cells neutralised) and
XLSX (openpyxl) with the same rows (both written by wijkbudget/exports.py), and the grants as a
360Giving data package."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

# the one writer of spreadsheet files, re-exported for the spending views
from ..exports import neutralise as neutralise
from ..exports import to_csv as to_csv
from ..exports import to_xlsx as to_xlsx
from ..extensions import db
from ..i18n import utc_to_local
from ..neighbourhoods.models import Neighbourhood
from ..proposals.models import Proposal
from . import queries
from .models import Expense, FundedProject, LedgerEntry


def _euros(cents: int | None) -> str:
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def table(wijk: Neighbourhood, what: str, *, private: bool) -> tuple[list[str], list[list[Any]]]:
    if what == "projecten":
        projects = queries.projects_of(
            wijk, selectinload(FundedProject.proposal), selectinload(FundedProject.round)
        )
        money = queries.money_by_project([p.id for p in projects])
        header = ["project", "voorstel", "titel", "ronde", "status", "toegekend_euro",
                  "uitgegeven_euro", "terug_euro", "over_euro", "wacht_euro"]  # fmt: skip
        rows = [
            [
                p.id,
                p.proposal_id,
                p.title,
                p.round.title,
                p.status.value,
                _euros(money[p.id].granted),
                _euros(money[p.id].spent),
                _euros(money[p.id].returned),
                _euros(money[p.id].remaining),
                _euros(money[p.id].pending),
            ]
            for p in projects
        ]
    elif what == "uitgaven":
        expenses = list(
            db.session.scalars(
                select(Expense)
                .where(Expense.neighbourhood_id == wijk.id)
                .options(selectinload(Expense.cost_line))
                .order_by(Expense.id)
            )
        )
        header = ["uitgave", "project", "datum", "bedrag_euro", "btw_euro", "ontvanger",
                  "soort_ontvanger", "omschrijving", "kostenpost", "status", "bon"]  # fmt: skip
        rows = [
            [
                e.id,
                e.project_id,
                e.spent_on.isoformat(),
                _euros(e.amount_cents),
                _euros(e.vat_cents),
                e.payee if private else e.public_payee(),
                e.payee_type.value,
                e.description,
                e.cost_line.description if e.cost_line else "",
                e.state.value,
                "ja" if e.receipt_name else "nee",
            ]
            for e in expenses
        ]
    else:
        entries = list(
            db.session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.neighbourhood_id == wijk.id)
                .order_by(LedgerEntry.seq)
            )
        )
        header = ["boeking", "tijd_utc", "soort", "bedrag_euro", "ronde", "project", "uitgave",
                  "corrigeert", "reden", "vorige_hash", "hash"]  # fmt: skip
        rows = [
            [
                e.seq,
                e.created_at.isoformat(),
                e.kind.value,
                _euros(e.amount_cents),
                e.round_id or "",
                e.project_id or "",
                e.expense_id or "",
                e.corrects_id or "",
                e.reason,
                e.prev_hash,
                e.hash,
            ]
            for e in entries
        ]
    return header, rows


def grants_360(wijk: Neighbourhood) -> str:
    """The wijk's grants as a 360Giving data package (valid against the standard's JSON schema,
    tests/data/360giving/), one grant per funded project: identifiers with the configured
    ``GRANTS_360_PREFIX`` ("360G-…"), the wijkcoöperatie as funding organisation and the
    initiative group as recipient organisation, never a private person's name. A wijk without
    grants gives an empty list (the schema asks for at least one grant: there is none to
    publish yet)."""
    prefix = current_app.config["GRANTS_360_PREFIX"]
    projects = queries.projects_of(
        wijk,
        selectinload(FundedProject.proposal).selectinload(Proposal.area),
        selectinload(FundedProject.round),
    )
    money = queries.money_by_project([p.id for p in projects])
    funder = {
        "id": f"{prefix}-{wijk.slug}",
        "name": _("Wijkcoöperatie %(wijk)s", wijk=wijk.name),
    }
    grants = [
        {
            "id": f"{prefix}-{wijk.slug}-{p.id}",
            "title": p.title,
            "description": p.proposal.summary or p.title,
            "currency": "EUR",
            "amountAwarded": money[p.id].granted / 100,
            "amountDisbursed": money[p.id].spent / 100,
            "awardDate": f"{utc_to_local(p.created_at):%Y-%m-%d}",
            "recipientOrganization": [
                {
                    "id": f"{prefix}-{wijk.slug}-initiatief-{p.id}",
                    "name": _("Initiatiefgroep '%(title)s'", title=p.title),
                }
            ],
            "fundingOrganization": [funder],
            "grantProgramme": [
                {"code": f"{prefix}-{wijk.slug}-ronde-{p.round_id}", "title": p.round.title}
            ],
            "beneficiaryLocation": [
                {
                    "name": p.proposal.area.name if p.proposal.area else wijk.name,
                    "countryCode": "NL",
                }
            ],
        }
        for p in projects
    ]
    return json.dumps({"grants": grants}, ensure_ascii=False, indent=2)
