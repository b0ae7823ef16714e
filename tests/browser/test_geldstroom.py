"""Browser journey through the wijk's pot: one board member records the municipality's grant,
another confirms it and takes the round's budget from the pot, and a visitor on a phone follows
the euro on the geldstroom page. JavaScript on and off, screenshots at 375 and 1280 px, and
axe-core (with JavaScript) finds nothing serious or critical on the pages."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import no_axe_findings
from tests.browser.test_accessibility import login
from wijkbudget.extensions import db
from wijkbudget.rounds.models import Phase
from wijkbudget.spending.models import EntryKind, Income, IncomeState, LedgerEntry


def euro(amount: str) -> re.Pattern[str]:
    """'45.000,00' as the pages write it: '€ 45.000,00', with any kind of space."""
    return re.compile(r"€\s" + re.escape(amount))


def test_the_board_fills_the_pot_and_a_visitor_follows_the_euro(
    west, board, board2, make_round, new_page, shoot, javascript
):
    rnd = make_round(west, Phase.SUBMISSION, title="Wijkbudget West 2027", budget=1_000_000)
    round_id = rnd.id
    pot_page = f"/wijk/{west.slug}/bestuur/geld"

    # Henk records the municipality's grant; a form with a mistake comes back first
    henk = new_page()
    login(henk, "bestuur@example.org")
    henk.goto(f"/wijk/{west.slug}/bestuur")
    henk.get_by_role("link", name="Inkomsten en de pot").click()
    expect(henk.get_by_role("heading", level=1)).to_contain_text("inkomsten en de pot")
    henk.get_by_role("button", name="Inkomsten invoeren").click()
    expect(henk.locator(".error-summary")).to_contain_text("Vul in van wie het geld komt")
    no_axe_findings(henk, javascript)
    henk.get_by_label("Bedrag (euro)").fill("45.000,00")
    henk.get_by_label("Van wie komt het geld?").fill("Gemeente Utrecht")
    henk.get_by_label("Datum van ontvangst").fill("2026-01-15")
    henk.get_by_label("Waarvoor is het geld?").fill("Wijkbudget West 2027")
    henk.get_by_role("button", name="Inkomsten invoeren").click()
    expect(henk.locator(".flash-success")).to_contain_text("Een ander bestuurslid")
    card = henk.locator(".card").filter(has_text="Gemeente Utrecht")
    expect(card).to_contain_text(euro("45.000,00"))
    expect(card).to_contain_text("Je hebt deze inkomsten zelf ingevoerd")
    # four eyes: who recorded it cannot confirm it, only withdraw it
    expect(card.get_by_role("button", name="Bevestigen: het geld is binnen")).to_have_count(0)
    expect(card.get_by_role("button", name="Intrekken: dit klopt niet")).to_be_visible()
    shoot(henk, "inkomsten-ingevoerd")
    db.session.expire_all()
    assert db.session.scalar(select(Income)).state == IncomeState.PENDING

    # Ria confirms it and takes the round's budget from the pot
    ria = new_page()
    login(ria, "bestuur2@example.org")
    ria.goto(pot_page)
    card = ria.locator(".card").filter(has_text="Gemeente Utrecht")
    card.get_by_role("button", name="Bevestigen: het geld is binnen").click()
    expect(ria.locator(".flash-success")).to_contain_text("bevestigd")
    expect(ria.locator("main")).to_contain_text(euro("45.000,00"))
    no_axe_findings(ria, javascript)
    ria.get_by_role("button", name=euro("10.000,00")).click()
    expect(ria.locator(".flash-success")).to_contain_text("uit de pot gehaald")
    expect(ria.locator("main")).to_contain_text(re.compile(r"Nu in de pot: €\s35\.000,00"))
    shoot(ria, "budget-uit-de-pot")
    db.session.expire_all()
    draw = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.DRAW))
    assert (draw.round_id, draw.amount_cents) == (round_id, 1_000_000)

    # a visitor on a phone follows the euro, from the money page
    visitor = new_page(width=375)
    visitor.goto(f"/wijk/{west.slug}/geld")
    visitor.get_by_role("link", name="Volg de geldstroom").click()
    expect(visitor.get_by_role("heading", level=1)).to_contain_text("Geldstroom van West")
    sums = visitor.locator("table.pot-sum")
    expect(sums.locator("[data-sum=income]")).to_contain_text(euro("45.000,00"))
    expect(sums.locator("[data-sum=drawn]")).to_contain_text(euro("10.000,00"))
    expect(sums.locator("[data-sum=pot]")).to_contain_text(euro("35.000,00"))
    expect(visitor.locator("main")).to_contain_text("Gemeente Utrecht")
    round_card = visitor.locator(f"#ronde-{round_id}")
    expect(round_card).to_contain_text("Wijkbudget West 2027")
    shoot(visitor, "geldstroom")
    no_axe_findings(visitor, javascript)
