"""Browser journey of the exact tools (issue 22), JavaScript on and off: during the vote a board
member extends its end with a reason, and a resident reads the extension and the reason on the
round page; the round page with the extension form passes axe (no serious or critical
findings) at 1280 and 375 px."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from wijkbudget.accounts.models import Role
from wijkbudget.extensions import db, utcnow
from wijkbudget.i18n import utc_to_local
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Phase


@pytest.fixture
def running_vote(make_wijk, make_user, make_round, make_proposal):
    """Zuid's round in voting since yesterday, ending in two days; Henk on the board."""
    wijk = make_wijk("Zuid", postcodes=((3521, 3525),), areas=("Hoograven",))
    henk = make_user("henk@zuid.example", wijk=wijk, name="Henk", roles=((Role.BOARD, wijk),))
    rnd = make_round(wijk, Phase.VOTING, title="Zuid kiest", budget=500_000, max_cost=400_000)
    make_proposal(rnd, henk, State.ADMITTED, title="Speeltuin", cost=300_000, commit=False)
    now = utcnow().replace(second=0, microsecond=0)
    rnd.voting_opens = now - timedelta(days=1)
    rnd.result_opens = now + timedelta(days=2)
    db.session.commit()
    return rnd


def test_the_board_extends_the_vote_and_residents_read_why(running_vote, new_page, shoot):
    rnd = running_vote
    url = f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}"
    later = utc_to_local(rnd.result_opens + timedelta(days=3))
    page = new_page()
    sign_in(page, "henk@zuid.example")
    page.goto(url)
    form = page.locator("form#verlengen")
    expect(form.get_by_role("heading", name="Stemming verlengen")).to_be_visible()
    # an earlier end is refused, with the reason beside the form
    form.get_by_label("Nieuw einde van de stemming").fill(
        f"{utc_to_local(rnd.result_opens - timedelta(hours=1)):%Y-%m-%dT%H:%M}"
    )
    form.get_by_label("Waarom duurt de stemming langer?").fill("Te vroeg")
    form.get_by_role("button", name="Stemming verlengen").click()
    expect(page.get_by_role("alert").first).to_contain_text("later is dan het huidige einde")
    shoot(page, "verlengen-geweigerd")
    form = page.locator("form#verlengen")
    form.get_by_label("Nieuw einde van de stemming").fill(f"{later:%Y-%m-%dT%H:%M}")
    form.get_by_label("Waarom duurt de stemming langer?").fill(
        "De brieven met stemcodes kwamen een week te laat"
    )
    form.get_by_role("button", name="Stemming verlengen").click()
    expect(page.locator(".flash-success")).to_contain_text("De stemming is verlengd tot")
    shoot(page, "verlengd-bestuur")

    resident = new_page(375)
    resident.goto(url)
    notice = resident.locator(".voting-extension")
    expect(notice).to_contain_text("De stemming is verlengd tot")
    expect(notice).to_contain_text("De brieven met stemcodes kwamen een week te laat")
    expect(resident.locator("form#verlengen")).to_have_count(0)  # the form is the board's
    shoot(resident, "verlengd-bewoner")


def test_the_round_page_with_the_extension_passes_axe(running_vote, new_page, javascript):
    if not javascript:
        pytest.skip("axe-core needs JavaScript in the page")
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    rnd = running_vote
    url = f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}"
    page = new_page()
    sign_in(page, "henk@zuid.example")
    page.goto(url)
    form = page.locator("form#verlengen")
    form.get_by_label("Nieuw einde van de stemming").fill(
        f"{utc_to_local(rnd.result_opens + timedelta(days=1)):%Y-%m-%dT%H:%M}"
    )
    form.get_by_label("Waarom duurt de stemming langer?").fill("Meer tijd voor papier")
    form.get_by_role("button", name="Stemming verlengen").click()
    expect(page.locator(".voting-extension")).to_be_visible()
    report: dict[str, list[str]] = {}
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        for violation in axe.Axe().run(page).response["violations"]:
            if violation.get("impact") in {"serious", "critical"}:
                targets = [" ".join(map(str, n["target"])) for n in violation["nodes"]]
                report.setdefault(f"ronde at {width} px", []).append(
                    f"{violation['id']}: {violation['help']} {targets[:5]}"
                )
    assert not report, report
