"""Reading buurt outlines from a GeoJSON file an admin uploads (e.g. the CBS wijk- en buurtkaart).

The file is treated as hostile. Before and while it is read:

- at most ``MAX_BYTES`` bytes, UTF-8, parsed by the standard library's ``json`` with NaN and
  Infinity refused and numbers of more than ``MAX_NUMBER_DIGITS`` digits refused;
- nesting deeper than ``MAX_DEPTH`` is refused (a very deep file is a ``RecursionError`` inside
  the parser, caught; a moderately deep one is measured after parsing, without recursion);
- at most ``MAX_FEATURES`` features and ``MAX_POSITIONS`` positions in all;
- every coordinate a finite number in range: WGS84 (longitude, latitude) or RD New
  (EPSG:28992, the Dutch national grid the CBS publishes in), told apart by the file's ``crs``
  or, without one, by the size of the numbers. RD is converted to WGS84 with the well-known
  approximation of Schreutelaar (accurate to about a metre inside the Netherlands);
- a ring has at least three different corners and an area; a ring that is not closed is closed.

What is kept is simplified for drawing (Douglas-Peucker, without recursion, to a tolerance of a
thousandth of the wijk's size, at most ``MAX_KEPT_POINTS`` corners a ring; a very long ring is
thinned first, so the slow part is bounded) and rounded to whole
micro-degrees (integers, so what is stored compares exactly). A simplified ring that crosses
itself is refused, with the buurt's name.

Pure: no Flask, no database; the messages are Dutch through ``flask_babel.gettext``, which works
outside a request as well.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from ..refusals import DomainError

MAX_BYTES = 5 * 1024 * 1024
MAX_FEATURES = 200
MAX_POSITIONS = 100_000
MAX_DEPTH = 12
MAX_NUMBER_DIGITS = 40
MAX_NAME = 120
MAX_KEPT_POINTS = 200
#: a ring longer than this is thinned (every k-th corner) before Douglas-Peucker, whose worst
#: case is quadratic: a hostile ring of 100,000 corners costs what one of 2,000 does
MAX_SIMPLIFIED_INPUT = 2_000
#: the property names a buurt's name is looked for in, in this order, when the uploader names none
NAME_PROPERTIES = ("buurtnaam", "BU_NAAM", "bu_naam", "naam", "name", "NAAM", "NAME")
E6 = 1_000_000

# RD New (Amersfoort / RD New, EPSG:28992) → WGS84: Schreutelaar's series
_X0, _Y0, _PHI0, _LAM0 = 155000.0, 463000.0, 52.15517440, 5.38720621
_K = ((0, 1, 3235.65389), (2, 0, -32.58297), (0, 2, -0.24750), (2, 1, -0.84978),
      (0, 3, -0.06550), (2, 2, -0.01709), (1, 0, -0.00738), (4, 0, 0.00530),
      (2, 3, -0.00039), (4, 1, 0.00033), (1, 1, -0.00012))  # fmt: skip
_L = ((1, 0, 5260.52916), (1, 1, 105.94684), (1, 2, 2.45656), (3, 0, -0.81885),
      (1, 3, 0.05594), (3, 1, -0.05607), (0, 1, 0.01199), (3, 2, -0.00256),
      (1, 4, 0.00128), (0, 2, 0.00022), (2, 0, -0.00022), (5, 0, 0.00026))  # fmt: skip
#: the RD grid's extent (metres), a little wider than the Netherlands
RD_X = (-7000.0, 300000.0)
RD_Y = (289000.0, 629000.0)


class OutlineError(DomainError):
    """The file cannot be used: 422 with a Dutch message (413 when it is too large)."""


class FileTooLarge(OutlineError):
    status = 413


Ring = list[tuple[int, int]]  # (lon, lat) in micro-degrees, closed (first == last)
Polygon = list[Ring]  # the outer ring, then holes


@dataclass
class Buurt:
    """One buurt read from the file: its name and its outline (one or more polygons)."""

    name: str
    polygons: list[Polygon] = field(default_factory=list)


def rd_to_wgs84(x: float, y: float) -> tuple[float, float]:
    """RD New (metres) → (longitude, latitude) in degrees, Schreutelaar's approximation."""
    dx, dy = (x - _X0) * 1e-5, (y - _Y0) * 1e-5
    phi = sum(c * dx**p * dy**q for p, q, c in _K)
    lam = sum(c * dx**p * dy**q for p, q, c in _L)
    return _LAM0 + lam / 3600.0, _PHI0 + phi / 3600.0


def _refuse_constant(name: str) -> Any:
    raise OutlineError(_("Het bestand bevat een getal dat geen getal is (%(name)s).", name=name))


def _number(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS:
        raise OutlineError(_("Het bestand bevat een getal met te veel cijfers."))
    value = float(text)
    if not math.isfinite(value):
        raise OutlineError(_("Het bestand bevat een getal dat te groot is."))
    return value


def _depth(document: Any) -> int:
    """The nesting depth of a parsed document, without recursion."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH:
                return deepest
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, dict | list))
    return deepest


def load_document(data: bytes) -> Any:
    """The parsed JSON of an upload, or an OutlineError saying in Dutch what is wrong."""
    if len(data) > MAX_BYTES:
        raise FileTooLarge(
            _("Het bestand is te groot. Het mag hoogstens %(mb)d MB zijn.", mb=MAX_BYTES // E6)
        )
    if not data.strip():
        raise OutlineError(_("Het bestand is leeg. Kies een GeoJSON-bestand met de buurten."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OutlineError(_("Dit is geen GeoJSON-bestand: het is geen tekst in UTF-8.")) from None
    try:
        document = json.loads(
            text, parse_constant=_refuse_constant, parse_float=_number, parse_int=_number
        )
    except RecursionError:
        raise OutlineError(_("Het bestand is te diep genest om een buurtkaart te zijn.")) from None
    except ValueError as error:  # json.JSONDecodeError is a ValueError, so is int() on 5000 digits
        if isinstance(error, OutlineError):
            raise
        raise OutlineError(_("Dit is geen GeoJSON-bestand: de JSON klopt niet.")) from None
    if _depth(document) > MAX_DEPTH:
        raise OutlineError(_("Het bestand is te diep genest om een buurtkaart te zijn."))
    return document


def _is_rd(document: dict[str, Any]) -> bool | None:
    """True for a file that says it is in RD New, False for one that says WGS84/CRS84, None when
    it says nothing (then the numbers decide)."""
    crs = document.get("crs")
    if not isinstance(crs, dict):
        return None
    props = crs.get("properties")
    name = str(props.get("name", "")) if isinstance(props, dict) else ""
    if "28992" in name:
        return True
    if "4326" in name or "CRS84" in name.upper():
        return False
    raise OutlineError(
        _(
            "Het bestand gebruikt een coördinatenstelsel dat we niet kennen (%(name)s). "
            "Gebruik WGS84 (lengte- en breedtegraad) of RD New (EPSG:28992).",
            name=name[:60] or "?",
        )
    )


def _name(props: Any, key: str | None, index: int) -> str:
    if not isinstance(props, dict):
        props = {}
    keys = (key,) if key else NAME_PROPERTIES
    for candidate in keys:
        value = props.get(candidate)
        if isinstance(value, str) and value.strip():
            name = " ".join(value.split())
            if len(name) > MAX_NAME or not name.isprintable():
                raise OutlineError(
                    _("De naam van gebied %(n)d is te lang of bevat vreemde tekens.", n=index)
                )
            return name
    if key:
        raise OutlineError(
            _("Gebied %(n)d heeft geen naam in het veld '%(key)s'.", n=index, key=key[:60])
        )
    raise OutlineError(
        _(
            "Gebied %(n)d heeft geen naam. Vul in welk veld de naam van de buurt bevat "
            "(bij de CBS-kaart is dat buurtnaam).",
            n=index,
        )
    )


class _Reader:
    """Reads the positions of all features, counting them against MAX_POSITIONS, and decides
    the coordinate system once, from the file's crs or its first position."""

    def __init__(self, rd: bool | None) -> None:
        self.rd = rd
        self.positions = 0

    def position(self, value: Any) -> tuple[float, float]:
        if not isinstance(value, list) or not 2 <= len(value) <= 4:
            raise OutlineError(_("Een punt in het bestand is geen paar coördinaten."))
        x, y = value[0], value[1]
        if not isinstance(x, float) or not isinstance(y, float):
            raise OutlineError(_("Een coördinaat in het bestand is geen getal."))
        self.positions += 1
        if self.positions > MAX_POSITIONS:
            raise OutlineError(
                _(
                    "Het bestand heeft te veel punten (meer dan %(n)d). Vereenvoudig de kaart "
                    "of neem alleen de buurten van deze wijk.",
                    n=MAX_POSITIONS,
                )
            )
        if self.rd is None:
            self.rd = abs(x) > 180 or abs(y) > 90
        if self.rd:
            if not (RD_X[0] <= x <= RD_X[1] and RD_Y[0] <= y <= RD_Y[1]):
                raise OutlineError(_("Een punt ligt buiten Nederland (RD-coördinaten)."))
            return rd_to_wgs84(x, y)
        if not (-180.0 <= x <= 180.0 and -85.0 <= y <= 85.0):
            raise OutlineError(_("Een punt heeft een lengte- of breedtegraad die niet kan."))
        return x, y

    def ring(self, value: Any, name: str) -> list[tuple[float, float]]:
        if not isinstance(value, list):
            raise OutlineError(_("De omtrek van %(name)s is geen lijst met punten.", name=name))
        points = [self.position(p) for p in value]
        if points and points[0] != points[-1]:
            points.append(points[0])
        if len(set(points)) < 3 or _area(points) == 0:
            raise OutlineError(_("De omtrek van %(name)s is geen vlak.", name=name))
        return points

    def polygon(self, value: Any, name: str) -> list[list[tuple[float, float]]]:
        if not isinstance(value, list) or not value:
            raise OutlineError(_("De omtrek van %(name)s is leeg.", name=name))
        return [self.ring(r, name) for r in value]


def _area(points: list[tuple[float, float]]) -> float:
    """Twice the signed area of a closed ring (shoelace)."""
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False))


def read_buurten(data: bytes, name_property: str | None = None) -> list[Buurt]:
    """The buurten of an uploaded GeoJSON file: a FeatureCollection of Polygon/MultiPolygon
    features (or a single Feature), each named by ``name_property`` (or the first of
    ``NAME_PROPERTIES`` it has). Features with the same name are one buurt."""
    document = load_document(data)
    if isinstance(document, dict) and document.get("type") == "Feature":
        features: Any = [document]
    elif isinstance(document, dict) and document.get("type") == "FeatureCollection":
        features = document.get("features")
    else:
        raise OutlineError(
            _("Dit is geen GeoJSON-bestand met gebieden (een FeatureCollection verwacht).")
        )
    if not isinstance(features, list) or not features:
        raise OutlineError(_("Het bestand bevat geen gebieden."))
    if len(features) > MAX_FEATURES:
        raise OutlineError(
            _("Het bestand bevat te veel gebieden (meer dan %(n)d).", n=MAX_FEATURES)
        )
    reader = _Reader(_is_rd(document))
    raw: dict[str, tuple[str, list[list[list[tuple[float, float]]]]]] = {}
    for index, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise OutlineError(_("Gebied %(n)d is geen GeoJSON-Feature.", n=index))
        name = _name(feature.get("properties"), (name_property or "").strip() or None, index)
        geometry = feature.get("geometry")
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if kind == "Polygon":
            polygons = [reader.polygon(coordinates, name)]
        elif kind == "MultiPolygon" and isinstance(coordinates, list) and coordinates:
            polygons = [reader.polygon(p, name) for p in coordinates]
        else:
            raise OutlineError(_("%(name)s is geen vlak (Polygon of MultiPolygon).", name=name))
        raw.setdefault(name.lower(), (name, []))[1].extend(polygons)
    return _simplified(list(raw.values()))


def _simplified(raw: list[tuple[str, list[list[list[tuple[float, float]]]]]]) -> list[Buurt]:
    xs = [x for _n, polys in raw for poly in polys for x, _y in poly[0]]
    ys = [y for _n, polys in raw for poly in polys for _x, y in poly[0]]
    tolerance = max(max(xs) - min(xs), max(ys) - min(ys)) / 1000.0
    buurten = []
    for name, polygons in raw:
        buurt = Buurt(name)
        for polygon in polygons:
            rings = [_to_e6(simplify(ring, tolerance)) for ring in polygon]
            rings = [r for r in rings if len(set(r)) >= 3]
            if not rings or len(rings[0]) < 4:
                raise OutlineError(_("De omtrek van %(name)s is geen vlak.", name=name))
            for ring in rings:
                if crosses_itself(ring):
                    raise OutlineError(
                        _("De omtrek van %(name)s snijdt zichzelf. Controleer de kaart.", name=name)
                    )
            buurt.polygons.append(rings)
        buurten.append(buurt)
    return buurten


def _to_e6(points: list[tuple[float, float]]) -> Ring:
    ring: Ring = []
    for x, y in points:
        point = (round(x * E6), round(y * E6))
        if not ring or ring[-1] != point:
            ring.append(point)
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    return ring


def simplify(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Douglas-Peucker on a closed ring, with a stack instead of recursion; the tolerance grows
    (fourfold each time) until at most MAX_KEPT_POINTS corners are left. A ring of more than
    MAX_SIMPLIFIED_INPUT corners is thinned first (every k-th, the closing corner kept)."""
    if len(points) > MAX_SIMPLIFIED_INPUT:
        step = -(-len(points) // MAX_SIMPLIFIED_INPUT)
        points = [*points[:-1:step], points[-1]]
    while True:
        kept = _douglas_peucker(points, tolerance)
        if len(kept) <= MAX_KEPT_POINTS or tolerance <= 0:
            return kept
        tolerance *= 4


def _douglas_peucker(
    points: list[tuple[float, float]], tolerance: float
) -> list[tuple[float, float]]:
    if len(points) <= 4:
        return points
    # a closed ring: split at the point farthest from the first, so both halves are open lines
    first = points[0]
    far = max(
        range(len(points)),
        key=lambda i: (points[i][0] - first[0]) ** 2 + (points[i][1] - first[1]) ** 2,
    )
    keep = [False] * len(points)
    keep[0] = keep[far] = keep[-1] = True
    stack = [(0, far), (far, len(points) - 1)]
    while stack:
        start, end = stack.pop()
        if end - start < 2:
            continue
        (ax, ay), (bx, by) = points[start], points[end]
        dx, dy = bx - ax, by - ay
        length = math.hypot(dx, dy)
        best, best_i = -1.0, start
        for i in range(start + 1, end):
            px, py = points[i]
            if length == 0:
                d = math.hypot(px - ax, py - ay)
            else:
                d = abs(dy * px - dx * py + bx * ay - by * ax) / length
            if d > best:
                best, best_i = d, i
        if best > tolerance:
            keep[best_i] = True
            stack.append((start, best_i))
            stack.append((best_i, end))
    return [p for p, k in zip(points, keep, strict=True) if k]


def _segments_cross(
    a: tuple[int, int], b: tuple[int, int], c: tuple[int, int], d: tuple[int, int]
) -> bool:
    def orient(p: tuple[int, int], q: tuple[int, int], r: tuple[int, int]) -> int:
        value = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
        return (value > 0) - (value < 0)

    o1, o2, o3, o4 = orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b)
    return o1 * o2 < 0 and o3 * o4 < 0


def crosses_itself(ring: Ring) -> bool:
    """Whether two edges of a closed ring cross (properly; touching corners do not count)."""
    edges = list(zip(ring, ring[1:], strict=False))
    n = len(edges)
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # the first and the last edge share the closing corner
            if _segments_cross(*edges[i], *edges[j]):
                return True
    return False


def contains(polygon: Polygon, lon: int, lat: int) -> bool:
    """Whether the point (micro-degrees) lies inside the polygon (even-odd over its rings, so a
    hole is outside)."""
    inside = False
    for ring in polygon:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
            if (y1 > lat) != (y2 > lat):
                x_cross = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
                if lon < x_cross:
                    inside = not inside
    return inside


def centroid(polygons: list[Polygon]) -> tuple[int, int]:
    """The centre of the largest polygon's outer ring (area-weighted), in micro-degrees; when
    that centre lies outside the polygon (a bent buurt), the middle of its widest inside span."""
    outer = max(
        (p[0] for p in polygons), key=lambda r: abs(_area([(float(x), float(y)) for x, y in r]))
    )
    a = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(outer, outer[1:], strict=False):
        cross = float(x1) * y2 - float(x2) * y1
        a += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    if a == 0:
        return outer[0]
    point = (round(cx / (3 * a)), round(cy / (3 * a)))
    polygon = next(p for p in polygons if p[0] is outer)
    if contains(polygon, *point):
        return point
    lat = point[1]
    crossings = sorted(
        x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
        for (x1, y1), (x2, y2) in zip(outer, outer[1:], strict=False)
        if (y1 > lat) != (y2 > lat)
    )
    spans = list(zip(crossings[::2], crossings[1::2], strict=False))
    if not spans:
        return outer[0]
    left, right = max(spans, key=lambda s: s[1] - s[0])
    return round((left + right) / 2), lat
