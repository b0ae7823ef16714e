"""Wijken and buurten: postcode areas, the admin pages, the public pages, and their query counts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from wijkbudget.accounts.models import Role
from wijkbudget.extensions import db
from wijkbudget.neighbourhoods.models import Neighbourhood, normalise_postcode, postcode_digits
from wijkbudget.neighbourhoods.operations import NeighbourhoodError, parse_postcode_ranges


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("3531-3533, 3541", [(3531, 3533), (3541, 3541)]),
        ("3541;3531 - 3533", [(3531, 3533), (3541, 3541)]),
        ("3531 3531", [(3531, 3531)]),
    ],
)
def test_postcode_ranges_are_read_as_people_write_them(app, text, ranges):
    assert parse_postcode_ranges(text) == ranges


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "minstens één postcodegebied"),
        ("353", "geen postcodegebied"),
        ("0123", "geen postcodegebied"),
        ("3535-3531", "hoogste getal eerst"),
        ("3531 AB", "geen postcodegebied"),
    ],
)
def test_bad_postcode_ranges_get_a_dutch_message(app, text, message):
    with pytest.raises(NeighbourhoodError) as caught:
        parse_postcode_ranges(text)
    assert message in caught.value.message


def test_postcodes():
    assert postcode_digits("3512ab") == 3512 and postcode_digits("3512") == 3512
    assert postcode_digits("3512 SS") is None and postcode_digits("0512 AB") is None
    assert postcode_digits("35123") is None and postcode_digits("") is None
    assert normalise_postcode(" 3512ab ") == "3512 AB"


def test_wijk_covers_its_postcodes(make_wijk):
    west = make_wijk("West", postcodes=((3531, 3533), (3541, 3541)))
    assert west.covers("3531 AB") and west.covers("3533") and west.covers("3541 XY")
    assert not west.covers("3534 AA") and not west.covers("onzin")
    assert west.postcodes_text == "3531-3533, 3541"


def test_admin_creates_a_wijk_with_buurten(admin_client):
    page = "/beheer/wijken/nieuw"
    response = admin_client.post(
        page,
        {"name": "Noordoost", "postcodes": "3514-3515, 3571", "cbs_code": "WK034402"},
        page=page,
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(
        "/beheer/wijken/noordoost"
    )
    wijk = db.session.scalar(select(Neighbourhood).where(Neighbourhood.slug == "noordoost"))
    assert wijk.postcodes_text == "3514-3515, 3571" and wijk.cbs_code == "WK034402"

    response = admin_client.post(
        "/beheer/wijken/noordoost/buurten", {"name": "Votulast"}, page="/beheer/wijken/noordoost"
    )
    assert response.status_code == 303
    response = admin_client.post(
        "/beheer/wijken/noordoost/buurten", {"name": "votulast"}, page="/beheer/wijken/noordoost"
    )
    assert response.status_code == 422 and "al een buurt met die naam" in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert [a.name for a in wijk.areas] == ["Votulast"]

    # the same name again gets its own address
    response = admin_client.post(page, {"name": "Noordoost", "postcodes": "3572"}, page=page)
    assert response.headers["Location"].endswith("/beheer/wijken/noordoost-2")

    body = admin_client.get("/").get_data(as_text=True)
    assert "Noordoost" in body and "Votulast" in body


def test_admin_bad_wijk_input_keeps_what_was_typed(admin_client, make_wijk):
    west = make_wijk("West")
    page = f"/beheer/wijken/{west.slug}"
    response = admin_client.post(page, {"name": "West (nieuw)", "postcodes": "3531-35"}, page=page)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "geen postcodegebied" in body and 'value="West (nieuw)"' in body
    db.session.expire_all()
    assert db.session.get(Neighbourhood, west.id).name == "West"

    response = admin_client.post(
        "/beheer/wijken/nieuw", {"name": "", "postcodes": ""}, page="/beheer/wijken/nieuw"
    )
    assert response.status_code == 422 and "Vul een naam in" in response.get_data(as_text=True)


def test_public_wijk_page_shows_buurten_and_board(make_wijk, make_user, client):
    west = make_wijk("West", areas=("Lombok", "Oog in Al"))
    make_user("bestuur@example.org", wijk=west, name="Saskia Bestuur", roles=((Role.BOARD, west),))
    body = client.get("/wijk/west").get_data(as_text=True)
    assert "Lombok" in body and "Oog in Al" in body and "Saskia Bestuur" in body
    assert "3531-3533" in body
    assert client.get("/wijk/bestaat-niet").status_code == 404


def test_board_page_lists_residents_and_saves_description(make_wijk, make_user, make_client):
    west = make_wijk("West")
    board = make_user("bestuur@example.org", wijk=west, roles=((Role.BOARD, west),))
    make_user("jan@example.org", wijk=west, name="Jan Lombok")
    client = make_client()
    client.login(board.email)
    body = client.get("/wijk/west/bestuur").get_data(as_text=True)
    assert "Jan Lombok" in body
    response = client.post(
        "/wijk/west/bestuur/beschrijving", {"description": "x" * 6000}, page="/wijk/west/bestuur"
    )
    assert response.status_code == 422 and "Hoogstens 5000 tekens" in response.get_data(
        as_text=True
    )
    response = client.post(
        "/wijk/west/bestuur/beschrijving",
        {"description": "Welkom <script>alert(1)</script>"},
        page="/wijk/west/bestuur",
    )
    assert response.status_code == 303
    body = client.get("/wijk/west").get_data(as_text=True)
    assert "<script>alert(1)" not in body and "&lt;script&gt;" in body


def test_board_sees_who_says_they_work_in_the_wijk(make_wijk, make_user, make_client, app):
    west = make_wijk("West")
    oost = make_wijk("Oost", postcodes=((3581, 3585),), areas=("Oudwijk",))
    board = make_user("bestuur@example.org", wijk=west, roles=((Role.BOARD, west),))
    make_user("jan@example.org", wijk=west, name="Jan Lombok")  # lives here: not a worker
    make_user("priya@example.org", wijk=oost, name="Priya Werkt", work_wijk=west)
    make_user("kees@example.org", wijk=west, name="Kees Oost", work_wijk=oost)  # works elsewhere
    client = make_client()
    client.login(board.email)
    body = client.get("/wijk/west/bestuur").get_data(as_text=True)
    assert "1 account zegt in de wijk te werken." in body
    assert "/wijk/west/bestuur/werkenden" in body
    listing = client.get("/wijk/west/bestuur/werkenden")
    text = listing.get_data(as_text=True)
    assert listing.status_code == 200 and "Priya Werkt" in text
    assert "Jan Lombok" not in text and "Kees Oost" not in text
    assert "3581" not in text and "XY" not in text  # no postcodes
    # the board of Oost sees Kees, not Priya; a resident sees nothing
    oost_board = make_client()
    oost_board.login(make_user("b-oost@example.org", wijk=oost, roles=((Role.BOARD, oost),)).email)
    text = oost_board.get("/wijk/oost/bestuur/werkenden").get_data(as_text=True)
    assert "Kees Oost" in text and "Priya Werkt" not in text
    assert oost_board.get("/wijk/west/bestuur/werkenden").status_code == 403
    resident = make_client()
    resident.login("jan@example.org")
    assert resident.get("/wijk/west/bestuur/werkenden").status_code == 403
    # many: paginated, in the same number of statements
    for i in range(app.config["PAGE_SIZE"]):
        make_user(f"w{i}@example.org", wijk=oost, work_wijk=west)
    body = client.get("/wijk/west/bestuur/werkenden").get_data(as_text=True)
    assert "page=2" in body and "Pagina 1 van 2" in body
    count = app.config["PAGE_SIZE"] + 1
    assert f"{count} accounts zeggen dat ze in de wijk werken." in client.get(
        "/wijk/west/bestuur"
    ).get_data(as_text=True)


def test_home_and_wijk_page_query_counts_stay_flat(make_wijk, make_user, client, count_queries):
    make_wijk("Aa", postcodes=((1000, 1001),), areas=("a1", "a2"))
    with count_queries() as few:
        assert client.get("/").status_code == 200
    for i in range(8):
        wijk = make_wijk(
            f"Wijk {i}",
            postcodes=((2000 + i, 2000 + i),),
            areas=tuple(f"b{i}-{j}" for j in range(5)),
        )
        make_user(f"b{i}@example.org", wijk=wijk, roles=((Role.BOARD, wijk),))
    with count_queries() as many:
        assert client.get("/").status_code == 200
    # (5: the wijken, their buurten, the count, and the rounds a letter votes in now: issue 21)
    assert len(many) == len(few) <= 5

    with count_queries() as wijk_page:
        assert client.get("/wijk/wijk-3").status_code == 200
    assert len(wijk_page) <= 6


def test_board_page_query_count_does_not_grow_with_residents(
    make_wijk, make_user, make_client, count_queries
):
    west = make_wijk("West")
    board = make_user("bestuur@example.org", wijk=west, roles=((Role.BOARD, west),))
    client = make_client()
    client.login(board.email)
    with count_queries() as few:
        client.get("/wijk/west/bestuur")
    for i in range(30):
        make_user(f"r{i}@example.org", wijk=west)
    with count_queries() as many:
        body = client.get("/wijk/west/bestuur").get_data(as_text=True)
    assert len(many) == len(few)
    assert "page=2" in body  # 31 residents: more than one page


# --- issue 17: a slug taken at the same moment is a 409 -------------------------------------------


def test_a_wijk_slug_taken_at_the_same_moment_is_a_409_not_a_500(
    admin_client, make_wijk, monkeypatch
):
    make_wijk("West")
    from wijkbudget.neighbourhoods import operations

    # as if the other request's wijk was saved between our check of the slug and our insert
    monkeypatch.setattr(operations, "_unique_slug", lambda model, base, **scope: "west")
    page = "/beheer/wijken/nieuw"
    response = admin_client.post(page, {"name": "West", "postcodes": "3572"}, page=page)
    assert response.status_code == 409
    assert "net een wijk met dezelfde naam" in response.get_data(as_text=True)
    assert len(db.session.scalars(select(Neighbourhood)).all()) == 1


def test_a_buurt_slug_taken_at_the_same_moment_is_a_409_not_a_500(
    admin_client, make_wijk, monkeypatch
):
    west = make_wijk("West", areas=("Lombok",))
    from wijkbudget.neighbourhoods import operations

    monkeypatch.setattr(operations, "_unique_slug", lambda model, base, **scope: "lombok")
    page = f"/beheer/wijken/{west.slug}"
    response = admin_client.post(f"{page}/buurten", {"name": "Lombok-Oost"}, page=page)
    assert response.status_code == 409
    assert "al een buurt met die naam" in response.get_data(as_text=True)
    db.session.expire_all()
    assert [a.name for a in db.session.get(Neighbourhood, west.id).areas] == ["Lombok"]
