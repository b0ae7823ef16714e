"""Browser journeys of issue 21: a resident holding a printed letter votes in a round of accounts
and codes, from the letter's QR address and from the round page; a resident who voted with the
account is told so when the letter's code is typed. JavaScript on and off, in Debian's chromium.
The letters themselves are made by the board in test_journeys_letters.py."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.test_journeys_vote_and_money import (  # noqa: F401 (fixtures)
    ballot_url,
    cast_after_review,
    counted_ballots,
    knapsack,
    people,
)
from wijkbudget.extensions import db
from wijkbudget.rounds.models import Eligibility
from wijkbudget.voting import operations as voting
from wijkbudget.voting.models import Participation


def test_a_letters_qr_address_votes_in_a_round_of_accounts_and_codes(
    knapsack,  # noqa: F811
    people,  # noqa: F811
    new_page,
    shoot,
):
    rnd, _proposals = knapsack
    assert rnd.eligibility == Eligibility.ACCOUNTS_AND_CODES
    batch = voting.generate_codes(people["henk"], rnd, 2, label="Brieven")
    db.session.commit()
    first, second = voting.batch_codes(batch)

    # the QR code on the letter: the code page, the code filled in
    page = new_page(width=375)
    page.goto(f"/stem?code={first}")
    expect(page.get_by_label("Je stemcode")).to_have_value(first)
    shoot(page, "qr-adres")
    page.get_by_role("button", name="Verder").click()
    expect(page.get_by_role("heading", name="Je stembiljet")).to_be_visible()
    page.get_by_label("Bankjes").check()
    page.get_by_role("button", name="Naar controleren").click()
    cast_after_review(page, "Bankjes")
    assert counted_ballots() == 1

    # a neighbour without the QR code: from the round page, no account, no login page
    page = new_page()
    page.goto(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}")
    expect(page.get_by_text("Met je account, of met de stemcode uit je brief")).to_be_visible()
    page.get_by_role("link", name="Stem met de code uit je brief").click()
    expect(page.get_by_role("heading", name="Stemmen met je stemcode")).to_be_visible()
    expect(page.get_by_role("link", name="Log in om te stemmen")).to_be_visible()
    page.get_by_label("Je stemcode").fill(second.lower())
    page.get_by_role("button", name="Verder").click()
    expect(page.get_by_role("heading", name="Je stembiljet")).to_be_visible()
    assert "/inloggen" not in page.url
    page.get_by_label("Bloembakken").check()
    page.get_by_role("button", name="Naar controleren").click()
    cast_after_review(page, "Bloembakken")
    assert counted_ballots() == 2


def test_who_voted_with_the_account_is_told_so_by_the_code_page(
    knapsack,  # noqa: F811
    people,  # noqa: F811
    new_page,
):
    rnd, _proposals = knapsack
    batch = voting.generate_codes(people["henk"], rnd, 1, label="Brieven")
    db.session.commit()
    [code] = voting.batch_codes(batch)
    page = new_page()
    sign_in(page, people["kees"].email)
    page.goto(ballot_url(rnd))
    page.get_by_label("Speeltuin").check()
    page.get_by_role("button", name="Naar controleren").click()
    cast_after_review(page, "Speeltuin")

    page.goto(f"/stem?code={code}")
    expect(page.get_by_text("Je bent ingelogd")).to_be_visible()
    page.get_by_role("button", name="Verder").click()
    expect(page.get_by_role("alert")).to_contain_text(re.compile("Je hebt al gestemd"))
    db.session.expire_all()
    assert db.session.query(Participation).count() == 1
    assert counted_ballots() == 1
