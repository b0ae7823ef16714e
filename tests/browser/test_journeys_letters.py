"""Browser journeys of issue 21, the letters: a board member makes letters from a CSV of 200
addresses and downloads the PDF (read back with pdftotext: one letter per address, each with its
code) and the print shop's CSV, says the letters are printed; a list with mistakes is refused
line by line; a batch's codes are revoked after a confirmation; the pages pass axe. JavaScript on
and off, in Debian's chromium. The letter's QR address itself is voted with in
test_journeys_codes.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import follow, sign_in
from tests.test_letters import (  # noqa: F401 (fixtures)
    address_list,
    letters_round,
    needs_pdftotext,
    pages_of,
)
from wijkbudget.extensions import db
from wijkbudget.voting import operations
from wijkbudget.voting.models import CodeBatch, LetterAddress


def file(text: str, name: str = "adressen.csv") -> dict:
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode()}


def to_letters(page, rnd) -> None:
    """From the round page, as a board member goes there."""
    page.goto(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}")
    follow(page, "Brieven met stemcodes")


@needs_pdftotext
def test_the_board_makes_letters_from_200_addresses_and_downloads_the_pdf(
    letters_round,  # noqa: F811
    board,
    new_page,
    shoot,
):
    rnd = letters_round
    page = new_page()
    sign_in(page, board.email)
    to_letters(page, rnd)
    shoot(page, "brieven")
    page.get_by_label("Bestand met adressen").set_input_files(file(address_list(200)))
    page.get_by_label("Naam van de stapel (niet verplicht)").first.fill("Lombok")
    page.get_by_role("button", name="Brieven maken uit dit bestand").click()
    expect(page.get_by_role("heading", name="Brieven: Lombok")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("200 brieven gemaakt")
    expect(page.locator("main")).to_contain_text("200 brieven voor 200 adressen")
    expect(page.locator("main")).to_contain_text("Kanaalstraat 1, 3531 AB Utrecht")
    shoot(page, "stapel-brieven")

    db.session.expire_all()
    batch = db.session.scalar(select(CodeBatch))
    codes = operations.batch_codes(batch)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PDF").click()
    assert download.value.suggested_filename == f"brieven-west-{rnd.id}-{batch.id}.pdf"
    pages = pages_of(Path(download.value.path()).read_bytes())
    assert len(pages) == 200  # one letter per address
    for i, (text, code) in enumerate(zip(pages, codes, strict=True)):
        assert code in text, i  # each with its own code
        assert sum(other in text for other in codes) == 1
    assert "Kanaalstraat 1" in pages[0] and "3531 AB UTRECHT" in pages[0]

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV voor de drukker").click()
    rows = Path(download.value.path()).read_text().splitlines()
    assert len(rows) == 201 and codes[0] in rows[1] and f"/stem?code={codes[0]}" in rows[1]

    # printed: the codes and the addresses are gone, and the page says so
    page.get_by_role("button", name="Brieven zijn gedrukt").click()
    expect(page.get_by_role("status")).to_contain_text("De brieven zijn gedrukt")
    expect(page.locator("main")).to_contain_text("Deze brieven zijn gedrukt.")
    expect(page.get_by_role("button", name="Download PDF")).to_have_count(0)
    db.session.expire_all()
    assert db.session.scalar(select(LetterAddress.id)) is None


def test_a_list_with_mistakes_is_refused_and_a_batch_is_revoked_after_asking(
    letters_round,  # noqa: F811
    board,
    new_page,
):
    rnd = letters_round
    page = new_page()
    sign_in(page, board.email)
    to_letters(page, rnd)
    wrong = address_list(3) + '=HYPERLINK("http://evil.example");9;3531 AB;;\n'
    page.get_by_label("Bestand met adressen").set_input_files(file(wrong))
    page.get_by_role("button", name="Brieven maken uit dit bestand").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Er zijn geen brieven gemaakt")
    expect(alert).to_contain_text(
        re.compile(r"Regel 5: '=HYPERLINK\(\"http://e…' is geen straatnaam")
    )
    db.session.expire_all()
    assert db.session.scalar(select(CodeBatch.id)) is None

    # letters without an address, then their codes revoked: the page asks first
    page.get_by_label("Hoeveel brieven?").fill("5")
    page.get_by_role("button", name="Brieven zonder adres maken").click()
    expect(page.get_by_role("heading", name="Brieven: Brieven aan de bewoners")).to_be_visible()
    follow(page, "Codes intrekken")
    expect(page.locator("main")).to_contain_text("Weet je het zeker?")
    db.session.expire_all()
    assert db.session.scalar(select(CodeBatch.revoked_at)) is None
    page.get_by_role("button", name="Ja, trek deze codes in").click()
    expect(page.get_by_role("status")).to_contain_text("De codes zijn ingetrokken")
    expect(page.locator("main")).to_contain_text("zijn ingetrokken op")
    db.session.expire_all()
    assert db.session.scalar(select(CodeBatch.revoked_at)) is not None


def test_the_letters_pages_pass_axe(letters_round, board, new_page, javascript):  # noqa: F811
    """axe-core (WCAG 2.1 AA, serious and critical) on the letters page with a refused list, the
    batch page and the revoke confirmation, at 1280 and 375 px."""
    if not javascript:
        pytest.skip("axe-core needs JavaScript in the page")
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    rnd = letters_round
    page = new_page()
    sign_in(page, board.email)
    to_letters(page, rnd)
    page.get_by_label("Bestand met adressen").set_input_files(file("Kanaalstraat;x;3531AB\n"))
    page.get_by_role("button", name="Brieven maken uit dit bestand").click()
    expect(page.get_by_role("alert")).to_contain_text("geen huisnummer")
    urls = [page.url]
    page.get_by_label("Hoeveel brieven?").fill("2")
    page.get_by_role("button", name="Brieven zonder adres maken").click()
    expect(page.get_by_role("heading", name=re.compile("^Brieven: "))).to_be_visible()
    urls += [page.url, page.url + "/intrekken"]
    for url in urls:
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 900})
            if page.url != url:
                page.goto(url)
            serious = [
                violation["id"]
                for violation in axe.Axe().run(page).response["violations"]
                if violation.get("impact") in {"serious", "critical"}
            ]
            assert not serious, (url, width, serious)
