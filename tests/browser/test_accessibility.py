"""Accessibility (WCAG 2.1 AA): axe-core on every main page and on forms with errors, the whole
ballot with only the keyboard, errors tied to their fields, and the accessibility statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from tests.browser.conftest import finish_sign_in
from tests.conftest import PASSWORD
from wijkbudget import sealing
from wijkbudget.accounts.models import Role, RoleAssignment
from wijkbudget.dialogue.models import Comment
from wijkbudget.dialogue.operations import thread_for_proposal
from wijkbudget.extensions import db
from wijkbudget.neighbourhoods.models import Neighbourhood
from wijkbudget.proposals.models import State
from wijkbudget.results import operations as results
from wijkbudget.rounds.models import Phase, Round
from wijkbudget.spending import operations as spending
from wijkbudget.spending.models import FundedProject, PayeeType
from wijkbudget.voting import operations as voting
from wijkbudget.voting.models import Channel, SealedBallot

axe_api = pytest.importorskip("axe_playwright_python.sync_playwright")

BLOCKING = {"serious", "critical"}


@dataclass
class World:
    slug: str
    voting_round: int
    result_round: int
    submission_round: int
    proposal: int
    ballot_ids: list[int]
    thread: int
    comment: int
    project: int
    resident: str = "bewoner@example.org"
    councillor: str = "raad@example.org"


@pytest.fixture
def world(make_wijk, make_user, make_round, make_proposal) -> World:
    """One wijk with a round open for proposals, a round in voting, and a closed round whose
    result funded two projects, one with an approved expense in the ledger."""
    wijk = make_wijk("West", areas=("Lombok", "Oog in Al"))
    board = make_user("bestuur@example.org", wijk=wijk, name="Henk", roles=((Role.BOARD, wijk),))
    make_user("bestuur2@example.org", wijk=wijk, name="Ria", roles=((Role.BOARD, wijk),))
    initiator = make_user("initiatief@example.org", wijk=wijk, name="Fatima")
    make_user("bewoner@example.org", wijk=wijk, name="Kees")
    make_user("raad@example.org", name="Raadslid", roles=((Role.COUNCILLOR, wijk),))

    submission = make_round(wijk, Phase.SUBMISSION, title="Wijkbudget 2028")
    open_proposal = make_proposal(submission, initiator, title="Bloemen bij de school")
    thread = thread_for_proposal(open_proposal)
    first_comment = Comment(thread=thread, author_id=board.id, body="Goed idee, vertel meer.")
    db.session.add(first_comment)
    db.session.commit()

    voting_round = make_round(wijk, Phase.VOTING, title="Stemronde 2027", budget=500_000)
    ballot = [
        make_proposal(voting_round, initiator, State.ADMITTED, title=t, cost=c, commit=False)
        for t, c in (("Speeltuin", 300_000), ("Bankjes", 150_000), ("Bloembakken", 100_000))
    ]
    db.session.commit()

    closed = make_round(wijk, Phase.VOTING, title="Wijkbudget 2026", budget=500_000)
    benches = make_proposal(closed, initiator, State.ADMITTED, title="Picknicktafel", cost=200_000)
    make_proposal(closed, initiator, State.ADMITTED, title="Kunstwerk", cost=400_000)
    for i in range(3):
        voter = make_user(f"kiezer{i}@example.org", wijk=wijk)
        voting.cast(closed, {benches.id: 1}, user=voter, channel=Channel.ONLINE)
        db.session.commit()
    results.close_voting(board, closed, confirmed=True)
    db.session.commit()
    project = db.session.scalar(
        select(FundedProject).where(FundedProject.proposal_id == benches.id)
    )
    assert project is not None
    expense = spending.record_expense(
        initiator,
        project,
        spending.ExpenseData(
            spent_on=date.today() - timedelta(days=1),
            amount_cents=12_000,
            payee="Bouwmarkt West",
            payee_type=PayeeType.COMPANY,
            description="Hout voor de tafel",
        ),
        None,
    )
    db.session.commit()
    spending.approve_expense(board, expense)
    db.session.commit()
    return World(
        slug=wijk.slug,
        voting_round=voting_round.id,
        result_round=closed.id,
        submission_round=submission.id,
        proposal=open_proposal.id,
        ballot_ids=[p.id for p in ballot],
        thread=thread.id,
        comment=first_comment.id,
        project=project.id,
    )


def password_only(page: Any, email: str) -> None:
    page.goto("/inloggen")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()


def look_at(page: Any, url: str, name: str, report: dict[str, list[str]]) -> None:
    """Go to ``url`` and run axe-core on the page there (see ``check``)."""
    page.goto(url)
    check(page, name, report)


def send_with_errors(page: Any, button: str = "main form button[type=submit]") -> None:
    """Send the page's form as it is (empty, or wrongly filled): it comes back with its errors."""
    page.locator(button).click()
    page.wait_for_selector(".error-summary")


def login(page: Any, email: str) -> None:
    password_only(page, email)
    finish_sign_in(page, email)


def blocking_violations(page: Any) -> list[str]:
    response = axe_api.Axe().run(page).response
    found = []
    for violation in response["violations"]:
        if violation.get("impact") not in BLOCKING:
            continue
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
        found.append(
            f"  [{violation['impact']}] {violation['id']}: {violation['help']}\n"
            f"      nodes: {targets[:8]}"
        )
    return found


def check(page: Any, name: str, report: dict[str, list[str]]) -> None:
    """axe on the page as it is (1280 px) and on a phone (375 px): a table that scrolls
    sideways only on a phone must still be reachable with the keyboard."""
    page.wait_for_load_state("load")
    original = page.viewport_size
    for width in (original["width"], 375):
        page.set_viewport_size({"width": width, "height": original["height"]})
        found = blocking_violations(page)
        if found:
            report[f"{name} at {width} px ({page.url})"] = found
    page.set_viewport_size(original)


@pytest.fixture
def js_only(javascript: bool) -> None:
    if not javascript:
        pytest.skip("axe-core needs JavaScript in the page")


def test_axe_finds_no_serious_violations_on_the_main_pages(
    js_only, world: World, new_page, shoot, make_user
) -> None:
    report: dict[str, list[str]] = {}
    w = world
    rounds = f"/wijk/{w.slug}/rondes"
    public_pages = {
        "home": "/",
        "wijk": f"/wijk/{w.slug}",
        "ronde": f"{rounds}/{w.submission_round}",
        "stemronde": f"{rounds}/{w.voting_round}",
        "voorstellen": f"{rounds}/{w.submission_round}/voorstellen",
        "voorstel": f"/voorstellen/{w.proposal}",
        "wijkdialoog": f"/gesprekken/{w.thread}",
        "antwoorden": f"/reacties/{w.comment}",
        "controleer-stem": "/controleer",
        "uitslag": f"{rounds}/{w.result_round}/uitslag",
        "project": f"/projecten/{w.project}",
        "grootboek": f"/wijk/{w.slug}/geld/grootboek",
        "geld": f"/wijk/{w.slug}/geld",
        "toegankelijkheid": "/toegankelijkheid",
        "inloggen": "/inloggen",
    }
    visitor = new_page()
    for name, url in public_pages.items():
        look_at(visitor, url, name, report)

    # forms shown with their errors
    visitor.goto("/registreren")
    send_with_errors(visitor)
    check(visitor, "registreren met fouten", report)
    shoot(visitor, "registreren-fouten")
    visitor.goto("/controleer")
    visitor.fill("#receipt", "AAAAA-BBBBB")
    send_with_errors(visitor)
    check(visitor, "controleer-stem met fout", report)

    resident = new_page()
    login(resident, w.resident)
    look_at(resident, f"{rounds}/{w.voting_round}/stemmen", "stembiljet", report)
    shoot(resident, "stembiljet")
    resident.check(f"#p{w.ballot_ids[0]}")
    resident.locator("main form button[value=review]").click()
    resident.wait_for_url("**/stemmen/controleren")
    check(resident, "stem controleren", report)
    resident.locator("main form button[type=submit]").click()
    resident.wait_for_url("**/stemmen/bewijs")
    check(resident, "bewijscode", report)
    resident.goto(f"{rounds}/{w.submission_round}/voorstellen/nieuw")
    send_with_errors(resident, "main form button[value=submit]")
    check(resident, "nieuw voorstel met fouten", report)
    shoot(resident, "voorstel-fouten")
    look_at(resident, f"/voorstellen/{w.proposal}", "voorstel (ingelogd)", report)
    look_at(resident, f"/gesprekken/{w.thread}", "wijkdialoog (ingelogd)", report)

    board = new_page()
    login(board, "bestuur@example.org")
    for name, url in {
        "voorstel (bestuur)": f"/voorstellen/{w.proposal}",
        "project (bestuur)": f"/projecten/{w.project}",
        "toetsing (bestuur)": f"/wijk/{w.slug}/bestuur/rondes/{w.submission_round}/toetsing",
        "uitgaven (bestuur)": f"/wijk/{w.slug}/bestuur/uitgaven",
    }.items():
        look_at(board, url, name, report)

    # the second factor's pages: set-up (a role without one yet), its recovery codes, the step
    wijk = db.session.scalar(select(Neighbourhood).where(Neighbourhood.slug == w.slug))
    newcomer = make_user("nieuw-bestuur@example.org", wijk=wijk)
    db.session.add(RoleAssignment(user=newcomer, role=Role.BOARD, neighbourhood=wijk))
    db.session.commit()
    staff = new_page()
    password_only(staff, "nieuw-bestuur@example.org")
    staff.wait_for_url("**/inloggen/tweede-stap/instellen")
    check(staff, "tweede stap instellen", report)
    shoot(staff, "tweede-stap-instellen")
    send_with_errors(staff)
    check(staff, "tweede stap instellen met fout", report)
    secret = staff.locator("code.secret").get_attribute("data-secret")
    staff.fill("#code", pyotp.TOTP(secret).now())
    staff.locator("main form button[type=submit]").click()
    staff.wait_for_selector(".recovery-codes")
    check(staff, "herstelcodes", report)
    second = new_page()
    password_only(second, "nieuw-bestuur@example.org")
    second.wait_for_url("**/inloggen/tweede-stap")
    check(second, "tweede stap", report)

    councillor = new_page()
    login(councillor, w.councillor)
    look_at(councillor, f"/wijk/{w.slug}/controle", "controle", report)
    shoot(councillor, "controle")

    assert not report, "axe-core found serious or critical violations:\n" + "\n".join(
        f"{page}:\n" + "\n".join(lines) for page, lines in report.items()
    )


FOCUS_VISIBLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  return {tag: el.tagName, id: el.id, text: (el.textContent || '').trim().slice(0, 40),
          visible: outline || s.boxShadow !== 'none'};
}"""


def tab_to(page: Any, predicate: str, seen: list[dict[str, Any]], limit: int = 60) -> None:
    """Press Tab until the focused element matches ``predicate`` (JS on document.activeElement),
    checking at every step that the focused element shows a focus indicator."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        state = page.evaluate(FOCUS_VISIBLE)
        if state is not None:
            seen.append(state)
            assert state["visible"], f"no visible focus indicator on {state}"
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!({predicate}); }}"):
            return
    raise AssertionError(f"could not reach {predicate} with Tab; focused: {seen[-5:]}")


def test_a_resident_casts_the_whole_ballot_with_only_the_keyboard(
    world: World, new_page, javascript: bool
) -> None:
    w = world
    page = new_page()
    login(page, w.resident)
    page.goto(f"/wijk/{w.slug}/rondes/{w.voting_round}/stemmen")
    seen: list[dict[str, Any]] = []
    # the skip link comes first and is visible when focused
    page.keyboard.press("Tab")
    first = page.evaluate(FOCUS_VISIBLE)
    assert first and first["text"] == "Naar de inhoud" and first["visible"], first
    chosen = {w.ballot_ids[1], w.ballot_ids[2]}  # Bankjes and Bloembakken: € 2.500 together
    for proposal_id in chosen:
        tab_to(page, f"el.id === 'p{proposal_id}'", seen)
        page.keyboard.press("Space")
        assert page.is_checked(f"#p{proposal_id}")
    tab_to(page, "el.tagName === 'BUTTON' && el.value === 'review'", seen)
    page.keyboard.press("Enter")
    page.wait_for_url("**/stemmen/controleren")
    page.wait_for_selector("text=Controleer je stem")
    tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('verstuur mijn stem')", seen)
    page.keyboard.press("Enter")
    page.wait_for_url("**/stemmen/bewijs")
    assert page.locator(".receipt").is_visible()
    assert len(seen) >= 5

    db.session.expire_all()
    ballots = list(
        db.session.scalars(select(SealedBallot).where(SealedBallot.round_id == w.voting_round))
    )
    assert len(ballots) == 1
    rnd = db.session.get(Round, w.voting_round)
    assert set(sealing.opener(rnd.ballot_private_key)(ballots[0].box)) == chosen


def test_errors_are_tied_to_their_fields(world: World, new_page) -> None:
    page = new_page()
    page.goto("/registreren")
    page.fill("#email", "geen-adres")
    page.locator("main form button[type=submit]").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert summary.get_attribute("role") == "alert"
    for field_id in ("email", "password", "place"):
        described = page.get_attribute(f"#{field_id}", "aria-describedby") or ""
        assert f"{field_id}-error" in described.split(), (field_id, described)
        assert page.get_attribute(f"#{field_id}", "aria-invalid") == "true"
        error = page.locator(f"#{field_id}-error")
        assert error.is_visible() and error.inner_text().strip()
    # the summary links to the field
    assert page.locator('.error-summary a[href="#email"]').count() == 1


def test_accessibility_statement_is_linked_from_the_footer(world: World, new_page) -> None:
    page = new_page()
    response = page.goto("/")
    assert response is not None and response.status == 200
    link = page.locator("footer a[href='/toegankelijkheid']")
    assert link.count() == 1
    response = page.goto("/toegankelijkheid")
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text() == "Toegankelijkheidsverklaring"
    body = page.locator("main").inner_text()
    for words in ("axe", "toetsenbord", "JavaScript", "375"):
        assert words in body, words


def test_accessibility_statement_without_a_browser(client) -> None:
    response = client.get("/toegankelijkheid")
    assert response.status_code == 200
    assert 'href="/toegankelijkheid"' in client.get("/").get_data(as_text=True)
