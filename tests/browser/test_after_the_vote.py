"""The conversation after the vote (issue 22.7) in a real browser, JavaScript on and off, at 375
and 1280 px: a resident goes from a funded project's page to its conversation and asks the first
question; then opens an expense's own page, where a private payee stays "particulier", and asks
about it. axe-core (serious and critical) finds nothing on the new pages (with JavaScript)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import no_axe_findings
from tests.browser.test_accessibility import login
from tests.test_dialogue_after_the_vote import funded  # noqa: F401 (the fixture)

expect = pytest.importorskip("playwright.sync_api").expect


def test_a_resident_asks_about_a_funded_project_and_an_expense(
    funded: Any,  # noqa: F811
    new_page: Any,
    shoot: Any,
    javascript: bool,
) -> None:
    page = new_page()
    login(page, "bewoner@example.org")
    page.goto(f"/projecten/{funded.project.id}")
    expect(page.get_by_role("heading", name="Vragen over dit project")).to_be_visible()
    page.get_by_role("link", name="Naar het gesprek over dit project").click()
    expect(page.get_by_role("heading", name="Vragen over Bankjes")).to_be_visible()
    expect(page.get_by_text("Nog geen vragen. Jij mag beginnen.")).to_be_visible()
    shoot(page, "01-eerste-vraag")
    no_axe_findings(page, javascript)

    page.get_by_label("Je vraag of reactie").fill("Wanneer komen de bankjes?")
    page.get_by_role("button", name="Plaatsen").click()
    expect(page.get_by_role("heading", name="Bankjes")).to_be_visible()
    expect(page.get_by_text("Wanneer komen de bankjes?")).to_be_visible()
    expect(page.get_by_role("link", name="Project: Bankjes")).to_be_visible()
    shoot(page, "02-gesprek-over-het-project")
    no_axe_findings(page, javascript)

    page.get_by_role("link", name="Project: Bankjes").click()
    page.get_by_role("link", name="Hout voor de bankjes").click()
    expect(page.get_by_role("heading", name="Uitgave: Hout voor de bankjes")).to_be_visible()
    expect(page.get_by_text("particulier")).to_be_visible()
    expect(page.get_by_text("Jan de Timmerman")).to_have_count(0)
    shoot(page, "03-uitgave")
    no_axe_findings(page, javascript)

    page.get_by_label("Je vraag of reactie").fill("Waarom dit hout?")
    page.get_by_role("button", name="Plaatsen").click()
    # the pace rule of the wijkdialoog holds here too: one comment per 30 seconds
    expect(page.get_by_text("één reactie per 30 seconden")).to_be_visible()
    expect(page.get_by_label("Je vraag of reactie")).to_have_value("Waarom dit hout?")
    shoot(page, "04-rustig-aan")
