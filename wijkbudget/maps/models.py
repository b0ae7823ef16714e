"""The stored map: a buurt's outline (simplified, in micro-degrees) and a proposal's point."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model, UTCDateTime, utcnow
from .geojson import Polygon

#: micro-degrees: longitude within ±180°, latitude within ±85°
LON_CHECK = "BETWEEN -180000000 AND 180000000"
LAT_CHECK = "BETWEEN -85000000 AND 85000000"


class AreaOutline(Model):
    """The outline of one buurt (``area``), as drawn: polygons of closed rings of (lon, lat)
    in micro-degrees, JSON in ``shape``; its label point; the wijk it belongs to (for one
    query per map). Replaced as a whole when the admin uploads the wijk's map again."""

    __tablename__ = "area_outline"
    __table_args__ = (
        CheckConstraint(f"label_lon {LON_CHECK} AND label_lat {LAT_CHECK}", name="label"),
    )

    area_id: Mapped[int] = mapped_column(
        ForeignKey("area.id", ondelete="CASCADE"), primary_key=True
    )
    neighbourhood_id: Mapped[int] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="CASCADE"), index=True
    )
    shape: Mapped[str] = mapped_column(Text)
    label_lon: Mapped[int]
    label_lat: Mapped[int]
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def polygons(self) -> list[Polygon]:
        return [[[(x, y) for x, y in ring] for ring in poly] for poly in json.loads(self.shape)]

    @staticmethod
    def shape_of(polygons: list[Polygon]) -> str:
        return json.dumps([[[list(p) for p in ring] for ring in poly] for poly in polygons])


class ProposalPlace(Model):
    """The point an author picked on the map for a proposal (micro-degrees), inside one of the
    wijk's buurten: the proposal's buurt is set to that buurt in the same use case."""

    __tablename__ = "proposal_place"
    __table_args__ = (CheckConstraint(f"lon {LON_CHECK} AND lat {LAT_CHECK}", name="point"),)

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposal.id", ondelete="CASCADE"), primary_key=True
    )
    lon: Mapped[int]
    lat: Mapped[int]
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
