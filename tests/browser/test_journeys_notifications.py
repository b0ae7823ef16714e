"""Notifications in a real browser, JavaScript on and off, at 375 and 1280 px: a resident
follows a project's proposal from its page (htmx swaps the button in place; without JavaScript
the page comes back), chooses her mail on /account/mail, and unsubscribes from one kind from a
mail's link without being signed in. axe-core (serious and critical) finds nothing on these
pages (it needs JavaScript, so only then)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.browser.conftest import no_axe_findings
from tests.browser.test_accessibility import login
from tests.test_notifications import world  # noqa: F401 (the fixture)
from wijkbudget.extensions import db
from wijkbudget.notifications.models import Follow, Kind, NotificationSettings
from wijkbudget.notifications.operations import unsubscribe_token

expect = pytest.importorskip("playwright.sync_api").expect


def test_a_resident_follows_a_proposal_and_chooses_her_mail(
    world: Any,  # noqa: F811
    new_page: Any,
    shoot: Any,
    javascript: bool,
) -> None:
    follower = world["people"]["follower"]
    proposal_id = world["chosen"].id
    page = new_page()
    login(page, follower.email)
    page.goto(f"/voorstellen/{proposal_id}")
    page.get_by_role("button", name="Volgen").click()
    expect(page.get_by_role("button", name="Niet meer volgen")).to_be_visible()
    expect(page.get_by_text("Je volgt dit nu.").first).to_be_visible()
    if javascript:  # swapped in place: still the same page, no reload
        expect(page).to_have_url(f"/voorstellen/{proposal_id}")
    db.session.expire_all()
    assert db.session.scalar(select(Follow.user_id)) == follower.id
    shoot(page, "01-voorstel-gevolgd")
    no_axe_findings(page, javascript)

    page.get_by_role("link", name="Kies welke mail je krijgt").click()
    expect(page.get_by_role("heading", name="Mail van wijkbudget")).to_be_visible()
    expect(page.get_by_label("Wat er met mijn eigen voorstel gebeurt")).to_be_checked()
    expect(page.get_by_label("De uitslag is bekend")).not_to_be_checked()
    page.get_by_label("De uitslag is bekend").check()
    page.get_by_label("één mail per week", exact=False).check()
    shoot(page, "02-mail-kiezen")
    no_axe_findings(page, javascript)
    page.get_by_role("button", name="Opslaan").click()
    expect(page.get_by_text("Je keuzes voor mail zijn opgeslagen.")).to_be_visible()
    expect(page.get_by_label("De uitslag is bekend")).to_be_checked()
    db.session.expire_all()
    saved = db.session.get(NotificationSettings, follower.id)
    assert saved.result and saved.weekly_digest and saved.follows

    # from the project page: the same follow, and unfollowing
    page.goto(f"/projecten/{world['project'].id}")
    page.get_by_role("button", name="Niet meer volgen").click()
    expect(page.get_by_role("button", name="Volgen", exact=True)).to_be_visible()
    db.session.expire_all()
    assert db.session.scalar(select(Follow.id)) is None


def test_one_click_unsubscribe_from_a_mail_without_signing_in(
    app: Any,
    world: Any,  # noqa: F811
    new_page: Any,
    shoot: Any,
    javascript: bool,
) -> None:
    eager = world["people"]["eager"]
    with app.test_request_context():
        token = unsubscribe_token(eager.id, Kind.REMINDER)
    page = new_page()
    page.goto(f"/meldingen/afmelden/{token}")
    expect(page.get_by_role("heading", name="Afmelden")).to_be_visible()
    expect(page.get_by_text("Herinnering: het stemmen sluit bijna")).to_be_visible()
    shoot(page, "01-afmelden-vraag")
    no_axe_findings(page, javascript)
    db.session.expire_all()
    assert db.session.get(NotificationSettings, eager.id).reminder  # the page wrote nothing

    page.get_by_role("button", name="Ja, meld me hiervoor af").click()
    expect(page.get_by_text("Je bent afgemeld.")).to_be_visible()
    shoot(page, "02-afgemeld")
    no_axe_findings(page, javascript)
    db.session.expire_all()
    settings = db.session.get(NotificationSettings, eager.id)
    assert not settings.reminder and settings.voting_opens and settings.result
