"""The map of a wijk, drawn as SVG on the server: what is where (``WijkMap``: the buurten, each
with the proposals or projects placed in it, and those for the whole wijk), and how it is drawn
(``Projection``: lon/lat in micro-degrees ↔ pixels of a picture ``WIDTH`` wide).

One ``WijkMap`` feeds the picture and the list beside it, so the two say the same: every marker's
number is the number in the list. The picture has a fixed size in pixels, so a click on it (an
``<input type="image">`` sends ``x`` and ``y`` in the picture's pixels) maps back to a point:
``Projection.to_lonlat``. Pure: no Flask, no database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .geojson import Polygon, contains

WIDTH = 320
MAX_HEIGHT = 400
MIN_HEIGHT = 160
PAD = 12
#: the most markers one map draws (and its list shows); more are left off, and the page says so
MAX_MARKERS = 150


@dataclass
class Entry:
    """A proposal or project on the map: its number on the map and in the list."""

    title: str
    url: str
    kind: str  # "voorstel" or "project"
    point: tuple[int, int] | None = None  # picked on the map; else placed at its buurt's label
    number: int = 0
    drawn: bool = False  # False in a buurt without an outline: listed, not drawn
    x: float = 0.0
    y: float = 0.0


@dataclass
class MapBuurt:
    area_id: int
    name: str
    polygons: list[Polygon]
    label: tuple[int, int]
    entries: list[Entry] = field(default_factory=list)
    selected: bool = False
    path: str = ""
    label_xy: tuple[float, float] = (0.0, 0.0)


@dataclass
class Projection:
    """Equirectangular, longitude shrunk by the cosine of the middle latitude (fine for a wijk)."""

    min_lon: int
    max_lat: int
    scale: float  # pixels per micro-degree of latitude
    shrink: float  # cos(latitude)
    x0: float
    height: int
    width: int = WIDTH

    @classmethod
    def fit(cls, polygons: list[Polygon]) -> Projection:
        xs = [x for poly in polygons for x, _y in poly[0]]
        ys = [y for poly in polygons for _x, y in poly[0]]
        min_lon, max_lon, min_lat, max_lat = min(xs), max(xs), min(ys), max(ys)
        shrink = math.cos(math.radians((min_lat + max_lat) / 2e6))
        wide = max((max_lon - min_lon) * shrink, 1.0)
        high = max(max_lat - min_lat, 1.0)
        scale = min((WIDTH - 2 * PAD) / wide, (MAX_HEIGHT - 2 * PAD) / high)
        height = max(MIN_HEIGHT, round(high * scale + 2 * PAD))
        x0 = (WIDTH - wide * scale) / 2
        top = PAD + (height - 2 * PAD - high * scale) / 2  # centred when MIN_HEIGHT is taller
        return cls(min_lon, max_lat + round((top - PAD) / scale), scale, shrink, x0, height)

    def to_xy(self, lon: int, lat: int) -> tuple[float, float]:
        return (
            self.x0 + (lon - self.min_lon) * self.shrink * self.scale,
            PAD + (self.max_lat - lat) * self.scale,
        )

    def to_lonlat(self, x: float, y: float) -> tuple[int, int]:
        return (
            round(self.min_lon + (x - self.x0) / (self.shrink * self.scale)),
            round(self.max_lat - (y - PAD) / self.scale),
        )


@dataclass
class WijkMap:
    buurten: list[MapBuurt]
    whole_wijk: list[Entry] = field(default_factory=list)  # entries with no buurt
    left_off: int = 0
    projection: Projection | None = None

    @property
    def drawn(self) -> bool:
        return self.projection is not None

    @property
    def markers(self) -> list[Entry]:
        return [e for b in self.buurten for e in b.entries if e.drawn]

    def buurt_at(self, lon: int, lat: int) -> MapBuurt | None:
        """The buurt the point lies in, or None."""
        for buurt in self.buurten:
            if any(contains(poly, lon, lat) for poly in buurt.polygons):
                return buurt
        return None

    def layout(self) -> WijkMap:
        """Numbers every entry in the order of the list, and works out the pixels of the
        outlines, labels and markers."""
        number = 0
        for buurt in self.buurten:
            for entry in buurt.entries:
                number += 1
                entry.number = number
        for entry in self.whole_wijk:
            number += 1
            entry.number = number
        polygons = [p for b in self.buurten for p in b.polygons]
        if not polygons:
            return self
        projection = self.projection = Projection.fit(polygons)
        for buurt in self.buurten:
            if not buurt.polygons:
                continue
            buurt.path = " ".join(
                "M"
                + " L".join(
                    f"{x:.1f},{y:.1f}" for x, y in (projection.to_xy(*p) for p in ring[:-1])
                )
                + " Z"
                for poly in buurt.polygons
                for ring in poly
            )
            buurt.label_xy = projection.to_xy(*buurt.label)
            unplaced = 0
            for entry in buurt.entries:
                entry.drawn = True
                if entry.point is not None:
                    entry.x, entry.y = projection.to_xy(*entry.point)
                else:  # in a row under the buurt's name, four to a row
                    lx, ly = buurt.label_xy
                    entry.x = lx + ((unplaced % 4) - 1.5) * 15
                    entry.y = ly + 12 + (unplaced // 4) * 15
                    unplaced += 1
        return self


def build(
    outlines: list[tuple[int, str, list[Polygon], tuple[int, int] | None]],
    entries: list[tuple[int | None, Entry]],
    *,
    selected: int | None = None,
) -> WijkMap:
    """The map of the wijk's buurten (area id, name, polygons, label point; a buurt without an
    outline has no polygons and no label) with ``entries`` (the area id each is in, or None for
    the whole wijk). A point picked on the map decides its
    buurt; an entry in a buurt without an outline is listed under that buurt's name. At most
    MAX_MARKERS entries."""
    buurten = [
        MapBuurt(area_id, name, polygons, label or (0, 0), selected=area_id == selected)
        for area_id, name, polygons, label in outlines
    ]
    by_id = {b.area_id: b for b in buurten}
    wijk_map = WijkMap(buurten)
    kept = entries[:MAX_MARKERS]
    wijk_map.left_off = len(entries) - len(kept)
    for area_id, entry in kept:
        buurt = by_id.get(area_id) if area_id is not None else None
        if buurt is None and entry.point is not None:
            buurt = wijk_map.buurt_at(*entry.point)
        if buurt is None:
            entry.point = None
            wijk_map.whole_wijk.append(entry)
        else:
            if entry.point is not None and not any(
                contains(p, *entry.point) for p in buurt.polygons
            ):
                entry.point = None  # the buurt changed after the point was picked
            buurt.entries.append(entry)
    return wijk_map.layout()
