"""The map of a wijk: GeoJSON outlines uploaded by the admin (good and hostile files), the SVG
drawn on the server, a point picked on the map that maps back to its buurt, the list beside the
map that says the same, cross-wijk 404s, who may do what, and GETs that write nothing."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.test_get_writes_nothing import watching
from wijkbudget.extensions import db
from wijkbudget.maps import drawing, geojson
from wijkbudget.maps.geojson import OutlineError, rd_to_wgs84, read_buurten
from wijkbudget.maps.models import AreaOutline, ProposalPlace
from wijkbudget.maps.operations import upload_outlines
from wijkbudget.maps.queries import outlines, round_map
from wijkbudget.neighbourhoods.models import Area
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Phase

# two buurten side by side (west: Lombok, east: Oog in Al) and a third, new one to the north
SQUARES = {
    "Lombok": [[5.090, 52.085], [5.100, 52.085], [5.100, 52.095], [5.090, 52.095]],
    "Oog in Al": [[5.100, 52.085], [5.110, 52.085], [5.110, 52.095], [5.100, 52.095]],
    "Nieuw Engeland": [[5.090, 52.095], [5.110, 52.095], [5.110, 52.100], [5.090, 52.100]],
}


def feature(name: str, ring: list[list[float]], key: str = "buurtnaam") -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {key: name},
        "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
    }


def collection(*features: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features), **extra}).encode()


GOOD = collection(*(feature(n, r) for n, r in SQUARES.items()))


def upload_file(client: Any, slug: str, data: bytes, name_property: str = "") -> Any:
    page = f"/beheer/wijken/{slug}/kaart"
    return client.post(
        page,
        {"outlines": (io.BytesIO(data), "buurten.geojson"), "name_property": name_property},
        page=page,
        content_type="multipart/form-data",
    )


# --- reading the file ---------------------------------------------------------------------------


def test_reads_wgs84_buurten_with_the_name_found(app):
    buurten = read_buurten(GOOD)
    assert [b.name for b in buurten] == list(SQUARES)
    ring = buurten[0].polygons[0][0]
    assert ring[0] == ring[-1] == (5_090_000, 52_085_000)
    assert len(ring) == 5


def test_the_uploader_names_the_property(app):
    data = collection(feature("Lombok", SQUARES["Lombok"], key="BU_LABEL"))
    assert read_buurten(data, "BU_LABEL")[0].name == "Lombok"
    with pytest.raises(OutlineError, match="geen naam in het veld 'buurtnaam'"):
        read_buurten(data, "buurtnaam")
    with pytest.raises(OutlineError, match="heeft geen naam"):
        read_buurten(data)


def test_rd_new_is_converted_to_wgs84(app):
    lon, lat = rd_to_wgs84(155000, 463000)  # Amersfoort, the origin of the grid
    assert (round(lon, 6), round(lat, 6)) == (5.387206, 52.155174)
    lon, lat = rd_to_wgs84(120700.723, 487525.501)  # the Westertoren in Amsterdam
    assert abs(lon - 4.88352559) < 1e-5 and abs(lat - 52.37453253) < 1e-5
    square = [
        [135000.0, 455000.0],
        [136000.0, 455000.0],
        [136000.0, 456000.0],
        [135000.0, 456000.0],
    ]
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}
    for data in (
        collection(feature("Lombok", square), crs=crs),
        collection(feature("Lombok", square)),
    ):
        ring = read_buurten(data)[0].polygons[0][0]
        assert all(5_090_000 < x < 5_120_000 and 52_080_000 < y < 52_095_000 for x, y in ring)


def test_an_unclosed_ring_is_closed_and_features_of_one_name_are_one_buurt(app):
    ring = SQUARES["Lombok"]
    unclosed = {"type": "Feature", "properties": {"naam": "Lombok"},
                "geometry": {"type": "Polygon", "coordinates": [ring]}}  # fmt: skip
    other = feature("LOMBOK", SQUARES["Oog in Al"], key="naam")
    buurten = read_buurten(collection(unclosed, other))
    assert len(buurten) == 1 and len(buurten[0].polygons) == 2


HOSTILE = [
    (b"", "leeg"),
    (b"\xff\xfe\x00garbage", "geen tekst in UTF-8"),
    (b'{"type": "FeatureCollection", "features": [', "de JSON klopt niet"),
    (b"[" * 100_000 + b"]" * 100_000, "te diep genest"),
    (json.dumps({"a": [[[[[[[[[[[[[[1]]]]]]]]]]]]]]}).encode(), "te diep genest"),
    (b'{"type": "FeatureCollection", "features": [], "x": NaN}', "geen getal"),
    (b'{"type": "FeatureCollection", "features": [], "x": -Infinity}', "geen getal"),
    (b'{"type": "FeatureCollection", "features": [], "x": 1e999}', "te groot"),
    (
        b'{"type": "FeatureCollection", "features": [], "x": ' + b"9" * 5000 + b"}",
        "te veel cijfers",
    ),
    (json.dumps({"type": "Topology"}).encode(), "geen GeoJSON-bestand met gebieden"),
    (collection(), "geen gebieden"),
    (
        collection(*[feature(f"B{i}", SQUARES["Lombok"]) for i in range(geojson.MAX_FEATURES + 1)]),
        "te veel gebieden",
    ),  # fmt: skip
    (
        collection(
            {
                "type": "Feature",
                "properties": {"naam": "Punt"},
                "geometry": {"type": "Point", "coordinates": [5.1, 52.1]},
            }
        ),
        "geen vlak",
    ),  # fmt: skip
    (collection(feature("Streep", [[5.09, 52.08], [5.10, 52.08], [5.11, 52.08]])), "geen vlak"),
    (
        collection(feature("Strik", [[5.09, 52.08], [5.11, 52.10], [5.11, 52.08], [5.09, 52.09]])),
        "snijdt zichzelf",
    ),  # fmt: skip
    (collection(feature("Maan", [[5.09, 95.0], [5.10, 95.0], [5.10, 96.0]])), "buiten Nederland"),
    (collection(feature("Ver", [[170.0, 80.0], [179.0, 80.0], [200.0, 84.0]])), "die niet kan"),
    (collection(feature("Lombok", [[5.09, "52"], [5.10, 52.08], [5.11, 52.09]])), "geen getal"),
    (
        collection(
            feature("Lombok", SQUARES["Lombok"]),
            crs={"type": "name", "properties": {"name": "EPSG:3857"}},
        ),
        "coördinatenstelsel",
    ),  # fmt: skip
    (collection(feature("x" * 200, SQUARES["Lombok"])), "te lang"),
    (collection(feature("Lom\x00bok", SQUARES["Lombok"])), "vreemde tekens"),
]


@pytest.mark.parametrize(("data", "message"), HOSTILE)
def test_hostile_files_are_refused_in_dutch(app, data, message):
    with pytest.raises(OutlineError) as refused:
        read_buurten(data)
    assert message in refused.value.message
    assert refused.value.status == 422


def test_too_many_positions_and_too_many_bytes(app, monkeypatch):
    many = [[5.1, 52.1]] * (geojson.MAX_POSITIONS + 5)
    with pytest.raises(OutlineError, match="te veel punten"):
        read_buurten(collection(feature("Groot", many)))
    monkeypatch.setattr(geojson, "MAX_BYTES", 100)
    with pytest.raises(geojson.FileTooLarge) as refused:
        read_buurten(GOOD)
    assert refused.value.status == 413


def test_a_detailed_outline_is_simplified(app):
    import math

    circle = [
        [5.1 + 0.01 * math.cos(t / 5000 * math.tau), 52.09 + 0.006 * math.sin(t / 5000 * math.tau)]
        for t in range(5000)
    ]
    ring = read_buurten(collection(feature("Rond", circle)))[0].polygons[0][0]
    assert 8 < len(ring) <= geojson.MAX_KEPT_POINTS + 1


# --- the upload ---------------------------------------------------------------------------------


def test_admin_uploads_the_map_and_a_new_buurt_is_added(app, west, admin_client):
    response = upload_file(admin_client, "west", GOOD)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    names = {
        a.name for a in db.session.scalars(select(Area).where(Area.neighbourhood_id == west.id))
    }
    assert names == {"Lombok", "Oog in Al", "Nieuw Engeland"}
    assert db.session.scalar(select(func.count()).select_from(AreaOutline)) == 3
    # again, with two buurten: the map is replaced whole, no buurt is lost
    response = upload_file(admin_client, "west", collection(feature("Lombok", SQUARES["Lombok"])))
    assert response.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(AreaOutline)) == 1
    assert (
        db.session.scalar(
            select(func.count()).select_from(Area).where(Area.neighbourhood_id == west.id)
        )
        == 3
    )


def test_a_hostile_upload_is_refused_and_stores_nothing(app, west, admin_client):
    response = upload_file(
        admin_client, "west", b'{"type": "FeatureCollection", "features": [], "x": NaN}'
    )
    assert response.status_code == 422
    assert "geen getal" in response.get_data(as_text=True)
    response = upload_file(admin_client, "west", b"")
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(AreaOutline)) == 0


def test_only_the_admin_uploads(app, west, board, make_client):
    client = make_client()
    client.login(board.email)
    assert client.get("/beheer/wijken/west/kaart").status_code == 403
    assert upload_file(client, "west", GOOD).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(AreaOutline)) == 0


# --- the map and the list -----------------------------------------------------------------------


@pytest.fixture
def mapped(west, oost, make_user, make_round, make_proposal):
    upload_outlines(None, west, read_buurten(GOOD))
    areas = {
        a.name: a for a in db.session.scalars(select(Area).where(Area.neighbourhood_id == west.id))
    }
    author = make_user("auteur@example.org", wijk=west)
    rnd = make_round(west)
    first = make_proposal(rnd, author, title="Bankje <b>", area=areas["Lombok"])
    second = make_proposal(rnd, author, title="Boom", area=areas["Oog in Al"])
    make_proposal(rnd, author, title="Feest", area=None)
    make_proposal(rnd, author, State.CONCEPT, title="Geheim concept", area=areas["Lombok"])
    return {"west": west, "oost": oost, "areas": areas, "author": author, "round": rnd,
            "first": first, "second": second}  # fmt: skip


def svg_markers(page: str) -> dict[int, str]:
    return {int(n): t for n, t in re.findall(r"<title>(\d+)\. ([^<]*)</title>", page)}


def list_entries(page: str) -> dict[int, str]:
    return {int(n): t for n, t in re.findall(r'<li value="(\d+)"><a [^>]*>([^<]*)</a>', page)}


def test_the_round_map_is_drawn_with_a_list_that_says_the_same(app, mapped, client):
    rnd = mapped["round"]
    response = client.get(f"/wijk/west/rondes/{rnd.id}/kaart")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(
        r'<svg class="wijk-map" role="img" aria-labelledby="kaart-title kaart-desc"', page
    )
    assert '<title id="kaart-title">Kaart van wijk West</title>' in page
    assert page.count('class="map-buurt"') == 3
    assert "Bankje &lt;b&gt;" in page and "<b>" not in page.split("<main", 1)[-1]
    markers, listed = svg_markers(page), list_entries(page)
    assert markers == {1: "Bankje &lt;b&gt;", 2: "Boom"}  # drawn: the two in a buurt
    assert listed == {1: "Bankje &lt;b&gt;", 2: "Boom", 3: "Feest"}  # the whole wijk: listed
    assert "Geheim concept" not in page
    assert "De hele wijk" in page


def test_filter_by_buurt(app, mapped, client):
    rnd, areas = mapped["round"], mapped["areas"]
    page = client.get(f"/wijk/west/rondes/{rnd.id}/kaart?buurt={areas['Oog in Al'].id}").get_data(
        as_text=True
    )
    assert list_entries(page) == {1: "Boom"}
    assert page.count('fill="#cfe3ff"') == 1  # the chosen buurt marked
    # another wijk's buurt (or nonsense) filters nothing
    oudwijk = mapped["oost"].areas[0].id
    for value in (str(oudwijk), "x", "99999999999"):
        page = client.get(f"/wijk/west/rondes/{rnd.id}/kaart?buurt={value}").get_data(as_text=True)
        assert len(list_entries(page)) == 3


def test_cross_wijk_is_not_found(app, mapped, client):
    rnd = mapped["round"]
    assert client.get(f"/wijk/oost/rondes/{rnd.id}/kaart").status_code == 404
    assert client.get("/wijk/nergens/kaart").status_code == 404


def test_the_wijk_map_without_outlines_says_so(app, oost, client):
    page = client.get("/wijk/oost/kaart").get_data(as_text=True)
    assert "nog geen kaart" in page and "<svg" not in page


# --- picking a point ----------------------------------------------------------------------------


def pixel_of(area_name: str, mapped: dict[str, Any]) -> tuple[int, int]:
    """The pixel of a buurt's label point on the picker's picture."""
    the_map = round_map(mapped["round"])
    buurt = next(b for b in the_map.buurten if b.name == area_name)
    assert the_map.projection is not None
    x, y = the_map.projection.to_xy(*buurt.label)
    return round(x), round(y)


def pick(client: Any, proposal_id: int, x: int, y: int) -> Any:
    page = f"/voorstellen/{proposal_id}/plek"
    return client.post(page, {"kaart.x": str(x), "kaart.y": str(y)}, page=page)


def test_a_point_picked_on_the_map_maps_back_to_its_buurt(app, mapped, make_client):
    client = make_client()
    client.login("auteur@example.org")
    first = mapped["first"]
    page = client.get(f"/voorstellen/{first.id}/plek").get_data(as_text=True)
    assert '<input type="image" name="kaart"' in page
    picture = client.get(f"/voorstellen/{first.id}/plek/kaart.svg")
    assert picture.status_code == 200 and picture.mimetype == "image/svg+xml"
    assert picture.get_data(as_text=True).count('class="map-buurt"') == 3

    x, y = pixel_of("Oog in Al", mapped)
    response = pick(client, first.id, x, y)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    db.session.expire_all()
    place = db.session.get(ProposalPlace, first.id)
    assert place is not None
    assert db.session.get(type(first), first.id).area_id == mapped["areas"]["Oog in Al"].id
    # the point is where the click was: drawn back onto the same pixel
    the_map = round_map(mapped["round"])
    back = the_map.projection.to_xy(place.lon, place.lat)
    assert abs(back[0] - x) < 0.5 and abs(back[1] - y) < 0.5
    assert the_map.buurt_at(place.lon, place.lat).name == "Oog in Al"
    # the round map draws it at its point, in its buurt
    marker = next(e for b in the_map.buurten for e in b.entries if e.title == "Bankje <b>")
    assert marker.point == (place.lon, place.lat) and abs(marker.x - x) < 0.5

    # and the point goes again; the buurt stays
    done = client.post(
        f"/voorstellen/{first.id}/plek/weghalen", {}, page=f"/voorstellen/{first.id}/plek"
    )
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(ProposalPlace, first.id) is None
    assert db.session.get(type(first), first.id).area_id == mapped["areas"]["Oog in Al"].id


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (0, 0, "Klik op de kaart"),  # the keyboard's "click"
        (1, 1, "niet in een buurt"),  # a corner outside every buurt
        (5000, 10, "Klik op de kaart"),  # beyond the picture
        ("abc", "1", "Klik op de kaart"),
    ],
)
def test_a_click_outside_the_buurten_is_refused(app, mapped, make_client, x, y, message):
    client = make_client()
    client.login("auteur@example.org")
    response = pick(client, mapped["first"].id, x, y)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ProposalPlace)) == 0


def test_only_an_author_picks_and_only_before_voting(app, mapped, make_user, make_client):
    other = make_user("ander@example.org", wijk=mapped["west"])
    client = make_client()
    client.login(other.email)
    first = mapped["first"]
    x, y = pixel_of("Lombok", mapped)
    assert client.get(f"/voorstellen/{first.id}/plek").status_code == 403
    assert client.get(f"/voorstellen/{first.id}/plek/kaart.svg").status_code == 403
    assert pick(client, first.id, x, y).status_code == 403
    anonymous = make_client()
    assert anonymous.get(f"/voorstellen/{first.id}/plek").status_code in (302, 303)
    # voting has begun: the author may no longer move it
    mapped["round"].phase = Phase.VOTING
    db.session.commit()
    author = make_client()
    author.login("auteur@example.org")
    response = pick(author, first.id, x, y)
    assert response.status_code in (403, 422)
    assert db.session.scalar(select(func.count()).select_from(ProposalPlace)) == 0


def test_gets_write_nothing(app, mapped, make_client):
    author = make_client()
    author.login("auteur@example.org")
    visitor = make_client()
    rnd, first = mapped["round"], mapped["first"]
    urls = [
        (author, f"/voorstellen/{first.id}/plek"),
        (author, f"/voorstellen/{first.id}/plek/kaart.svg"),
        (author, f"/wijk/west/rondes/{rnd.id}/kaart"),
        (visitor, "/wijk/west/kaart"),
        (visitor, f"/wijk/west/rondes/{rnd.id}/kaart?buurt={mapped['areas']['Lombok'].id}"),
    ]
    for client, url in urls:
        with watching() as watch:
            response = client.get(url)
        assert response.status_code == 200, url
        assert watch.writes() == [] and watch.commits == 0, url


def test_the_funded_projects_on_the_wijk_map(app, mapped, board, make_user, client):
    from wijkbudget.spending.models import FundedProject  # only this test makes one

    first = mapped["first"]
    first.state = State.CHOSEN
    db.session.add(
        FundedProject(
            proposal_id=first.id, round_id=mapped["round"].id,
            neighbourhood_id=mapped["west"].id, granted_cents=first.cost_cents,
        )
    )  # fmt: skip
    db.session.commit()
    page = client.get("/wijk/west/kaart").get_data(as_text=True)
    assert svg_markers(page) == {1: "Bankje &lt;b&gt;"}
    assert list_entries(page) == {1: "Bankje &lt;b&gt;"}
    assert 'fill="#0a4f8a"' in page  # a project's marker
    # and on the wijk's money page
    money = client.get("/wijk/west/geld").get_data(as_text=True)
    assert svg_markers(money) == {1: "Bankje &lt;b&gt;"} == list_entries(money)


def test_the_layout_numbers_the_map_and_the_list_alike(app):
    buurten = read_buurten(GOOD)
    polys = [(i, b.name, b.polygons, geojson.centroid(b.polygons)) for i, b in enumerate(buurten)]
    entries = [(i % 3, drawing.Entry(f"V{i}", "", "voorstel")) for i in range(7)] + [
        (None, drawing.Entry("Overal", "", "voorstel"))
    ]
    the_map = drawing.build(polys, entries)
    assert [e.number for b in the_map.buurten for e in b.entries] == list(range(1, 8))
    assert [e.number for e in the_map.whole_wijk] == [8]
    for buurt in the_map.buurten:  # each label point lies in its own buurt
        assert the_map.buurt_at(*buurt.label) is buurt


def test_demo_has_a_map_with_proposals_placed(app):
    from wijkbudget.demo import seed_demo_data  # the demo: slow, only here

    seed_demo_data()
    wijk_outlines = [o for o in outlines_of_demo() if o[2]]
    assert len(wijk_outlines) == 4
    assert db.session.scalar(select(func.count()).select_from(ProposalPlace)) >= 3


def outlines_of_demo() -> list[Any]:
    from wijkbudget.neighbourhoods.models import Neighbourhood  # only the demo test

    west = db.session.scalar(select(Neighbourhood).where(Neighbourhood.name == "West"))
    return outlines(west)
