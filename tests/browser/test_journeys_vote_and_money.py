"""Browser journeys through voting, closing the vote and the money that follows.

Each journey runs twice (JavaScript on and off) in Debian's chromium against the app served in a
thread, clicking and typing the way a person does. Setup that a person would do elsewhere
(printing codes, letting the end date pass) goes through the operations."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from pypdf import PdfWriter
from sqlalchemy import func, select

from tests.browser.conftest import follow, sign_in
from wijkbudget.accounts.models import Role
from wijkbudget.extensions import db
from wijkbudget.proposals.models import State
from wijkbudget.results import operations as results
from wijkbudget.results.models import Result
from wijkbudget.rounds.models import BallotType, Eligibility, Phase, Round
from wijkbudget.spending.models import Expense, ExpenseState, FundedProject, LedgerEntry
from wijkbudget.voting import operations as voting
from wijkbudget.voting.models import Ballot, Channel, SealedBallot


def euro(amount: str) -> re.Pattern[str]:
    """'3.000,00' as the pages write it: '€ 3.000,00', with any kind of space."""
    return re.compile(r"€\s" + re.escape(amount))


# --- the world ------------------------------------------------------------------------------


@pytest.fixture
def people(west, board, board2, make_user):
    return {
        "henk": board,
        "ria": board2,
        "kees": make_user("kiezer@example.org", wijk=west, name="Kees"),
        "ilse": make_user("initiatief@example.org", wijk=west, name="Ilse"),
        "raad": make_user("raad@example.org", name="Raadslid", roles=((Role.COUNCILLOR, west),)),
    }


@pytest.fixture
def knapsack(west, people, make_round, make_proposal):
    """Voting is open (no end date yet); budget € 5.000 for three proposals."""
    rnd = make_round(west, Phase.VOTING, budget=500_000, max_cost=400_000)
    rnd.ballot_type = BallotType.KNAPSACK
    rnd.ballot_max_choices = None
    rnd.voting_opens = datetime.now(UTC) - timedelta(days=7)
    proposals = {
        title: make_proposal(
            rnd, people["ilse"], State.ADMITTED, title=title, cost=cost, commit=False
        )
        for title, cost in (("Speeltuin", 300_000), ("Bankjes", 250_000), ("Bloembakken", 100_000))
    }
    db.session.commit()
    return rnd, proposals


def ballot_url(rnd: Round) -> str:
    return f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}/stemmen"


def receipt_on(page: Any) -> str:
    receipt = page.locator(".receipt strong")
    expect(receipt).to_have_text(re.compile(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){3}"))
    return receipt.inner_text().strip()


def cast_after_review(page: Any, *titles: str) -> str:
    """On the review page: check what is listed, send, and return the receipt code."""
    expect(page.get_by_role("heading", name="Controleer je stem")).to_be_visible()
    for title in titles:
        expect(page.locator("main li").filter(has_text=title)).to_have_count(1)
    page.get_by_role("button", name="Ja, verstuur mijn stem").click()
    expect(page.get_by_role("heading", name="Bedankt voor je stem")).to_be_visible()
    return receipt_on(page)


def counted_ballots() -> int:
    db.session.expire_all()
    # during the vote: the sealed ballots that count; after the close: the opened ones
    sealed = select(func.count(SealedBallot.id)).where(SealedBallot.counted.is_(True))
    return (db.session.scalar(sealed) or 0) + (
        db.session.scalar(select(func.count(Ballot.id))) or 0
    )


# --- 4. voting --------------------------------------------------------------------------------


def test_resident_votes_on_a_knapsack_ballot_and_only_once(
    knapsack, people, new_page, javascript, shoot
):
    """(a) the live budget bar with JavaScript, the server's message without; (d) once is once."""
    rnd, _proposals = knapsack
    page = new_page()
    sign_in(page, "kiezer@example.org")
    page.goto(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}")
    follow(page, "Stem nu", "Je stembiljet")
    bar = page.locator("#stembalk")
    expect(bar).to_contain_text(euro("0,00"))

    page.get_by_label("Speeltuin").check()
    page.get_by_label("Bankjes").check()
    if javascript:
        # htmx recalculates on every tick: over budget shows at once, before any submit
        expect(bar).to_contain_text(euro("5.500,00"))
        expect(bar).to_contain_text(re.compile(r"€\s500,00 te veel"))
        shoot(page, "stembiljet-te-veel")
        page.get_by_label("Bankjes").uncheck()
        expect(bar).to_contain_text(re.compile(r"nog €\s2\.000,00 over"))
        page.get_by_label("Bloembakken").check()
        expect(bar).to_contain_text(euro("4.000,00"))
        expect(bar).not_to_contain_text("te veel")
    else:
        page.get_by_role("button", name="Naar controleren").click()
        summary = page.locator(".error-summary")
        expect(summary).to_contain_text("Je stembiljet klopt nog niet")
        expect(summary).to_contain_text(re.compile(r"€\s500,00 te veel"))
        # the ticks are kept, so the voter only corrects what is wrong
        expect(page.get_by_label("Speeltuin")).to_be_checked()
        expect(page.get_by_label("Bankjes")).to_be_checked()
        shoot(page, "stembiljet-te-veel")
        page.get_by_label("Bankjes").uncheck()
        page.get_by_label("Bloembakken").check()
        page.get_by_role("button", name="Bereken").click()
        expect(bar).to_contain_text(euro("4.000,00"))
        expect(page.locator(".error-summary")).to_have_count(0)
    page.get_by_role("button", name="Naar controleren").click()
    expect(page.get_by_role("heading", name="Controleer je stem")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Bankjes")

    # a second tab on the same review page: the stale "send" later
    stale = page.context.new_page()
    stale.goto(f"{ballot_url(rnd)}/controleren")
    expect(stale.get_by_role("button", name="Ja, verstuur mijn stem")).to_be_visible()

    receipt = cast_after_review(page, "Speeltuin", "Bloembakken")
    shoot(page, "bewijscode")
    assert counted_ballots() == 1

    # (d) a second attempt with the same account: refused, in plain words
    stale.get_by_role("button", name="Ja, verstuur mijn stem").click()
    expect(stale.get_by_role("alert")).to_contain_text("al gestemd")
    page.goto(ballot_url(rnd))
    expect(page.get_by_role("alert")).to_contain_text("Er telt één stem per persoon")
    shoot(page, "al-gestemd")
    assert counted_ballots() == 1

    # the receipt is shown once only
    page.goto(f"{ballot_url(rnd)}/bewijs")
    expect(page.locator(".receipt")).to_have_count(0)
    assert receipt


def test_voter_without_account_uses_a_printed_code_once(knapsack, people, new_page, shoot):
    """(b) a code from the letter, no account; (d) the same code a second time is refused."""
    rnd, _proposals = knapsack
    rnd.eligibility = Eligibility.CODES
    lombok = rnd.neighbourhood.areas[0]
    batch = voting.generate_codes(people["henk"], rnd, 2, area=lombok, label="Brieven Lombok")
    db.session.commit()
    code = voting.batch_codes(batch)[0]

    page = new_page(width=375)
    page.goto(ballot_url(rnd))  # the link in the letter's wijk: it asks for the code
    expect(page.get_by_role("heading", name="Stemmen met je stemcode")).to_be_visible()
    page.get_by_label("Je stemcode").fill("AAAA-BBBB-CCCC")
    page.get_by_role("button", name="Verder").click()
    expect(page.get_by_role("alert")).to_contain_text("Deze code werkt niet")
    shoot(page, "stemcode-fout")
    page.get_by_label("Je stemcode").fill(code.lower().replace("-", " "))
    page.get_by_role("button", name="Verder").click()
    expect(page.get_by_role("heading", name="Je stembiljet")).to_be_visible()
    shoot(page, "stembiljet-met-code")
    page.get_by_label("Bankjes").check()
    page.get_by_role("button", name="Naar controleren").click()
    cast_after_review(page, "Bankjes")
    assert counted_ballots() == 1

    # the same code again
    page.goto("/stem")
    page.get_by_label("Je stemcode").fill(code)
    page.get_by_role("button", name="Verder").click()
    expect(page.get_by_role("alert")).to_contain_text("Deze code werkt niet")
    page.goto(ballot_url(rnd))
    expect(page.get_by_role("heading", name="Stemmen met je stemcode")).to_be_visible()
    assert counted_ballots() == 1


def test_paper_batch_entered_by_one_board_member_and_confirmed_by_another(
    knapsack, people, new_page, shoot
):
    """(c) four eyes: Henk enters the stack, Henk cannot confirm it, Ria does."""
    rnd, _proposals = knapsack
    rnd.eligibility = Eligibility.CODES
    codes = voting.batch_codes(voting.generate_codes(people["henk"], rnd, 3, label="Markt"))
    db.session.commit()

    henk = new_page()
    sign_in(henk, "bestuur@example.org")
    henk.goto(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}")
    henk.get_by_role("link", name="Papieren stemmen").click()
    henk.get_by_label("Naam van de stapel").fill("Buurthuis")
    henk.get_by_label("Aantal stembiljetten op de telstaat").fill("2")
    henk.get_by_role("button", name="Stapel beginnen").click()
    expect(henk.get_by_role("heading", name="Buurthuis")).to_be_visible()
    expect(henk.locator("main")).to_contain_text("Ingevoerd: 0 van 2")

    # an over-budget sheet is refused with the reason
    henk.get_by_label("Stemcode op het stembiljet").fill(codes[0])
    henk.get_by_label(re.compile("Speeltuin")).check()
    henk.get_by_label(re.compile("Bankjes")).check()
    henk.get_by_role("button", name="Stembiljet invoeren").click()
    expect(henk.get_by_role("alert")).to_contain_text("te veel")
    for code, title in ((codes[0], "Speeltuin"), (codes[1], "Bloembakken")):
        henk.get_by_label("Stemcode op het stembiljet").fill(code)
        henk.get_by_label(re.compile(title)).check()
        henk.get_by_role("button", name="Stembiljet invoeren").click()
        expect(henk.locator(".flash-success")).to_contain_text("Het stembiljet is ingevoerd")
    expect(henk.locator("main")).to_contain_text("Ingevoerd: 2 van 2")
    henk.get_by_role("button", name="Stapel bevestigen (tweede bestuurslid)").click()
    expect(henk.get_by_role("alert")).to_contain_text("ander bestuurslid")
    shoot(henk, "papieren-stapel")
    assert counted_ballots() == 0
    batch_url = henk.url

    ria = new_page()
    sign_in(ria, "bestuur2@example.org")
    ria.goto(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}")
    ria.get_by_role("link", name="Papieren stemmen").click()
    ria.get_by_role("link", name="Buurthuis").click()
    expect(ria).to_have_url(batch_url)
    ria.get_by_role("button", name="Stapel bevestigen (tweede bestuurslid)").click()
    expect(ria.locator(".flash-success")).to_contain_text("De stapel is bevestigd en telt mee")
    expect(ria.locator("main")).to_contain_text("Deze stemmen tellen mee")
    assert counted_ballots() == 2


# --- 5. closing the vote and the result ---------------------------------------------------------


def test_board_closes_the_vote_and_the_voter_checks_the_receipt(
    knapsack, people, west, make_user, new_page, shoot
):
    rnd, proposals = knapsack
    # four neighbours voted earlier: three for Speeltuin + Bloembakken, one for Bankjes
    for i, choice in enumerate(["Speeltuin", "Speeltuin", "Speeltuin", "Bankjes"]):
        picked = {proposals[choice].id: 1}
        if choice == "Speeltuin":
            picked[proposals["Bloembakken"].id] = 1
        voter = make_user(f"buur{i}@example.org", wijk=west)
        voting.cast(rnd, picked, user=voter, channel=Channel.ONLINE)
        db.session.commit()

    kees = new_page()
    sign_in(kees, "kiezer@example.org")
    kees.goto(ballot_url(rnd))
    kees.get_by_label("Bankjes").check()
    kees.get_by_role("button", name="Naar controleren").click()
    receipt = cast_after_review(kees, "Bankjes")

    # the end date passes
    rnd = db.session.get(Round, rnd.id)
    rnd.result_opens = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()

    henk = new_page()
    sign_in(henk, "bestuur@example.org")
    henk.goto(f"/wijk/{west.slug}/rondes/{rnd.id}")
    follow(henk, "Stemming sluiten…", "Stemming sluiten")
    expect(henk.locator("main")).to_contain_text("5 mensen hebben gestemd")
    # without the tick nothing happens
    henk.get_by_role("button", name="Stemming sluiten en tellen").click()
    expect(henk.get_by_role("alert")).to_contain_text("Vink aan")
    db.session.expire_all()
    assert db.session.get(Round, rnd.id).phase == Phase.VOTING
    henk.get_by_label(re.compile("Ik sluit de stemming")).check()
    shoot(henk, "stemming-sluiten")
    henk.get_by_role("button", name="Stemming sluiten en tellen").click()
    expect(henk.get_by_role("heading", name=re.compile("Uitslag"))).to_be_visible()
    db.session.expire_all()
    assert db.session.get(Round, rnd.id).phase == Phase.RESULT

    # the public result: the funding line, and why each proposal did or did not get money
    henk.goto(f"/wijk/{west.slug}/rondes/{rnd.id}/uitslag")
    main = henk.locator("main")
    expect(main).to_contain_text("Tot hier is er geld")
    funded = henk.locator("li.funded")
    not_funded = henk.locator("li.not-funded")
    expect(funded.filter(has_text="Speeltuin")).to_have_count(1)
    expect(funded.filter(has_text="Bloembakken")).to_have_count(1)
    expect(not_funded.filter(has_text="Bankjes")).to_have_count(1)
    text = main.inner_text()
    assert text.index("Speeltuin") < text.index("Tot hier is er geld") < text.index("Bankjes")
    for item in (*funded.all(), *not_funded.all()):
        why = item.locator("p").nth(1).inner_text().strip()
        assert len(why) > 20, f"no explanation for {item.inner_text()!r}"
    shoot(henk, "uitslag")
    # anyone can recount: the ballots download is the file whose digest the page shows (in the
    # fold for checkers)
    henk.get_by_text("Voor controleurs").first.click()
    with henk.expect_download() as download:
        henk.get_by_role("link", name="Stembiljetten (.pb, pabulib)").click()
    ballots = Path(download.value.path()).read_bytes()
    db.session.expire_all()
    stored = db.session.scalar(select(Result))
    assert hashlib.sha256(ballots).hexdigest() == stored.ballots_sha256
    expect(main).to_contain_text(stored.ballots_sha256)

    # Kees checks his receipt
    kees.goto(f"/wijk/{west.slug}/rondes/{rnd.id}/uitslag")
    kees.goto("/controleer")
    kees.get_by_label("Bewijscode").fill(receipt.lower())
    kees.get_by_role("button", name="Controleer").click()
    answer = kees.locator(".flash-success")
    expect(answer).to_contain_text("Deze stem telt mee")
    expect(answer).to_contain_text("Bankjes")
    expect(answer).not_to_contain_text("Speeltuin")
    shoot(kees, "bewijs-gecontroleerd")


# --- 6. money -----------------------------------------------------------------------------------


@pytest.fixture
def closed(knapsack, people, west, make_user):
    """The vote is closed: Speeltuin and Bloembakken (Ilse's proposals) are funded projects."""
    rnd, proposals = knapsack
    for i in range(3):
        voter = make_user(f"buur{i}@example.org", wijk=west)
        choice = {proposals["Speeltuin"].id: 1, proposals["Bloembakken"].id: 1}
        voting.cast(rnd, choice, user=voter, channel=Channel.ONLINE)
        db.session.commit()
    rnd.result_opens = datetime.now(UTC) - timedelta(minutes=1)
    results.close_voting(people["henk"], rnd, confirmed=True)
    db.session.commit()
    assert db.session.scalar(select(func.count(Result.id))) == 1
    return db.session.scalar(
        select(FundedProject).where(FundedProject.proposal_id == proposals["Speeltuin"].id)
    )


def blank_pdf(tmp_path: Path) -> Path:
    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.write(out)
    path = tmp_path / "bon-bouwmarkt.pdf"
    path.write_bytes(out.getvalue())
    return path


def test_expense_with_receipt_approved_in_the_ledger_and_audited(
    closed, west, new_page, tmp_path, shoot
):
    project_id = closed.id
    ilse = new_page()
    sign_in(ilse, "initiatief@example.org")
    ilse.goto(f"/projecten/{project_id}")
    follow(ilse, "Uitgave invoeren")
    ilse.get_by_label("Datum van betalen").fill((date.today() - timedelta(days=1)).isoformat())
    ilse.get_by_label("Bedrag (euro, met btw)").fill("120,50")
    ilse.get_by_label("Betaald aan").fill("Bouwmarkt West")
    ilse.get_by_label("Soort ontvanger").select_option(label="Bedrijf")
    ilse.get_by_label("Waarvoor").fill("Hout voor de speeltuin")
    ilse.get_by_label(re.compile("Bon of factuur")).set_input_files(blank_pdf(tmp_path))
    shoot(ilse, "uitgave-invoeren")
    ilse.get_by_role("button", name="Uitgave opslaan").click()
    expect(ilse.locator(".flash-success")).to_contain_text("De uitgave is ingevoerd")
    row = ilse.locator("tr").filter(has_text="Bouwmarkt West")
    expect(row).to_contain_text("wacht op goedkeuring")
    db.session.expire_all()
    expense = db.session.scalar(select(Expense))
    assert expense.state == ExpenseState.PENDING and expense.amount_cents == 12_050
    assert expense.receipt_type == "application/pdf"

    # another board member approves it (Henk closed the vote; Ria decides here)
    ria = new_page()
    sign_in(ria, "bestuur2@example.org")
    ria.goto(f"/wijk/{west.slug}/bestuur")
    ria.get_by_role("link", name="Uitgaven goedkeuren").click()
    card = ria.locator(".card").filter(has_text="Bouwmarkt West")
    expect(card).to_contain_text(euro("120,50"))
    shoot(ria, "uitgaven-goedkeuren")
    card.get_by_role("button", name="Goedkeuren").click()
    expect(ria.locator(".flash-success")).to_contain_text("goedgekeurd")
    db.session.expire_all()
    assert db.session.get(Expense, expense.id).state == ExpenseState.APPROVED
    head = db.session.scalar(select(LedgerEntry).order_by(LedgerEntry.seq.desc()))
    assert head.expense_id == expense.id

    # the public project page and the public ledger
    visitor = new_page(width=375)
    visitor.goto(f"/projecten/{project_id}")
    row = visitor.locator("tr").filter(has_text="Bouwmarkt West")
    expect(row).to_contain_text("goedgekeurd")
    with visitor.expect_download() as download:
        row.get_by_role("link", name="bekijk").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    shoot(visitor, "project")
    visitor.goto(f"/wijk/{west.slug}/geld/grootboek")
    expect(visitor.locator(".ledger-seal")).to_contain_text(head.hash)
    entry = visitor.locator(f"#boeking-{head.seq}")
    expect(entry).to_contain_text("Speeltuin")
    expect(entry).to_contain_text(euro("120,50"))
    expect(entry).to_contain_text(head.hash[:12])
    shoot(visitor, "grootboek")

    # the councillor's audit desk and its spreadsheet
    raad = new_page()
    sign_in(raad, "raad@example.org")
    raad.goto(f"/wijk/{west.slug}/controle")
    expect(raad.locator("main")).to_contain_text("Het grootboek klopt")
    expect(raad.locator("main")).to_contain_text(head.hash)
    shoot(raad, "controle")
    line = raad.locator("main li").filter(has_text=re.compile(r"^\s*uitgaven:", re.IGNORECASE))
    with raad.expect_download() as download:
        line.get_by_role("link", name="Excel", exact=True).click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".xlsx"
    sheet = load_workbook(saved).active
    header, *rows = sheet.iter_rows(values_only=True)
    found = [dict(zip(header, row, strict=True)) for row in rows if "Bouwmarkt West" in row]
    assert len(found) == 1, rows
    # the spreadsheet for people: Dutch columns, the amount a number, the project named
    assert found[0]["Omschrijving"] == "Hout voor de speeltuin"
    assert found[0]["Bedrag"] == 120.5 and found[0]["Status"] == "goedgekeurd"
    assert found[0]["Projectnummer"] == project_id and found[0]["Bon"] == "ja"
    assert found[0]["Goedgekeurd of afgewezen door"]
