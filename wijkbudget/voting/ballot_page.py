"""Speed device of the ballot page: each proposal's HTML built once per change, with a mark where
the voter's own choice goes, filled in per request by string replacement.

Why: the ballot is the busiest page of a vote, and rendering the same proposals for every voter
costs more than the rest of the page. The items are the same for every voter, so they are built
once (``pagecache.fragment``, which rebuilds them after any change to the round's proposals)
and each request only puts its voter's choices in.

What must stay true: the page is byte for byte what rendering each item with the voter's choice
would give (``plain_item`` is that slow path;
``tests/test_pagecache.py::test_the_patched_ballot_is_the_plainly_rendered_one`` compares them).
The mark can never occur in escaped user text ("<" always becomes "&lt;").

Measured by ``benchmarks/profile_pages.py`` and ``benchmarks/load.py`` (the ballot page).
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app
from markupsafe import Markup

from ..i18n import current_locale_name
from ..pagecache import fragment
from ..proposals.models import Proposal
from ..rounds.models import BallotType, Round
from . import queries
from .queries import BallotItem

#: where a proposal on the ballot shows this voter's choice (" checked", or the points)
CHOICE_MARK = "<!--choice-->"


def _item_macro(rnd: Round, mark: str) -> object:
    template = current_app.jinja_env.get_template("voting/_ballot_items.html")
    module = template.make_module({"rnd": rnd, "mark": Markup(mark)})  # noqa: S704 (our own text)
    return module.item  # type: ignore[attr-defined]  # a Jinja macro: a module attribute at runtime


def ballot_items(rnd: Round) -> tuple[dict[int, str], list[BallotItem]]:
    """Each proposal of the ballot as HTML with CHOICE_MARK where the choice goes, and the
    costs: the same for every voter, so built once per change (see pagecache.fragment)."""

    def build() -> tuple[dict[int, str], list[BallotItem]]:
        proposals = queries.ballot_proposals(rnd, photos=True)
        item = _item_macro(rnd, CHOICE_MARK)
        return (
            {p.id: str(item(p)) for p in proposals},  # type: ignore[operator]  # a Jinja macro
            [BallotItem(p.id, p.effective_cost_cents) for p in proposals],
        )

    return fragment(f"ballot|{rnd.id}|{rnd.ballot_type}|{current_locale_name()}", build)


def shown_choice(rnd: Round, points: int | None) -> str:
    """What stands at the mark: the points (cumulative), " checked" for a ticked proposal."""
    if rnd.ballot_type == BallotType.CUMULATIVE:
        return str(points) if points is not None else ""
    return " checked" if points else ""


def fill_choices(
    rnd: Round,
    html: dict[int, str],
    order: Sequence[BallotItem],
    selection: dict[int, int],
) -> Markup:
    """The ballot's items in this voter's ``order``, with their choices in place."""
    return Markup(  # noqa: S704 (rendered by our template, escaped there)
        "".join(
            html[item.id].replace(CHOICE_MARK, shown_choice(rnd, selection.get(item.id)))
            for item in order
        )
    )


def plain_item(rnd: Round, proposal: Proposal, points: int | None) -> str:
    """The slow path, for the tests: one item rendered with the choice itself."""
    item = _item_macro(rnd, shown_choice(rnd, points))
    return str(item(proposal))  # type: ignore[operator]  # a Jinja macro
