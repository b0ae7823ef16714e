"""The map's use case of the admin: the buurt outlines of a wijk, read from a GeoJSON file
(``geojson.read_buurten``, before the transaction: slow work holds no lock), replace the wijk's
outlines in one transaction. A buurt in the file that the wijk does not have yet is added."""

from __future__ import annotations

from dataclasses import dataclass

from slugify import slugify
from sqlalchemy import delete, select

from ..accounts.models import User
from ..audit.operations import record
from ..extensions import db
from ..neighbourhoods.models import Area, Neighbourhood
from ..usecase import lock_or_gone, use_case
from .geojson import Buurt, centroid
from .models import AreaOutline


@dataclass(frozen=True)
class Uploaded:
    outlines: int  # buurten with an outline now
    added: list[str]  # buurten the file brought that the wijk did not have


def _slug(name: str, taken: set[str]) -> str:
    base = slugify(name, max_length=70) or "buurt"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


@use_case
def upload_outlines(actor: User | None, wijk: Neighbourhood, buurten: list[Buurt]) -> Uploaded:
    """The wijk's map becomes the buurten of the file: every outline is replaced, a buurt
    named in the file that the wijk lacks is added (matched by name, without regard to case).

    Locks: the wijk (``FOR UPDATE``), then reads its buurten: two uploads at once replace the
    outlines one after the other (the last one wins whole, never a mix), and a buurt added by
    both is added once (``uq_area_neighbourhood_id_slug`` keeps it so, as ``add_area`` does)."""
    wijk = lock_or_gone(Neighbourhood, wijk)
    areas = list(db.session.scalars(select(Area).where(Area.neighbourhood_id == wijk.id)))
    by_name = {a.name.lower(): a for a in areas}
    taken = {a.slug for a in areas}
    db.session.execute(delete(AreaOutline).where(AreaOutline.neighbourhood_id == wijk.id))
    added = []
    for buurt in buurten:
        area = by_name.get(buurt.name.lower())
        if area is None:
            area = Area(neighbourhood_id=wijk.id, name=buurt.name, slug=_slug(buurt.name, taken))
            db.session.add(area)
            db.session.flush()
            by_name[buurt.name.lower()] = area
            added.append(buurt.name)
            record(
                "area.create", actor=actor, role="admin", obj=area, neighbourhood=wijk,
                after={"naam": area.name},
            )  # fmt: skip
        label = centroid(buurt.polygons)
        db.session.add(
            AreaOutline(
                area_id=area.id,
                neighbourhood_id=wijk.id,
                shape=AreaOutline.shape_of(buurt.polygons),
                label_lon=label[0],
                label_lat=label[1],
            )
        )
    db.session.flush()
    record(
        "neighbourhood.map",
        actor=actor,
        role="admin",
        obj=wijk,
        neighbourhood=wijk,
        after={"buurten": ", ".join(b.name for b in buurten)[:500], "nieuw": len(added)},
    )
    db.session.expire(wijk, ["areas"])
    return Uploaded(len(buurten), added)
