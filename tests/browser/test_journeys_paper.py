"""Browser journeys of paper voting (issue 21, parts 3 and 4), JavaScript on and off: a sheet
entered with the wrong code is struck out and entered again; a batch whose count differs from
its count sheet is refused without a reason and then confirmed with one by a second board
member; the discard asks first; the round's printable ballot sheet and its PDF."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.browser.conftest import sign_in
from wijkbudget.accounts.models import Role
from wijkbudget.extensions import db
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Eligibility, Phase
from wijkbudget.voting import operations as voting
from wijkbudget.voting.models import PaperBatch, PaperSheet, SealedBallot


@pytest.fixture
def paper_vote(make_wijk, make_user, make_round, make_proposal):
    """A round of codes in voting (Speeltuin € 3.000, Bankjes € 1.000, up to 2 choices), two
    board members and five codes."""
    wijk = make_wijk("Zuid", postcodes=((3521, 3525),), areas=("Hoograven",))
    board = ((Role.BOARD, wijk),)
    henk = make_user("henk@zuid.example", wijk=wijk, name="Henk", roles=board)
    make_user("ria@zuid.example", wijk=wijk, name="Ria", roles=board)
    rnd = make_round(wijk, Phase.VOTING, title="Zuid kiest", budget=500_000, max_cost=400_000)
    rnd.eligibility = Eligibility.CODES
    rnd.ballot_max_choices = 2
    for title, cost in (("Speeltuin", 300_000), ("Bankjes", 100_000)):
        make_proposal(rnd, henk, State.ADMITTED, title=title, cost=cost, commit=False)
    db.session.commit()
    codes = voting.batch_codes(voting.generate_codes(henk, rnd, 5, label="Brieven"))
    db.session.commit()
    return rnd, codes


def enter(page: Any, code: str, title: str, entered: int, declared: int) -> None:
    """Enter one sheet, and see it counted (the page after the entry, not the one before)."""
    page.get_by_label(re.compile("Stemcode op het stembiljet")).fill(code)
    page.get_by_label(re.compile(title)).check()
    page.get_by_role("button", name="Stembiljet invoeren").click()
    expect(page.locator("main")).to_contain_text(f"Ingevoerd: {entered} van {declared}.")
    expect(page.locator(".flash-success")).to_contain_text("Het stembiljet is ingevoerd")


def counted() -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count(SealedBallot.id)).where(SealedBallot.counted.is_(True))
    )


def test_a_sheet_struck_out_and_a_mismatched_batch_confirmed_only_with_a_reason(
    paper_vote, new_page, shoot
):
    rnd, codes = paper_vote
    henk = new_page()
    sign_in(henk, "henk@zuid.example")
    henk.goto(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}")
    henk.get_by_role("link", name="Papieren stemmen").click()
    henk.get_by_label("Naam van de stapel").fill("Buurthuis")
    henk.get_by_label("Aantal stembiljetten op de telstaat").fill("4")
    henk.get_by_role("button", name="Stapel beginnen").click()
    expect(henk.get_by_role("heading", name="Buurthuis")).to_be_visible()
    batch_url = henk.url

    # three sheets; the second was meant for another code (typed wrongly)
    enter(henk, codes[0], "Speeltuin", 1, 4)
    enter(henk, codes[3], "Bankjes", 2, 4)
    enter(henk, codes[2], "Speeltuin", 3, 4)
    sheets = henk.get_by_role("region", name="Ingevoerde stembiljetten")
    expect(sheets.get_by_role("row")).to_have_count(4)  # the head and three sheets
    expect(sheets).not_to_contain_text("Speeltuin")  # what a sheet chose is not shown back

    # strike sheet 2: without a reason it is refused, next to the field
    row = henk.locator("#stembiljet-2")
    row.locator("summary").click()
    reason = row.get_by_label("Waarom streep je stembiljet 2 door?")
    row.get_by_role("button", name="Stembiljet 2 doorstrepen").click()
    expect(henk.get_by_role("alert")).to_contain_text("Schrijf op waarom")
    reason = henk.locator("#stembiljet-2").get_by_label("Waarom streep je stembiljet 2 door?")
    expect(reason).to_be_visible()  # the form is open again by its sheet
    expect(reason).to_have_attribute("aria-invalid", "true")
    reason.fill("Verkeerde stemcode ingetypt")
    henk.locator("#stembiljet-2").get_by_role("button", name="Stembiljet 2 doorstrepen").click()
    expect(henk.locator(".flash-success")).to_contain_text("Stembiljet 2 is doorgestreept")
    expect(henk.locator("main")).to_contain_text("Ingevoerd: 2 van 4")
    expect(henk.locator("#stembiljet-2")).to_contain_text("Verkeerde stemcode ingetypt")
    shoot(henk, "stembiljet-doorgestreept")
    # the right code on a new sheet
    enter(henk, codes[1], "Bankjes", 3, 4)
    expect(henk.locator("#stembiljet-4")).to_be_visible()

    # Ria, the second pair of eyes: the count differs (3 entered, 4 on the count sheet)
    ria = new_page()
    sign_in(ria, "ria@zuid.example")
    ria.goto(batch_url)
    confirm = ria.get_by_role("region", name="Stapel bevestigen")
    expect(confirm).to_contain_text("Stembiljet 2, door Henk: Verkeerde stemcode ingetypt")
    expect(confirm).to_contain_text("Het aantal klopt niet")
    ria.get_by_role("button", name="Stapel bevestigen (tweede bestuurslid)").click()
    expect(ria.get_by_role("alert")).to_contain_text(
        "Er zijn 3 stembiljetten ingevoerd, maar op de telstaat staan er 4"
    )
    shoot(ria, "stapel-telt-niet")
    assert counted() == 0
    ria.get_by_label(re.compile("Reden als het aantal niet klopt")).fill(
        "Eén stembiljet was leeg en is niet ingevoerd"
    )
    ria.get_by_role("button", name="Stapel bevestigen (tweede bestuurslid)").click()
    expect(ria.locator(".flash-success")).to_contain_text("De stapel is bevestigd en telt mee")
    expect(ria.locator("main")).to_contain_text("Deze stemmen tellen mee")
    expect(ria.locator("main")).to_contain_text("Eén stembiljet was leeg")
    assert counted() == 3
    db.session.expire_all()
    batch = db.session.scalar(select(PaperBatch))
    assert batch.mismatch_reason == "Eén stembiljet was leeg en is niet ingevoerd"
    assert (
        db.session.scalar(
            select(func.count(PaperSheet.id)).where(PaperSheet.struck_at.is_not(None))
        )
        == 1
    )
    # the struck sheet's code can vote again: online with the letter
    assert voting.find_code(rnd, codes[3]) is not None


def test_a_batch_is_discarded_only_when_asked_and_with_a_reason(paper_vote, new_page):
    rnd, codes = paper_vote
    henk = new_page()
    sign_in(henk, "henk@zuid.example")
    henk.goto(f"/wijk/{rnd.neighbourhood.slug}/bestuur/rondes/{rnd.id}/papier")
    henk.get_by_label("Naam van de stapel").fill("Markt")
    henk.get_by_label("Aantal stembiljetten op de telstaat").fill("1")
    henk.get_by_role("button", name="Stapel beginnen").click()
    expect(henk.get_by_role("heading", name="Markt")).to_be_visible()
    enter(henk, codes[4], "Bankjes", 1, 1)
    henk.get_by_label("Waarom gooi je de stapel weg?").fill("De stembus was niet verzegeld")
    henk.get_by_role("button", name="Stapel weggooien").click()
    expect(henk.get_by_role("alert")).to_contain_text("Zet een vinkje")
    # the reason typed is kept; tick and send
    expect(henk.get_by_label("Waarom gooi je de stapel weg?")).to_have_value(
        "De stembus was niet verzegeld"
    )
    henk.get_by_label("Ja, gooi deze stapel weg").check()
    henk.get_by_role("button", name="Stapel weggooien").click()
    expect(henk.locator(".flash-success")).to_contain_text("De stapel is weggegooid")
    expect(henk.locator("main")).to_contain_text("De reden: De stembus was niet verzegeld")
    assert voting.find_code(rnd, codes[4]) is not None


def test_the_printable_ballot_sheet_of_the_round(paper_vote, new_page, shoot):
    rnd, _codes = paper_vote
    page = new_page(width=375)
    page.goto(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}/papieren-stembiljet")
    expect(page.get_by_role("heading", name="Stembiljet")).to_be_visible()
    rows = page.locator("table.kit-ballot tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Speeltuin")
    expect(page.locator("main")).to_contain_text("Je stemcode (van je brief)")
    shoot(page, "papieren-stembiljet")
    # on paper: only the sheet (no menu, no buttons)
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".kit-tools")).to_be_hidden()
    expect(page.get_by_role("heading", name="Stembiljet")).to_be_visible()
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.get_by_role("link", name="Stembiljet als PDF").click()
    assert download.value.suggested_filename == f"stembiljet-zuid-{rnd.id}.pdf"


def test_the_paper_pages_pass_axe(paper_vote, new_page, javascript):
    """axe-core (WCAG 2.1 AA, serious and critical) on the batch page with a struck sheet and a
    refused confirmation, and on both pages of the kit, at 1280 and 375 px."""
    if not javascript:
        pytest.skip("axe-core needs JavaScript in the page")
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    rnd, codes = paper_vote
    page = new_page()
    sign_in(page, "henk@zuid.example")
    page.goto(f"/wijk/{rnd.neighbourhood.slug}/bestuur/rondes/{rnd.id}/papier")
    page.get_by_label("Naam van de stapel").fill("Buurthuis")
    page.get_by_label("Aantal stembiljetten op de telstaat").fill("3")
    page.get_by_role("button", name="Stapel beginnen").click()
    expect(page.get_by_role("heading", name="Buurthuis")).to_be_visible()
    enter(page, codes[0], "Speeltuin", 1, 3)
    enter(page, codes[1], "Bankjes", 2, 3)
    row = page.locator("#stembiljet-1")
    row.locator("summary").click()
    row.get_by_label("Waarom streep je stembiljet 1 door?").fill("Verkeerde stemcode ingetypt")
    row.get_by_role("button", name="Stembiljet 1 doorstrepen").click()
    expect(page.locator("main")).to_contain_text("Ingevoerd: 1 van 3.")
    page.get_by_role("button", name="Stapel bevestigen (tweede bestuurslid)").click()
    expect(page.get_by_role("alert")).to_be_visible()
    report: dict[str, list[str]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("load")
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 900})
            for violation in axe.Axe().run(page).response["violations"]:
                if violation.get("impact") in {"serious", "critical"}:
                    targets = [" ".join(map(str, n["target"])) for n in violation["nodes"]]
                    report.setdefault(f"{name} at {width} px", []).append(
                        f"{violation['id']}: {violation['help']} {targets[:5]}"
                    )

    check("stapel")
    for what in ("papieren-stembiljet", "voorstellenboekje"):
        page.goto(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}/{what}")
        check(what)
    assert not report, report
