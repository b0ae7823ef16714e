"""Resident journeys in a real browser, each with JavaScript on and off: register and propose,
the board's review, and the wijkdialoog with a report and open moderation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from PIL import Image
from sqlalchemy import select

from tests.browser.conftest import finish_sign_in, follow
from tests.conftest import PASSWORD, link_in
from wijkbudget.accounts import passwords
from wijkbudget.accounts.models import Role, User
from wijkbudget.dialogue.models import Comment
from wijkbudget.extensions import db
from wijkbudget.proposals.models import Proposal, ProposalImage, State
from wijkbudget.rounds.models import Phase

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with its real cost takes most of a second per account and per login; these journeys
    are about pages, not about the hash (tests/test_accounts.py checks that)."""
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def log_in(page: Any, email: str, password: str = PASSWORD) -> None:
    if not page.url.split("?")[0].endswith("/inloggen"):
        page.goto("/inloggen")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord", exact=True).fill(password)
    page.get_by_role("button", name="Inloggen").click()
    finish_sign_in(page, email)
    expect(page.get_by_text("Je bent ingelogd.")).to_be_visible()


def png(path: Path) -> Path:
    image = Image.new("RGB", (320, 200), (40, 140, 80))
    for x in range(0, 320, 40):
        for y in range(0, 200):
            image.putpixel((x, y), (250, 250, 250))
    image.save(path, "PNG")
    return path


# --- 1. register, verify, propose -----------------------------------------------------------------


def test_resident_registers_verifies_and_submits_a_proposal(
    west: Any, make_round: Any, new_page: Any, shoot: Any, inbox: Any, tmp_path: Path
) -> None:
    rnd = make_round(west, Phase.SUBMISSION, title="Wijkbudget West 2027")
    page = new_page()

    page.goto("/")
    follow(page, "Account maken")
    page.get_by_label("E-mailadres").fill("fatima@example.org")
    page.get_by_label("Wachtwoord").fill("lombok-is-de-mooiste-buurt")
    page.get_by_label("Naam die anderen zien").fill("Fatima")
    page.get_by_label("Je wijk en buurt").select_option(label="Lombok")
    page.get_by_label("Postcode").fill("3532 ab")
    page.get_by_label("Geboortejaar").fill("1984")
    shoot(page, "01-registreren")
    page.get_by_role("button", name="Account maken").click()
    expect(page.get_by_role("heading", name="Kijk in je mail")).to_be_visible()
    expect(page.get_by_text("fatima@example.org")).to_be_visible()

    # the link in the mail, followed in the browser
    page.goto(link_in(inbox.last_to("fatima@example.org")))
    page.get_by_role("button", name="Ja, dit is mijn e-mailadres").click()  # opening writes nothing
    expect(page.get_by_text("Je e-mailadres is bevestigd")).to_be_visible()
    db.session.expire_all()
    fatima = db.session.scalar(select(User).where(User.email == "fatima@example.org"))
    assert fatima is not None and fatima.is_verified
    assert fatima.neighbourhood_id == west.id and fatima.postcode == "3532 AB"

    log_in(page, "fatima@example.org", "lombok-is-de-mooiste-buurt")
    page.get_by_role("link", name="Wijken").click()
    page.get_by_role("link", name="Wijk West").click()
    page.get_by_role("link", name="Wijkbudget West 2027").click()
    follow(page, "Doe een voorstel")

    page.get_by_label("Titel").fill("Bloembakken in de Kanaalstraat")
    page.get_by_label("Samenvatting").fill(
        "Zes bloembakken met vaste planten, onderhouden door de buren."
    )
    page.get_by_label("Uitleg").fill("Wij zorgen voor **water** en onderhoud.")
    page.get_by_label("Categorie").select_option(label="Groen")
    page.get_by_label("Buurt").select_option(label="Lombok")
    page.get_by_label("Kostenpost 1: waaraan").fill("Zes bakken")
    page.get_by_label("Kostenpost 1: bedrag").fill("1.200,00")
    page.get_by_label("Kostenpost 2: waaraan").fill("Planten en aarde")
    page.get_by_label("Kostenpost 2: bedrag").fill("450")
    shoot(page, "02-voorstel-schrijven")
    page.get_by_role("button", name="Bewaren als concept").click()
    expect(page.get_by_text("Je voorstel is bewaard als concept")).to_be_visible()

    page.get_by_label("Foto (JPEG, PNG of WebP, hoogstens 5 MB)").set_input_files(
        png(tmp_path / "kanaalstraat.png")
    )
    page.get_by_label("Wat staat er op de foto?").fill("De kale stoep in de Kanaalstraat")
    page.get_by_role("button", name="Foto toevoegen").click()
    expect(page.get_by_text("De foto is toegevoegd.")).to_be_visible()
    expect(page.get_by_role("img", name="De kale stoep in de Kanaalstraat")).to_be_visible()

    page.get_by_role("button", name="Indienen").click()
    expect(page.get_by_text("Je voorstel is ingediend.")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("Ingediend")
    costs = page.get_by_role("region", name="Kosten")
    expect(costs).to_contain_text("Zes bakken")
    expect(costs).to_contain_text("Planten en aarde")
    expect(costs).to_contain_text("1.650,00")
    shoot(page, "03-voorstel-ingediend")

    follow(page, "Mijn voorstellen")
    card = page.locator(".card", has_text="Bloembakken in de Kanaalstraat")
    expect(card).to_contain_text("Ingediend")
    expect(card).to_contain_text("1.650,00")
    shoot(page, "04-mijn-voorstellen")

    db.session.expire_all()
    proposal = db.session.scalar(select(Proposal).where(Proposal.round_id == rnd.id))
    assert proposal is not None
    assert proposal.state == State.SUBMITTED and proposal.submitter_id == fatima.id
    assert [(line.description, line.amount_cents) for line in proposal.cost_lines] == [
        ("Zes bakken", 120_000),
        ("Planten en aarde", 45_000),
    ]
    assert proposal.cost_cents == 165_000
    images = list(db.session.scalars(select(ProposalImage)))
    assert [i.alt for i in images] == ["De kale stoep in de Kanaalstraat"]


# --- 2. the board reviews -------------------------------------------------------------------------


def decision(page: Any, heading: str) -> Any:
    """One of the board's forms on the proposal page, found by its heading."""
    return page.locator("#bestuur-panel form").filter(
        has=page.get_by_role("heading", name=heading, exact=True)
    )


def test_board_member_reviews_three_proposals(
    west: Any, make_user: Any, make_round: Any, make_proposal: Any, new_page: Any, shoot: Any
) -> None:
    fatima = make_user("fatima@example.org", wijk=west, name="Fatima")
    make_user("henk@example.org", wijk=west, name="Henk", roles=((Role.BOARD, west),))
    rnd = make_round(west, Phase.REVIEW, title="Wijkbudget West 2027")
    first = make_proposal(rnd, fatima, State.SUBMITTED, title="Speeltuin Lombok")
    second = make_proposal(rnd, fatima, State.SUBMITTED, title="Fontein op het plein")
    third = make_proposal(rnd, fatima, State.SUBMITTED, title="Buurtfeest")
    criterion = rnd.criteria[0].text

    page = new_page()
    log_in(page, "henk@example.org")
    page.goto(f"/wijk/{west.slug}/rondes/{rnd.id}")
    follow(page, "Toetsen", "Toetsing")
    queue = page.locator("table")
    for title in ("Speeltuin Lombok", "Fontein op het plein", "Buurtfeest"):
        expect(queue).to_contain_text(title)
    shoot(page, "01-toetsing")

    # admit
    page.get_by_role("link", name="Speeltuin Lombok").click()
    admit = decision(page, "Toelaten voor de stemming")
    admit.get_by_label("Toelichting (openbaar)").fill("Mooi plan, goed voor de kinderen.")
    shoot(page, "02-voorstel-bestuur")
    admit.get_by_role("button", name="Toelaten").click()
    expect(
        page.get_by_text("Het voorstel is toegelaten. De indieners krijgen bericht.")
    ).to_be_visible()

    # reject, with a criterion and a reason
    page.goto(f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/toetsing")
    page.get_by_role("link", name="Fontein op het plein").click()
    reject = decision(page, "Afwijzen")
    reject.get_by_label(criterion).check()
    reject.get_by_label("Reden (openbaar)").fill("Het onderhoud van een fontein is te duur.")
    reject.get_by_role("button", name="Afwijzen").click()
    expect(page.get_by_text("Het voorstel is afgewezen.")).to_be_visible()

    # ask for changes: first without saying what, then properly
    page.goto(f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/toetsing")
    page.get_by_role("link", name="Buurtfeest").click()
    decision(page, "Aanpassing vragen").get_by_role("button", name="Aanpassing vragen").click()
    summary = page.get_by_role("alert")  # on top of the page, where the reloaded page starts
    expect(summary).to_contain_text("Schrijf wat er anders moet.")
    expect(summary.get_by_role("link")).to_have_attribute("href", "#aanpassing-message")
    changes = decision(page, "Aanpassing vragen")
    box = changes.get_by_label("Wat moet er anders? (openbaar)")
    expect(box).to_have_accessible_description(re.compile("Schrijf wat er anders moet."))
    shoot(page, "03-aanpassing-leeg")
    box.fill("Voeg een begroting per onderdeel toe.")
    changes.get_by_role("button", name="Aanpassing vragen").click()
    expect(page.get_by_text("De indieners kunnen hun voorstel nu aanpassen.")).to_be_visible()

    db.session.expire_all()
    assert db.session.get(Proposal, first.id).state == State.ADMITTED
    assert db.session.get(Proposal, second.id).state == State.REJECTED
    assert db.session.get(Proposal, third.id).state == State.CHANGES_REQUESTED

    # what everyone sees, without an account
    public = new_page(width=375)
    public.goto(f"/voorstellen/{first.id}")
    expect(public.locator(".facts")).to_contain_text("Toegelaten")
    expect(public.locator(".history")).to_contain_text("Mooi plan, goed voor de kinderen.")
    public.goto(f"/voorstellen/{second.id}")
    expect(public.locator(".facts")).to_contain_text("Afgewezen")
    history = public.locator(".history")
    expect(history).to_contain_text("Het onderhoud van een fontein is te duur.")
    expect(history).to_contain_text(f"Voldoet niet aan: {criterion}")
    expect(history).to_contain_text("door het bestuur")
    expect(public.locator("#bestuur-panel")).to_have_count(0)
    shoot(public, "04-afgewezen-openbaar")
    public.goto(f"/voorstellen/{third.id}")
    expect(public.locator(".facts")).to_contain_text("Aanpassing gevraagd")
    expect(public.locator(".history")).to_contain_text("Voeg een begroting per onderdeel toe.")


# --- 3. the wijkdialoog ---------------------------------------------------------------------------


def comment_with(text: str) -> Comment:
    db.session.expire_all()
    comment = db.session.scalar(select(Comment).where(Comment.body == text))
    assert comment is not None, f"no comment {text!r} was stored"
    return comment


def test_residents_discuss_report_and_board_hides(
    west: Any, make_user: Any, make_round: Any, make_proposal: Any, new_page: Any, shoot: Any
) -> None:
    anna = make_user("anna@example.org", wijk=west, name="Anna")
    make_user("bram@example.org", wijk=west, name="Bram")
    make_user("chris@example.org", wijk=west, name="Chris")
    make_user("henk@example.org", wijk=west, name="Henk", roles=((Role.BOARD, west),))
    rnd = make_round(west, Phase.REVIEW)
    proposal = make_proposal(rnd, anna, State.SUBMITTED, title="Bankjes langs de Singel")

    # Anna starts the conversation from the proposal page
    page = new_page()
    log_in(page, "anna@example.org")
    page.goto(f"/voorstellen/{proposal.id}")
    page.get_by_role("link", name="Lees en praat mee").click()
    # a proposal made before conversations came with every proposal (as this factory makes it):
    # opening its page writes nothing, a button starts the conversation
    expect(page.get_by_text("Over dit voorstel is nog niet gepraat.")).to_be_visible()
    page.get_by_role("button", name="Begin het gesprek").click()
    expect(page.get_by_text("Nog geen reacties. Jij mag beginnen.")).to_be_visible()
    thread_url = re.sub(r"^https?://[^/]+", "", page.url).split("#")[0]
    page.get_by_label("Praat mee").fill("Wie helpt mee met **schilderen**?")
    page.get_by_role("button", name="Plaatsen").click()
    first = page.locator(".comment", has_text="Wie helpt mee met schilderen?")
    expect(first).to_be_visible()
    expect(first.locator("strong", has_text="schilderen")).to_be_visible()
    top = comment_with("Wie helpt mee met **schilderen**?")

    # Bram replies to Anna
    page = new_page()
    log_in(page, "bram@example.org")
    page.goto(thread_url)
    article = page.locator(f"#reactie-{top.id} > article")
    article.locator("summary", has_text="Reageren").click()
    article.get_by_label("Je antwoord aan Anna").fill("Ik doe mee! Zaterdag?")
    article.get_by_role("button", name="Plaatsen").click()
    reply = page.locator(f"#reactie-{top.id} .replies .comment", has_text="Ik doe mee! Zaterdag?")
    expect(reply).to_be_visible()
    shoot(page, "01-gesprek-antwoord")
    answer = comment_with("Ik doe mee! Zaterdag?")
    assert answer.parent_id == top.id

    # Chris reports Bram's reply
    page = new_page(width=375)
    log_in(page, "chris@example.org")
    page.goto(thread_url)
    article = page.locator(f"#reactie-{answer.id} > article")
    article.locator("summary", has_text="Melden").click()
    article.get_by_label("Waarom meld je deze reactie?").fill("Dit is reclame voor een feest.")
    shoot(page, "02-melden")
    article.get_by_role("button", name="Melden").click()
    expect(page.get_by_text("Bedankt. Het bestuur kijkt naar je melding.")).to_be_visible()

    # Henk hides it on the moderation page, with a reason everyone sees
    page = new_page()
    log_in(page, "henk@example.org")
    page.goto(f"/wijk/{west.slug}")
    page.get_by_role("link", name="Naar de bestuurspagina").click()
    follow(page, "Moderatie")
    card = page.locator(".card", has_text="Ik doe mee! Zaterdag?")
    expect(card).to_contain_text("1 melding")
    shoot(page, "03-moderatie")
    card.get_by_label("Reden (iedereen ziet deze)").fill("Geen reclame in de wijkdialoog.")
    card.get_by_role("button", name="Verbergen").click()
    expect(page.get_by_text("De reactie is verborgen.")).to_be_visible()
    expect(page.get_by_text("Er zijn geen meldingen.")).to_be_visible()

    db.session.expire_all()
    hidden = db.session.get(Comment, answer.id)
    assert hidden.is_hidden and hidden.hidden_reason == "Geen reclame in de wijkdialoog."
    assert not db.session.get(Comment, top.id).is_hidden

    # the public thread: Anna's words stay, Bram's reply is replaced by the reason
    public = new_page()
    public.goto(thread_url)
    expect(public.locator(f"#reactie-{top.id} > article")).to_contain_text(
        "Wie helpt mee met schilderen?"
    )
    hidden_item = public.locator(f"#reactie-{answer.id}")
    expect(hidden_item).to_contain_text("verborgen door moderatie: Geen reclame in de wijkdialoog.")
    expect(hidden_item).not_to_contain_text("Zaterdag")
    expect(public.get_by_text("Zaterdag")).to_have_count(0)
    expect(public.locator(".comment-actions")).to_have_count(0)
    shoot(public, "04-gesprek-openbaar")


def test_a_visitor_switches_to_english_and_back(west: Any, new_page: Any) -> None:
    """The language link is a whole new page (also with htmx on), so <html lang> follows."""
    page = new_page()
    page.goto(f"/wijk/{west.slug}")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    assert page.url.endswith(f"/wijk/{west.slug}")
    page.get_by_role("link", name="Nederlands").click()
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("link", name="Inloggen")).to_be_visible()
