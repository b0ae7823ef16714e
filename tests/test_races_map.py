"""Races on the map, against the real PostgreSQL: several tabs of one author pick a point for the
same proposal at once (one point remains, in the buurt the proposal then has); several admins
upload different maps of one wijk at once (one file's outlines win whole, never a mix, and a buurt
a file brings is added once); no request gets a 5xx."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import select

from tests.concurrency import (
    assert_no_server_errors,
    count,
    fresh,
    postgres_only,
    race,
    repeat,
    send,
)
from tests.test_map import SQUARES, collection, feature
from wijkbudget.accounts.models import Role
from wijkbudget.extensions import db
from wijkbudget.maps.geojson import read_buurten
from wijkbudget.maps.models import AreaOutline, ProposalPlace
from wijkbudget.maps.operations import upload_outlines
from wijkbudget.maps.queries import round_map
from wijkbudget.neighbourhoods.models import Area
from wijkbudget.proposals.models import Proposal

pytestmark = postgres_only

N = 6
MAP_A = collection(*(feature(n, r) for n, r in SQUARES.items()))
MAP_B = collection(
    feature("Lombok", SQUARES["Lombok"]),
    feature("Zuilen", [[5.09, 52.10], [5.11, 52.10], [5.11, 52.11], [5.09, 52.11]]),
)


def areas(wijk_id: int) -> list[str]:
    return sorted(db.session.scalars(select(Area.name).where(Area.neighbourhood_id == wijk_id)))


def test_admins_upload_maps_at_once(app, make_wijk, make_user, clients):
    make_user("beheer@example.org", roles=((Role.ADMIN, None),))
    tabs = clients(*["beheer@example.org"] * N)
    for attempt in repeat():
        wijk = make_wijk(f"Kaartwijk{attempt}", areas=("Lombok", "Oog in Al"))
        url = f"/beheer/wijken/{wijk.slug}/kaart"

        def contender(i: int, url: str = url) -> Any:
            client, token = tabs[i]
            data = MAP_A if i % 2 == 0 else MAP_B
            return lambda: send(
                client, token, url, {"outlines": (io.BytesIO(data), "kaart.geojson")},
                content_type="multipart/form-data",
            )  # fmt: skip

        responses = race(N, contender)
        assert_no_server_errors(responses)
        assert all(r.status_code == 303 for r in responses), [r.status_code for r in responses]
        fresh()
        names = sorted(
            db.session.scalars(
                select(Area.name)
                .join(AreaOutline, AreaOutline.area_id == Area.id)
                .where(AreaOutline.neighbourhood_id == wijk.id)
            )
        )
        assert names in (sorted(SQUARES), ["Lombok", "Zuilen"])  # one file, whole
        # every buurt a file brought is there once
        assert areas(wijk.id) == sorted({"Lombok", "Oog in Al", "Nieuw Engeland", "Zuilen"})


@pytest.fixture
def placed(make_wijk, make_user, make_round, make_proposal):
    wijk = make_wijk("Plekwijk", areas=("Lombok", "Oog in Al"))
    upload_outlines(None, wijk, read_buurten(MAP_A))
    author = make_user("auteur@example.org", wijk=wijk)
    return wijk, author, make_round(wijk), make_proposal


def test_tabs_of_an_author_pick_points_at_once(app, placed, clients):
    wijk, author, rnd, make_proposal = placed
    tabs = clients(*[author.email] * N)
    the_map = round_map(rnd)
    assert the_map.projection is not None
    pixels = [tuple(round(v) for v in the_map.projection.to_xy(*b.label)) for b in the_map.buurten]
    for _attempt in repeat():
        proposal = make_proposal(rnd, author)
        url = f"/voorstellen/{proposal.id}/plek"

        def contender(i: int, url: str = url) -> Any:
            client, token = tabs[i]
            x, y = pixels[i % len(pixels)]
            return lambda: send(client, token, url, {"kaart.x": str(x), "kaart.y": str(y)})

        responses = race(N, contender)
        assert_no_server_errors(responses)
        assert all(r.status_code == 303 for r in responses), [r.status_code for r in responses]
        fresh()
        assert count(ProposalPlace, ProposalPlace.proposal_id == proposal.id) == 1
        place = db.session.get(ProposalPlace, proposal.id)
        stored = db.session.get(Proposal, proposal.id)
        buurt = round_map(rnd).buurt_at(place.lon, place.lat)
        assert buurt is not None and stored.area_id == buurt.area_id  # point and buurt agree
