"""Photos in a real browser, with JavaScript on and off: a resident adds a photo to their
proposal (alt text asked for first) and sees it on the proposal cards; a voter sees the photos
on the ballot and still ticks by the label. The thumbnails are what the browser loads; axe-core
(serious and critical) finds nothing. Screenshots at 375 and 1280 px."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.browser.conftest import no_axe_findings
from tests.browser.test_journeys_residents import log_in, quick_hashes  # noqa: F401
from tests.test_photos import camera_jpeg, stored_photo
from wijkbudget.extensions import db
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Phase

expect = pytest.importorskip("playwright.sync_api").expect
THUMB = re.compile(r"/voorstellen/\d+/fotos/\d+/(240|480)$")


def loaded_thumbnails(page: Any) -> list[str]:
    """Start recording the thumbnails the browser loads (answered 200)."""
    seen: list[str] = []
    page.on(
        "response",
        lambda response: (
            seen.append(response.url)
            if THUMB.search(response.url) and response.status == 200
            else None
        ),
    )
    return seen


def wait_for(page: Any, seen: list[str], count: int) -> None:
    """Until the browser has loaded ``count`` thumbnails (lazy ones come after "load")."""
    for _ in range(50):
        if len(seen) >= count:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the browser loaded {len(seen)} thumbnail(s), not {count}: {seen}")


def test_a_resident_adds_a_photo_and_sees_it_on_the_cards(
    west: Any,
    make_round: Any,
    make_user: Any,
    make_proposal: Any,
    new_page: Any,
    shoot: Any,
    javascript: bool,
    tmp_path: Path,
) -> None:
    rnd = make_round(west, Phase.SUBMISSION, title="Wijkbudget West 2027")
    fatima = make_user("fatima@example.org", wijk=west, name="Fatima")
    proposal = make_proposal(rnd, fatima, State.SUBMITTED, title="Bloembakken in de Kanaalstraat")
    make_proposal(rnd, fatima, State.SUBMITTED, title="Bankjes bij het Muntplein")
    photo = tmp_path / "kanaalstraat.jpg"
    Image.new("RGB", (1200, 900), (40, 140, 80)).save(photo, "JPEG")

    page = new_page()
    log_in(page, fatima.email)
    page.goto(f"/voorstellen/{proposal.id}")
    page.get_by_label("Foto (JPEG, PNG of WebP, hoogstens 5 MB)").set_input_files(photo)
    page.get_by_role("button", name="Foto toevoegen").click()
    # without a description: asked for one, in Dutch, and nothing is stored
    expect(page.locator(".error-summary")).to_contain_text("wat er op de foto staat")
    shoot(page, "01-foto-zonder-beschrijving")
    page.get_by_label("Foto (JPEG, PNG of WebP, hoogstens 5 MB)").set_input_files(photo)
    page.get_by_label("Wat staat er op de foto?").fill("De kale stoep in de Kanaalstraat")
    page.get_by_role("button", name="Foto toevoegen").click()
    expect(page.get_by_text("De foto is toegevoegd.")).to_be_visible()

    seen = loaded_thumbnails(page)
    page.goto(f"/wijk/{west.slug}/rondes/{rnd.id}/voorstellen")
    card = page.locator("li.card", has_text="Bloembakken in de Kanaalstraat")
    image = card.get_by_role("img", name="De kale stoep in de Kanaalstraat")
    expect(image).to_be_visible()
    assert "240w" in (image.get_attribute("srcset") or "")
    wait_for(page, seen, 1)
    # the card without a photo has none
    assert page.locator("li.card", has_text="Bankjes bij het Muntplein").locator("img").count() == 0
    shoot(page, "02-kaarten-met-foto")
    no_axe_findings(page, javascript)


def test_a_voter_sees_the_photos_on_the_ballot(
    app: Any,
    west: Any,
    voting_round: Any,
    make_user: Any,
    new_page: Any,
    shoot: Any,
    javascript: bool,
) -> None:
    rnd, proposals = voting_round
    stored_photo(app, proposals[0], camera_jpeg(), alt="Een oude glijbaan op een zandveld")
    stored_photo(app, proposals[1], camera_jpeg(), alt="Twee bankjes onder een boom")
    voter = make_user("kiezer@example.org", wijk=west, name="Kees")
    db.session.commit()

    page = new_page()
    log_in(page, voter.email)
    seen = loaded_thumbnails(page)
    page.goto(f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen")
    expect(page.get_by_role("heading", name="Je stembiljet")).to_be_visible()
    for alt in ("Een oude glijbaan op een zandveld", "Twee bankjes onder een boom"):
        expect(page.get_by_role("img", name=alt)).to_be_visible()
    wait_for(page, seen, 2)
    # the photo sits beside the choice: the label still ticks the box
    page.get_by_text("Bankjes", exact=True).click()
    expect(page.get_by_role("checkbox", name="Bankjes")).to_be_checked()
    shoot(page, "01-stembiljet-met-fotos")
    no_axe_findings(page, javascript)
