"""Wijk use cases: an admin creates and edits wijken and their buurten; a board member writes
the wijk's introduction. Every change is audit-logged; each use case is one transaction."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from slugify import slugify
from sqlalchemy import select

from ..accounts.models import User
from ..audit.operations import record
from ..errors import DomainError
from ..extensions import db
from ..usecase import lock_or_gone, use_case
from .models import Area, Neighbourhood, PostcodeRange

#: one postcode area or a range of them, after the text is split into parts (see below)
RANGE_RE = re.compile(r"^([1-9][0-9]{3})(?:-([1-9][0-9]{3}))?$")
#: far more than a wijk's list (the form takes 2,000 characters); checked before any parsing
POSTCODE_RANGES_MAX = 10_000


class NeighbourhoodError(DomainError):
    pass


def parse_postcode_ranges(text: str) -> list[tuple[int, int]]:
    """ "3531-3533, 3541" → [(3531, 3533), (3541, 3541)], with a Dutch message for what is wrong."""
    text = text or ""
    if len(text) > POSTCODE_RANGES_MAX:
        raise NeighbourhoodError(_("Deze lijst met postcodegebieden is te lang."))
    # without a pattern that can backtrack: commas and semicolons are spaces, spaces collapse,
    # and spaces around a dash go ("3531 - 3533" → "3531-3533"); then each part is matched
    words = text.replace(",", " ").replace(";", " ").split()
    joined = " ".join(words).replace(" -", "-").replace("- ", "-")
    ranges: list[tuple[int, int]] = []
    for part in joined.split(" "):
        if not part:
            continue
        match = RANGE_RE.match(part)
        if not match:
            raise NeighbourhoodError(
                _(
                    "'%(part)s' is geen postcodegebied. "
                    "Schrijf vier cijfers, of een reeks zoals 3531-3535.",
                    part=part,
                )
            )
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if last < first:
            raise NeighbourhoodError(_("In '%(part)s' staat het hoogste getal eerst.", part=part))
        ranges.append((first, last))
    if not ranges:
        raise NeighbourhoodError(_("Vul minstens één postcodegebied in, bijvoorbeeld 3531-3535."))
    return sorted(set(ranges))


def _unique_slug(model: type[Neighbourhood] | type[Area], base: str, **scope: int) -> str:
    slug = slugify(base, max_length=70) or "wijk"
    candidate, n = slug, 2
    while db.session.scalar(select(model.id).filter_by(slug=candidate, **scope).limit(1)):
        candidate, n = f"{slug}-{n}", n + 1
    return candidate


def _set_ranges(wijk: Neighbourhood, ranges: list[tuple[int, int]]) -> None:
    wijk.postcode_ranges = [PostcodeRange(first=a, last=b) for a, b in ranges]


def _snapshot(wijk: Neighbourhood) -> dict[str, str | None]:
    return {"naam": wijk.name, "cbs": wijk.cbs_code, "postcodes": wijk.postcodes_text}


@use_case(conflict=_l("Er is net een wijk met dezelfde naam gemaakt. Kijk in de lijst met wijken."))
def create_neighbourhood(
    actor: User | None,
    *,
    name: str,
    postcodes: str,
    cbs_code: str | None = None,
    description: str = "",
) -> Neighbourhood:
    """A new wijk with its postcode areas.

    Locks: nothing: a new row; two wijken with the same name at the same moment would get the
    same slug, and the unique slug (``uq_neighbourhood_slug``) refuses the second (409)."""
    ranges = parse_postcode_ranges(postcodes)
    wijk = Neighbourhood(
        name=name.strip(),
        slug=_unique_slug(Neighbourhood, name),
        cbs_code=(cbs_code or "").strip() or None,
        description=description.strip(),
    )
    _set_ranges(wijk, ranges)
    db.session.add(wijk)
    db.session.flush()
    record(
        "neighbourhood.create",
        actor=actor,
        role="admin",
        obj=wijk,
        neighbourhood=wijk,
        after=_snapshot(wijk),
    )
    return wijk


@use_case
def update_neighbourhood(
    actor: User, wijk: Neighbourhood, *, name: str, postcodes: str, cbs_code: str | None
) -> None:
    """Locks: the wijk (``FOR UPDATE``): two edits replace the postcode areas one after the
    other, and the audit entry's "before" is what the second one really replaced."""
    ranges = parse_postcode_ranges(postcodes)
    wijk = lock_or_gone(Neighbourhood, wijk)
    before = _snapshot(wijk)
    wijk.name = name.strip()
    wijk.cbs_code = (cbs_code or "").strip() or None
    _set_ranges(wijk, ranges)
    db.session.flush()
    record(
        "neighbourhood.update",
        actor=actor,
        role="admin",
        obj=wijk,
        neighbourhood=wijk,
        before=before,
        after=_snapshot(wijk),
    )


@use_case(conflict=_l("Deze wijk heeft al een buurt met die naam."))
def add_area(
    actor: User | None, wijk: Neighbourhood, *, name: str, cbs_code: str | None = None
) -> Area:
    """Locks: the wijk (``FOR UPDATE``), then reads its buurten: the same buurt added twice at
    once is added once (the second: the name is taken); the unique slug per wijk
    (``uq_area_neighbourhood_id_slug``) keeps it so."""
    name = name.strip()
    wijk = lock_or_gone(Neighbourhood, wijk)
    db.session.refresh(wijk, ["areas"])  # the buurten as they are now, under the lock
    if any(a.name.lower() == name.lower() for a in wijk.areas):
        raise NeighbourhoodError(_("Deze wijk heeft al een buurt met die naam."))
    area = Area(
        neighbourhood=wijk,
        name=name,
        slug=_unique_slug(Area, name, neighbourhood_id=wijk.id),
        cbs_code=(cbs_code or "").strip() or None,
    )
    db.session.add(area)
    db.session.flush()
    record(
        "area.create",
        actor=actor,
        role="admin",
        obj=area,
        neighbourhood=wijk,
        after={"naam": area.name},
    )
    return area


@use_case
def update_description(actor: User, wijk: Neighbourhood, text: str) -> None:
    """The board's introduction on the wijk page (plain text, shown with line breaks).

    Locks: the wijk (``FOR UPDATE``): the last text stays, and the audit entry's "before" is
    the text it replaced."""
    wijk = lock_or_gone(Neighbourhood, wijk)
    before = {"tekens": len(wijk.description)}
    wijk.description = text.strip()
    record(
        "neighbourhood.describe",
        actor=actor,
        role="board",
        obj=wijk,
        neighbourhood=wijk,
        before=before,
        after={"tekens": len(wijk.description)},
    )
