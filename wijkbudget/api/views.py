"""The open data API, read-only: wijken, rounds, proposals, results, projects, expenses and
the ledger as JSON, paged (``?page=``, ``?per_page=`` up to 100), open to other sites for GET
(CORS) and rate-limited. ``/api/v1/openapi.json`` describes every response."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import Select, select

from ..extensions import MAX_PAGE, db, limiter
from ..guards import public
from ..neighbourhoods.models import Neighbourhood
from ..proposals.models import State
from ..rounds.models import Phase, Round
from ..spending import checkpoints
from ..spending.models import FundedProject, LedgerCheckpoint
from . import openapi, queries

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_PER_PAGE = 100


@bp.after_request
def cors(response: Response) -> Response:
    """Anyone may read the open data from another site; nothing here changes anything."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET"
    response.headers.setdefault("Cache-Control", "public, max-age=60")
    return response


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _number(name: str, default: int | None, *, low: int = 1, high: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        abort(400, _("'%(name)s' moet een heel getal zijn.", name=name))
    value = int(raw)
    if value < low or (high is not None and value > high):
        abort(400, _("'%(name)s' moet tussen %(low)d en %(high)d liggen.", name=name, low=low,
                     high=high or 10**9))  # fmt: skip
    return value


def _choice(name: str, allowed: list[str]) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        abort(400, _("'%(name)s' kan zijn: %(allowed)s.", name=name, allowed=", ".join(allowed)))
    return raw


def _page(query: Select[Any], convert: Any) -> Response:
    page = _number("page", 1, high=MAX_PAGE)
    per_page = _number("per_page", 50, high=MAX_PER_PAGE)
    result = db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)
    items = list(result.items)
    return jsonify(
        {
            "items": convert(items),
            "page": result.page,
            "per_page": result.per_page,
            "total": result.total,
            "pages": result.pages,
        }
    )


def _wijk(slug: str) -> Neighbourhood:
    wijk: Neighbourhood | None = db.session.scalar(
        select(Neighbourhood).where(Neighbourhood.slug == slug)
    )
    if wijk is None:
        abort(404)
    return wijk


def _round(round_id: int) -> Round:
    rnd = db.session.get(Round, round_id)
    if rnd is None or rnd.phase == Phase.CONCEPT:
        abort(404)
    return rnd


def _limit() -> str:
    return str(current_app.config["RATELIMIT_API"])


limiter.limit(_limit)(bp)  # one limit for the whole API, per address


@bp.get("/openapi.json")
@public
def spec() -> Response:
    return jsonify(openapi.document())


@bp.get("/wijken")
@public
def wijken() -> Response:
    return _page(queries.wijken(), lambda items: [queries.wijk_dict(w) for w in items])


@bp.get("/wijken/<slug>")
@public
def wijk(slug: str) -> Response:
    return jsonify(queries.wijk_dict(_wijk(slug)))


@bp.get("/wijken/<slug>/rondes")
@public
def rounds(slug: str) -> Response:
    wijk_ = _wijk(slug)
    phase = _choice("phase", [p.value for p in Phase if p != Phase.CONCEPT])
    query = queries.rounds(wijk_, Phase(phase) if phase else None)
    return _page(query, lambda items: [queries.round_dict(r, wijk_.slug) for r in items])


@bp.get("/rondes/<int:round_id>")
@public
def round_(round_id: int) -> Response:
    rnd = _round(round_id)
    return jsonify(queries.round_dict(rnd, rnd.neighbourhood.slug))


@bp.get("/rondes/<int:round_id>/voorstellen")
@public
def proposals(round_id: int) -> Response:
    rnd = _round(round_id)
    state = _choice("state", [s.value for s in queries.API_STATES])
    area = _number("area", None, high=2**31 - 1)
    query = queries.proposals(rnd, State(state) if state else None, area)
    return _page(query, lambda items: [queries.proposal_dict(p) for p in items])


@bp.get("/rondes/<int:round_id>/uitslag")
@public
def result(round_id: int) -> Response:
    data = queries.result_dict(_round(round_id))
    if data is None:
        return _error(404, _("Deze ronde heeft nog geen uitslag."))
    return jsonify(data)


@bp.get("/wijken/<slug>/projecten")
@public
def projects(slug: str) -> Response:
    return _page(queries.projects(_wijk(slug)), queries.project_dicts)


@bp.get("/projecten/<int:project_id>/uitgaven")
@public
def expenses(project_id: int) -> Response:
    project = db.session.get(FundedProject, project_id)
    if project is None:
        abort(404)
    return _page(queries.expenses(project), lambda items: [queries.expense_dict(e) for e in items])


@bp.get("/wijken/<slug>/grootboek")
@public
def ledger(slug: str) -> Response:
    return _page(queries.ledger(_wijk(slug)), lambda items: [queries.entry_dict(e) for e in items])


@bp.get("/wijken/<slug>/controlepunten")
@public
def checkpoints_of_wijk(slug: str) -> Response:
    query = (
        select(LedgerCheckpoint)
        .where(LedgerCheckpoint.neighbourhood_id == _wijk(slug).id)
        .order_by(LedgerCheckpoint.length, LedgerCheckpoint.id)
    )
    return _page(query, lambda items: [checkpoints.checkpoint_dict(c) for c in items])


@bp.get("/controlepunten")
@public
def all_checkpoints() -> Response:
    return jsonify(checkpoints.export_document(checkpoints.stored()))
