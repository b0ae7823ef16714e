"""The map (issue 22) in a real browser, JavaScript on and off, at 375 and 1280 px: an author
picks the place of their proposal by clicking the map (an ``<input type="image">``: the click's
pixel goes to the server), and the round's map shows it in the buurt clicked, with the list
beside it saying the same. axe-core (serious and critical) finds nothing on the map pages (it
needs JavaScript, so only then)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import no_axe_findings
from tests.browser.test_accessibility import login
from tests.test_map import mapped, pixel_of  # noqa: F401 (the fixture)
from wijkbudget.accounts.models import Role

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.mark.parametrize("width", [375, 1280])
def test_an_author_places_a_proposal_on_the_map(
    mapped: Any,  # noqa: F811
    new_page: Any,
    shoot: Any,
    javascript: bool,
    width: int,
) -> None:
    first, rnd = mapped["first"], mapped["round"]
    x, y = pixel_of("Oog in Al", mapped)
    page = new_page(width)
    login(page, "auteur@example.org")
    page.goto(f"/voorstellen/{first.id}/bewerken")
    page.get_by_role("link", name="Kies de plek op de kaart").click()
    expect(page.get_by_role("heading", name="Plek op de kaart")).to_be_visible()
    picker = page.get_by_role("button", name="Kaart van de wijk: klik op de plek van je voorstel")
    expect(picker).to_be_visible()
    assert picker.bounding_box()["width"] == 320  # a fixed size: a click's pixel is the map's
    shoot(page, "01-plek-kiezen")
    no_axe_findings(page, javascript)

    picker.click(position={"x": x, "y": y})
    expect(page.get_by_text("De plek is opgeslagen, in de buurt Oog in Al.")).to_be_visible()
    expect(page.get_by_text("Je hebt een plek op de kaart gekozen.")).to_be_visible()

    page.goto(f"/wijk/west/rondes/{rnd.id}/voorstellen")
    page.get_by_role("link", name="Kaart: de voorstellen per buurt").click()
    expect(page.get_by_role("heading", name="Kaart van de voorstellen")).to_be_visible()
    expect(page.get_by_role("img", name="Kaart van wijk West")).to_be_visible()
    # the list says where it is: under Oog in Al, at its point
    oog_in_al = page.locator(".map-list > li", has_text="Oog in Al")
    expect(oog_in_al.get_by_role("link", name="Bankje <b>")).to_be_visible()
    expect(oog_in_al.get_by_text("(plek op de kaart)")).to_be_visible()
    # and the map draws its number there
    number = oog_in_al.locator("li", has_text="Bankje").get_attribute("value")
    marker = page.locator(f'svg.wijk-map g.map-marker[data-number="{number}"]')
    expect(marker).to_have_count(1)
    shoot(page, "02-kaart-van-de-ronde")
    no_axe_findings(page, javascript)

    page.get_by_label("Buurt").select_option(label="Oog in Al")
    page.get_by_role("button", name="Toon").click()
    expect(page.get_by_role("heading", name="Kaart van de voorstellen: Oog in Al")).to_be_visible()
    expect(page.locator(".map-list").get_by_role("link", name="Feest")).to_have_count(0)


def test_the_admin_loads_the_buurten_map(
    mapped: Any,  # noqa: F811
    make_user: Any,
    new_page: Any,
    shoot: Any,
    javascript: bool,
    tmp_path: Any,
) -> None:
    from tests.test_map import SQUARES, collection, feature  # the test files, only here

    make_user("beheer@example.org", roles=((Role.ADMIN, None),))
    upload = tmp_path / "buurten.geojson"
    upload.write_bytes(
        collection(
            *(feature(n, r) for n, r in SQUARES.items()),
            feature("Zuilen", [[5.09, 52.10], [5.11, 52.10], [5.11, 52.11], [5.09, 52.11]]),
        )
    )
    page = new_page()
    login(page, "beheer@example.org")
    page.goto("/beheer/wijken/west")
    page.get_by_role("link", name="Kaart van de buurten laden (GeoJSON)").click()
    expect(page.get_by_role("heading", name="Kaart van wijk West")).to_be_visible()
    page.get_by_label("GeoJSON-bestand met de buurten (hoogstens 5 MB)").set_input_files(
        str(upload)
    )
    page.get_by_role("button", name="Kaart laden").click()
    expect(page.get_by_text("De kaart is geladen: 4 buurten, waarvan 1 nieuw.")).to_be_visible()
    expect(page.get_by_role("img", name="Kaart van wijk West")).to_be_visible()
    expect(page.locator("svg.wijk-map path.map-buurt")).to_have_count(4)
    shoot(page, "01-kaart-geladen")
    no_axe_findings(page, javascript)

    # a hostile file: a Dutch message at the field, the map as it was
    upload.write_bytes(b'{"type": "FeatureCollection", "x": NaN}')
    page.get_by_label("GeoJSON-bestand met de buurten (hoogstens 5 MB)").set_input_files(
        str(upload)
    )
    page.get_by_role("button", name="Kaart laden").click()
    expect(page.locator("#outlines-error")).to_have_text(
        "Het bestand bevat een getal dat geen getal is (NaN)."
    )
    expect(page.locator("svg.wijk-map path.map-buurt")).to_have_count(4)
    shoot(page, "02-bestand-geweigerd")
    no_axe_findings(page, javascript)

    page.goto("/wijk/west")
    page.get_by_role("link", name="Kaart van de wijk, met de gekozen projecten").click()
    expect(page.get_by_role("img", name="Kaart van wijk West")).to_be_visible()
    expect(page.locator(".map-list > li", has_text="Zuilen")).to_contain_text("geen gekozen")
    no_axe_findings(page, javascript)
