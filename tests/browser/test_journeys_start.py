"""The start page (``/mijn``, issue 22) in a real browser, JavaScript on and off, at 375 and
1280 px: a resident finds it from the home page and goes on to propose and to vote; a board
member sees what waits for them and goes to the review. axe-core (serious and critical) finds
nothing on either (it needs JavaScript, so only then)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import no_axe_findings
from tests.browser.test_accessibility import login
from tests.test_start import world  # noqa: F401 (the fixture)

expect = pytest.importorskip("playwright.sync_api").expect


def test_a_resident_starts_from_their_start_page(
    world: Any,  # noqa: F811
    new_page: Any,
    shoot: Any,
    javascript: bool,
) -> None:
    page = new_page()
    login(page, world["jan"].email)
    page.goto("/")
    page.get_by_role("link", name="Naar je startpagina").click()
    expect(page.get_by_role("heading", name="Hallo Jan")).to_be_visible()
    expect(page.get_by_role("heading", name="Wat je nu kunt doen")).to_be_visible()
    expect(page.get_by_role("link", name="Stem nu")).to_be_visible()
    expect(page.get_by_text("Geheime ronde Oost")).to_have_count(0)
    shoot(page, "01-startpagina-bewoner")
    no_axe_findings(page, javascript)

    page.get_by_role("link", name="Doe een voorstel").click()
    expect(page.get_by_role("heading", name="Doe een voorstel")).to_be_visible()
    page.go_back()
    page.get_by_role("link", name="Stem nu").click()
    expect(page).to_have_url(f"/wijk/west/rondes/{world['vote'].id}/stemmen")


def test_the_board_sees_what_waits_for_it(
    world: Any,  # noqa: F811
    board: Any,
    new_page: Any,
    shoot: Any,
    javascript: bool,
) -> None:
    page = new_page()
    login(page, board.email)
    page.get_by_role("link", name="Mijn startpagina").click()
    expect(page.get_by_role("heading", name="Voor het bestuur van West")).to_be_visible()
    expect(page.get_by_role("link", name="2 voorstellen om te toetsen")).to_be_visible()
    expect(page.get_by_role("link", name="1 uitgave om goed te keuren")).to_be_visible()
    expect(page.get_by_text("1 uitgave wacht op een ander bestuurslid")).to_be_visible()
    expect(
        page.get_by_role("link", name="1 stapel papieren stembiljetten om te bevestigen")
    ).to_be_visible()
    shoot(page, "02-startpagina-bestuur")
    no_axe_findings(page, javascript)

    page.get_by_role("link", name="2 voorstellen om te toetsen").click()
    expect(page.get_by_role("heading", name="Toetsing")).to_be_visible()
