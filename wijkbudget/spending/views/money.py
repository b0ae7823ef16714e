"""The wijk's money in public: its projects and ledger with the checkpoints, the exports, a
round's one-screen summary; and the councillor's desks (read-only, for the board and
councillors). Nothing here writes."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select

from ... import permissions
from ...exports import to_people_csv, to_typed_xlsx
from ...extensions import db, paginate, utcnow
from ...guards import audit_reader_required, oversight_required, public
from ...loaders import load_round, wijk_or_404
from ...maps import queries as map_queries
from ...neighbourhoods.models import Neighbourhood
from ...results import queries as results_queries
from .. import checkpoints, exports, operations, people_exports, queries
from .. import flags as desk_flags
from ..models import Expense, ExpenseState
from .common import bp


@bp.get("/wijk/<slug>/geld")
@public
def wijk_money(slug: str) -> Any:
    wijk = wijk_or_404(slug)
    overview = queries.wijk_overview(wijk)
    page = paginate(queries.projects_query(wijk))
    money = queries.money_by_project([p.id for p in page.items])
    return render_template(
        "spending/wijk.html",
        wijk=wijk,
        overview=overview,
        page=page,
        money=money,
        ledger_state=checkpoints.ledger_state(wijk, checkpoints.stored(wijk.id)),
        available=queries.wijk_available(wijk),
        status_label=queries.status_label,
        the_map=map_queries.projects_map(
            wijk, project_url=lambda pid: url_for("spending.project", project_id=pid)
        ),
    )


@bp.get("/wijk/<slug>/geld/grootboek")
@public
def ledger(slug: str) -> Any:
    wijk = wijk_or_404(slug)
    page = paginate(queries.ledger_query(wijk))
    return render_template(
        "spending/ledger.html",
        wijk=wijk,
        page=page,
        ledger_state=checkpoints.ledger_state(wijk, checkpoints.stored(wijk.id)),
        kind_label=queries.entry_kind_label,
    )


@bp.get("/grootboek/controlepunten")
@public
def checkpoints_page() -> Any:
    """For councillors (and anyone): what a checkpoint is, how to keep and check it."""
    return render_template(
        "spending/checkpoints.html",
        wijken=list(db.session.scalars(select(Neighbourhood).order_by(Neighbourhood.name))),
        latest=checkpoints.latest,
        key_id=checkpoints.key_id(checkpoints.verify_key()),
        public_key=checkpoints.public_key_hex(),
    )


@bp.get("/grootboek/controlepunten.json")
@public
def checkpoints_file() -> Response:
    """Every stored checkpoint with the public key, as one file to keep and check against."""
    document = checkpoints.export_document(checkpoints.stored())
    response = current_app.response_class(
        json.dumps(document, indent=1, ensure_ascii=False) + "\n", mimetype="application/json"
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="controlepunten-{utcnow():%Y-%m-%d}.json"'
    )
    return response


@bp.get("/wijk/<slug>/geld/<any(projecten,uitgaven,grootboek):what>.<any(csv,xlsx,nl.csv):fmt>")
@public
def export(slug: str, what: str, fmt: str) -> Response:
    """Public exports: what is public on the pages (private payees as "particulier")."""
    wijk = wijk_or_404(slug)
    return _export(wijk, what, fmt, private=False)


@bp.get("/wijk/<slug>/controle/<any(projecten,uitgaven,grootboek):what>.<any(csv,xlsx,nl.csv):fmt>")
@oversight_required
def export_full(wijk: Neighbourhood, what: str, fmt: str) -> Response:
    """The same for the board and councillors, with the names of private payees."""
    return _export(wijk, what, fmt, private=True)


def _export(wijk: Neighbourhood, what: str, fmt: str, *, private: bool) -> Response:
    """``csv``: for programs (commas, raw fields); ``nl.csv``: for Dutch Excel (semicolons, a
    byte order mark, decimal commas, Dutch words); ``xlsx``: for people, amounts as numbers."""
    body: str | bytes
    name = f"{what}-{wijk.slug}.{fmt}"
    if fmt == "csv":
        header, rows = exports.table(wijk, what, private=private)
        body, mimetype = exports.to_csv(header, rows), "text/csv; charset=utf-8"
    elif fmt == "nl.csv":
        header, rows = people_exports.table(wijk, what, private=private)
        body, mimetype = to_people_csv(header, rows), "text/csv; charset=utf-8"
    else:
        header, rows = people_exports.table(wijk, what, private=private)
        body = to_typed_xlsx(what, header, rows)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.get("/wijk/<slug>/geld/subsidies.json")
@public
def grants_json(slug: str) -> Response:
    wijk = wijk_or_404(slug)
    return Response(
        exports.grants_360(wijk),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="subsidies-{wijk.slug}.json"'},
    )


@bp.get("/wijk/<slug>/rondes/<int:round_id>/samenvatting")
@public
def summary(slug: str, round_id: int) -> Any:
    """One screen (and one printed page) to share: budget, turnout, proposals, funded, spent."""
    wijk = wijk_or_404(slug)
    rnd = load_round(wijk, round_id)
    return render_template(
        "spending/summary.html",
        wijk=wijk,
        rnd=rnd,
        s=queries.round_summary(rnd),
        chosen=results_queries.chosen_projects(rnd),
    )


@bp.get("/wijk/<slug>/controle")
@oversight_required
def desk(wijk: Neighbourhood) -> Any:
    verification = operations.verify(wijk.id)
    return render_template(
        "spending/desk.html",
        wijk=wijk,
        overview=queries.wijk_overview(wijk),
        flags=desk_flags.flags(wijk),
        verification=verification,
        # (the chain may be intact in itself and yet cut or recomputed: the signed checkpoints)
        ledger_state=checkpoints.ledger_state(wijk, checkpoints.stored(wijk.id)),
        may_read_audit=permissions.can_read_audit(current_user),
        pending_count=db.session.scalar(
            select(func.count(Expense.id)).where(
                Expense.neighbourhood_id == wijk.id, Expense.state == ExpenseState.PENDING
            )
        ),
    )


@bp.get("/controle")
@audit_reader_required
def desks() -> Any:
    """The councillor's start: every wijk they look at, with its money and ledger state."""
    scope = permissions.audit_scope(current_user)
    query = select(Neighbourhood).order_by(Neighbourhood.name)
    if scope is not None:
        query = query.where(Neighbourhood.id.in_(scope))
    page = paginate(query)
    rows = []
    for wijk in page.items:  # one page of wijken (PAGE_SIZE), a few queries each
        total = queries.Money()
        for r in queries.wijk_overview(wijk):
            total.add(r.money)
        verification = operations.verify(wijk.id)
        # a chain intact in itself may still be cut or recomputed: the signed checkpoints say
        extends = verification.ok and checkpoints.ledger_state(wijk, checkpoints.stored(wijk.id)).ok
        rows.append((wijk, total, verification, extends))
    return render_template("spending/desks.html", page=page, rows=rows)
