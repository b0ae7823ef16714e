"""Loading what a URL names, for the views of every area: the wijk, a round of it, an object of it
— or 404.

One place, so every area answers the same way: another wijk's object is "not found" in this wijk's
URL (no IDOR), and a round the visitor may not see (a concept, for anyone but its board) is not
found either. Loading writes nothing: a round is shown in the phase its dates imply
(``rounds.queries.as_of_now``), and the stored phase moves only in an operation.

The layer: views import this module; it imports queries and models, never views or operations.
"""

from __future__ import annotations

from typing import TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from .extensions import db
from .neighbourhoods.models import Neighbourhood
from .rounds import queries as round_queries
from .rounds.models import Round

T = TypeVar("T")


def wijk_or_404(slug: str) -> Neighbourhood:
    """The wijk with this slug."""
    wijk = db.session.scalar(select(Neighbourhood).where(Neighbourhood.slug == slug))
    if wijk is None:
        abort(404)
    return wijk


def in_wijk_or_404(obj: T | None, wijk: Neighbourhood) -> T:
    """The object (a proposal, thread, project, expense: anything with a ``neighbourhood_id``)
    when it belongs to this wijk; otherwise 404. Another wijk's object is not even said to exist
    in a board's URL of this wijk (no IDOR)."""
    if obj is None or getattr(obj, "neighbourhood_id", None) != wijk.id:
        abort(404)
    return obj


def visible_or_404(rnd: Round | None) -> Round:
    """The round when this visitor may see it, in the phase its dates imply."""
    if rnd is None or not rnd.can_view(current_user):
        abort(404)
    return round_queries.as_of_now(rnd)


def load_round(wijk: Neighbourhood, round_id: int) -> Round:
    """The round of this wijk (404 otherwise, also for a concept the user may not see)."""
    return visible_or_404(round_queries.round_in(wijk, round_id))


def load_wijk_round(slug: str, round_id: int) -> tuple[Neighbourhood, Round]:
    """The same as ``wijk_or_404`` and ``load_round``, in one query."""
    rnd = visible_or_404(round_queries.round_by_slug(slug, round_id))
    return rnd.neighbourhood, rnd
