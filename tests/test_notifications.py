"""Notifications (issue 22, part 3): following, settings, the outbox and its command, one-click
unsubscribe, and the wijk's Atom feed. Mail goes to the test SMTP server on loopback."""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import mail_body, stored_result
from tests.test_get_writes_nothing import watching
from wijkbudget.accounts.models import Role
from wijkbudget.extensions import db, utcnow
from wijkbudget.notifications import operations
from wijkbudget.notifications.models import (
    MAX_ATTEMPTS,
    Follow,
    Kind,
    NotificationSettings,
    Outbox,
    OutboxState,
)
from wijkbudget.proposals.models import CoAuthor, State
from wijkbudget.rounds.models import Phase, PhaseChange
from wijkbudget.spending import operations as spending
from wijkbudget.spending.models import (
    Expense,
    ExpenseState,
    FundedProject,
    PayeeType,
    ProgressUpdate,
)

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def world(make_wijk, make_user, make_round, make_proposal):
    """West with: a round in voting that closes within a day, a round with its result (one
    proposal chosen and funded, one not), and people who chose different mail."""
    west = make_wijk("West")
    oost = make_wijk("Oost", postcodes=((3581, 3585),), areas=("Oudwijk",))
    now = utcnow()
    people = {
        # asked for every round-wide mail
        "eager": make_user("eager@example.org", wijk=west, name="Eva"),
        # never opened the settings: only their own proposal and what they follow
        "quiet": make_user("quiet@example.org", wijk=west, name="Quinten"),
        "author": make_user("author@example.org", wijk=west, name="Aisha"),
        "loser": make_user("loser@example.org", wijk=west, name="Lotte"),
        "follower": make_user("follower@example.org", wijk=west, name="Femke"),
        "elsewhere": make_user("oost@example.org", wijk=oost, name="Olaf"),
        "board": make_user("bestuur@example.org", wijk=west, roles=((Role.BOARD, west),)),
        "board2": make_user("bestuur2@example.org", wijk=west, roles=((Role.BOARD, west),)),
    }
    for who in ("eager", "elsewhere"):
        settings = NotificationSettings.defaults(people[who].id)
        settings.voting_opens = settings.reminder = settings.result = True
        db.session.add(settings)

    voting = make_round(west, Phase.VOTING, title="Ronde in stemming")
    voting.voting_opens = now - timedelta(hours=1)
    voting.result_opens = now + timedelta(hours=20)  # closes within the reminder's 48 hours

    done = make_round(west, Phase.RESULT, title="Ronde met uitslag")
    chosen = make_proposal(done, people["author"], State.CHOSEN, title="Bankjes", cost=300_000)
    lost = make_proposal(done, people["loser"], State.NOT_CHOSEN, title="Fontein", cost=900_000)
    db.session.add(stored_result(done, chosen, people["board"], ballots=12))
    db.session.commit()
    spending.grant_chosen(people["board"], done, [chosen], utcnow())
    db.session.commit()
    project = db.session.scalar(select(FundedProject))
    return {
        "west": west,
        "people": people,
        "voting": voting,
        "done": done,
        "chosen": chosen,
        "lost": lost,
        "project": project,
    }


def run(app, now=None) -> operations.Report:
    with app.test_request_context():
        return operations.send_notifications(now)


def follow(client, world, proposal_id=None, want="1", page=None, **kwargs) -> Any:
    pid = proposal_id or world["chosen"].id
    return client.post(
        f"/voorstellen/{pid}/volgen", {"want": want}, page=page or f"/voorstellen/{pid}", **kwargs
    )


def add_update(world, body: str = "De bankjes staan er!") -> ProgressUpdate:
    update = ProgressUpdate(
        project_id=world["project"].id,
        author_id=world["people"]["author"].id,
        body=body,
        percent_done=50,
        created_at=utcnow(),
    )
    db.session.add(update)
    db.session.commit()
    return update


def add_approved_expense(world) -> Expense:
    people = world["people"]
    expense = Expense(
        project_id=world["project"].id,
        neighbourhood_id=world["west"].id,
        spent_on=utcnow().date(),
        amount_cents=12_050,
        payee="Houthandel De Eik",
        payee_type=PayeeType.COMPANY,
        description="Hout voor de bankjes",
        state=ExpenseState.APPROVED,
        recorded_by_id=people["author"].id,
        decided_by_id=people["board"].id,
        decided_at=utcnow(),
    )
    db.session.add(expense)
    db.session.commit()
    return expense


def subjects(inbox, address: str) -> list[str]:
    return sorted(str(m["Subject"]) for m in inbox.to(address))


def unsubscribe_path(message: Message) -> str:
    header = str(message["List-Unsubscribe"])
    match = re.fullmatch(r"<https?://[^/]+(/meldingen/afmelden/\S+)>", header)
    assert match, header
    return match.group(1)


# --- each kind arrives exactly once ------------------------------------------------------------


def test_each_kind_arrives_once_even_when_the_command_runs_twice(app, world, inbox, make_client):
    people = world["people"]
    client = make_client()
    client.login(people["follower"].email)
    assert follow(client, world).status_code == 303
    add_update(world)
    add_approved_expense(world)

    first = run(app)
    second = run(app)
    again = app.test_cli_runner().invoke(args=["send-notifications"])
    assert again.exit_code == 0, again.output
    assert "0 in de wachtrij gezet, 0 verstuurd" in again.output
    assert second.queued == 0 and second.sent == 0
    assert first.sent == first.queued

    assert subjects(inbox, "eager@example.org") == [
        "De uitslag is bekend",
        "Het stemmen is begonnen",
        "Nog even: het stemmen sluit bijna",
    ]
    assert subjects(inbox, "author@example.org") == ["Je voorstel is gekozen"]
    assert subjects(inbox, "loser@example.org") == ["Je voorstel is niet gekozen"]
    assert subjects(inbox, "follower@example.org") == [
        "Nieuws over een project dat je volgt",
        "Nieuws over een project dat je volgt",
    ]
    follow_texts = " ".join(mail_body(m) for m in inbox.to("follower@example.org"))
    assert "De bankjes staan er!" in follow_texts
    assert re.search(r"€\s120,50", follow_texts) and "Houthandel De Eik" in follow_texts
    # not asked for, or another wijk's round
    assert inbox.to("quiet@example.org") == []
    assert inbox.to("oost@example.org") == []
    # every mail says how to leave it, in the headers too (RFC 8058)
    for message in inbox.messages:
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert unsubscribe_path(message) in mail_body(message)
    assert (
        db.session.scalar(select(func.count()).where(Outbox.state == OutboxState.SENT))
        == first.sent
        == 7
    )


def test_the_author_of_an_update_does_not_hear_of_it_and_old_news_is_not_sent(
    app, world, inbox, make_client
):
    add_update(world, "Van voor het volgen")  # before anyone followed: not news for them
    author = make_client()
    author.login("author@example.org")
    assert follow(author, world).status_code == 303
    client = make_client()
    client.login("follower@example.org")
    assert follow(client, world).status_code == 303
    run(app)
    add_update(world, "Tweede stap gezet")
    run(app)
    texts = [mail_body(m) for m in inbox.to("follower@example.org")]
    assert len(texts) == 1 and "Tweede stap gezet" in texts[0]
    assert "Van voor het volgen" not in texts[0]
    assert subjects(inbox, "author@example.org") == ["Je voorstel is gekozen"]


def test_a_failing_mail_server_is_retried_with_backoff_and_the_mail_still_goes_once(
    app, world, inbox
):
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    working = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = dead
    now = utcnow()
    failing = run(app, now)
    assert failing.sent == 0 and failing.failed == failing.queued == 5
    row = db.session.scalar(select(Outbox).where(Outbox.kind == Kind.OWN_OUTCOME).limit(1))
    assert row.attempts == 1 and row.state == OutboxState.PENDING and row.last_error
    assert row.next_attempt_at > now

    app.config["MAIL_PORT"] = working
    assert run(app, now).sent == 0  # not yet: the backoff holds
    later = now + timedelta(minutes=3)
    assert run(app, later).sent == 5
    assert run(app, later + timedelta(hours=1)).sent == 0
    assert subjects(inbox, "author@example.org") == ["Je voorstel is gekozen"]
    assert len(inbox.to("eager@example.org")) == 3


def test_a_mail_the_server_keeps_refusing_is_given_up(app, world, inbox):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        app.config["MAIL_PORT"] = probe.getsockname()[1]
    when = utcnow()
    for _ in range(MAX_ATTEMPTS):
        run(app, when)
        when += timedelta(hours=13)
    states = set(db.session.scalars(select(Outbox.state)))
    assert states == {OutboxState.FAILED}
    assert inbox.messages == []


def test_the_weekly_digest_collects_follow_news_in_one_mail_a_week(app, world, inbox, make_client):
    client = make_client()
    client.login("follower@example.org")
    follow(client, world)
    response = client.post(
        "/account/mail",
        {"own_outcome": "y", "follows": "y", "weekly_digest": "y"},
        page="/account/mail",
    )
    assert response.status_code == 303
    add_update(world, "Eerste nieuws")
    add_approved_expense(world)
    now = utcnow()
    assert run(app, now).sent == 7 - 2 + 1  # the two follow mails as one digest
    digest = inbox.to("follower@example.org")
    assert len(digest) == 1 and digest[0]["Subject"] == "Nieuws van deze week over wat je volgt"
    assert "Eerste nieuws" in mail_body(digest[0]) and "Houthandel" in mail_body(digest[0])

    update = ProgressUpdate(
        project_id=world["project"].id, body="Tweede nieuws", created_at=now + timedelta(days=1)
    )
    db.session.add(update)
    db.session.commit()
    assert run(app, now + timedelta(days=2)).sent == 0  # within the week: it waits
    assert run(app, now + timedelta(days=7, minutes=1)).sent == 1
    assert "Tweede nieuws" in mail_body(inbox.to("follower@example.org")[-1])
    assert len(inbox.to("follower@example.org")) == 2


def test_a_proposal_below_the_support_threshold_tells_its_authors_once(
    app, world, inbox, make_proposal, make_user
):
    people = world["people"]
    weak = make_proposal(world["voting"], people["loser"], State.INSUFFICIENT_SUPPORT)
    weak.add_event(
        "insufficient_support", None, "system", to_state=State.INSUFFICIENT_SUPPORT, message="1"
    )
    # a co-author who accepted hears of it too; one who turned it off does not
    co = make_user("mede@example.org", wijk=world["west"])
    off = make_user("uit@example.org", wijk=world["west"])
    for person in (co, off):
        db.session.add(
            CoAuthor(proposal_id=weak.id, email=person.email, user_id=person.id,
                     accepted_at=utcnow())
        )  # fmt: skip
    settings = NotificationSettings.defaults(off.id)
    settings.own_outcome = False
    db.session.add(settings)
    db.session.commit()
    run(app)
    run(app)
    for address in ("loser@example.org", "mede@example.org"):
        assert "Je voorstel kreeg te weinig steun" in subjects(inbox, address)
        assert subjects(inbox, address).count("Je voorstel kreeg te weinig steun") == 1
    text = mail_body(inbox.to("mede@example.org")[0])
    assert "staat daarom niet op het stembiljet" in text
    assert inbox.to("uit@example.org") == []


# --- following --------------------------------------------------------------------------------


def test_follow_and_unfollow_without_javascript_and_with_htmx(world, make_client):
    client = make_client()
    client.login("follower@example.org")
    pid = world["chosen"].id
    page = client.get(f"/voorstellen/{pid}").get_data(as_text=True)
    assert f'action="/voorstellen/{pid}/volgen"' in page and "Volgen" in page

    response = follow(client, world)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/{pid}")
    assert follow(client, world).status_code == 303  # a double click: still one follow
    assert db.session.scalar(select(func.count()).select_from(Follow)) == 1
    assert "Niet meer volgen" in client.get(f"/voorstellen/{pid}").get_data(as_text=True)

    fragment = follow(client, world, want="0", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text
    assert "Je volgt dit niet meer." in text and 'value="1"' in text
    assert db.session.scalar(select(func.count()).select_from(Follow)) == 0

    # the project page follows the same proposal
    project = world["project"]
    response = client.post(
        f"/projecten/{project.id}/volgen", {"want": "1"}, page=f"/projecten/{project.id}"
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/projecten/{project.id}"
    )
    assert db.session.scalar(select(Follow.proposal_id)) == world["chosen"].id


def test_following_needs_a_login_and_a_proposal_one_may_see(world, make_client, make_proposal):
    anonymous = make_client()
    response = follow(anonymous, world, page="/")
    assert response.status_code == 302 and "/inloggen" in response.headers["Location"]
    draft = make_proposal(world["done"], world["people"]["loser"], State.CONCEPT)
    client = make_client()
    client.login("follower@example.org")
    assert follow(client, world, proposal_id=draft.id, page="/").status_code == 404
    assert client.post("/projecten/9999/volgen", {}, page="/").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Follow)) == 0


def test_the_settings_page_saves_each_kind(world, make_client):
    client = make_client()
    assert "/inloggen" in client.get("/account/mail").headers["Location"]
    client.login("quiet@example.org")
    page = client.get("/account/mail").get_data(as_text=True)

    # the defaults: own proposal and follows on, round-wide mail off
    def checked(name: str) -> bool:
        tag = re.search(rf'<input[^>]*id="{name}"[^>]*>', page)
        assert tag, name
        return "checked" in tag.group(0)

    assert checked("own_outcome") and checked("follows")
    assert not checked("voting_opens") and not checked("weekly_digest")
    assert db.session.get(NotificationSettings, world["people"]["quiet"].id) is None
    response = client.post("/account/mail", {"result": "y"}, page="/account/mail")
    assert response.status_code == 303
    saved = db.session.get(NotificationSettings, world["people"]["quiet"].id)
    assert saved.result and not saved.own_outcome and not saved.follows
    assert not saved.voting_opens and not saved.weekly_digest


# --- unsubscribe ------------------------------------------------------------------------------


def test_unsubscribe_without_login_for_that_kind_only(app, world, inbox, make_client):
    run(app)
    eager = world["people"]["eager"]
    mails = {str(m["Subject"]): m for m in inbox.to("eager@example.org")}
    path = unsubscribe_path(mails["Het stemmen is begonnen"])
    client = make_client()  # not signed in

    with watching() as watch:
        page = client.get(path)
        forged_page = client.get(path[:-4] + "xxxx")
    assert page.status_code == 200 and forged_page.status_code == 404
    assert watch.statements and not watch.writes() and not watch.flushes and not watch.commits
    assert "Ja, meld me hiervoor af" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(NotificationSettings, eager.id).voting_opens  # a GET writes nothing

    done = client.raw.post(path, data={"List-Unsubscribe": "One-Click"})  # as a mail client
    assert done.status_code == 200
    assert "Je bent afgemeld" in done.get_data(as_text=True)
    db.session.expire_all()
    settings = db.session.get(NotificationSettings, eager.id)
    assert not settings.voting_opens and settings.reminder and settings.result

    replay = client.raw.post(path)
    assert replay.status_code == 200 and "al voor afgemeld" in replay.get_data(as_text=True)

    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    for response in (client.get(forged), client.raw.post(forged)):
        assert response.status_code == 404
        assert "Deze afmeldlink klopt niet" in response.get_data(as_text=True)
    # another person's settings are untouched
    assert db.session.get(NotificationSettings, world["people"]["elsewhere"].id).voting_opens


def test_an_unsubscribed_kind_that_waits_is_not_sent(app, world, inbox):
    with app.test_request_context():
        operations.discover()
        token = operations.unsubscribe_token(world["people"]["eager"].id, Kind.RESULT)
        kind, changed = operations.unsubscribe(token)
        assert (kind, changed) == (Kind.RESULT, True)
        operations.send_queue()
    assert "De uitslag is bekend" not in subjects(inbox, "eager@example.org")
    assert len(inbox.to("eager@example.org")) == 2


def test_a_token_of_another_kind_or_a_deleted_account_is_refused_kindly(app, world, make_client):
    client = make_client()
    with app.test_request_context():
        token = operations.unsubscribe_token(99_999, Kind.RESULT)
        other_salt = operations.choices._serializer().dumps([1, "nonsense"])
    for bad in (token, other_salt):
        response = client.raw.post(f"/meldingen/afmelden/{bad}")
        assert response.status_code == 404
        assert "Deze afmeldlink klopt niet" in response.get_data(as_text=True)


# --- the feed ---------------------------------------------------------------------------------


def test_the_wijk_feed_is_valid_atom_with_the_right_entries(app, world, make_client):
    people = world["people"]
    db.session.add(
        PhaseChange(
            round_id=world["voting"].id,
            from_phase=Phase.SUPPORT,
            to_phase=Phase.VOTING,
            actor_id=people["board"].id,
            reason="Interne notitie van Henk",
        )
    )
    db.session.commit()
    add_update(world, 'Bankjes <script>alert("x")</script> & "meer" geplaatst')
    response = make_client().get("/wijk/west/nieuws.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    text = response.get_data(as_text=True)
    root = ET.fromstring(response.data)  # noqa: S314 (our own feed, the thing under test)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{required}") is not None, required
    entries = root.findall(f"{ATOM}entry")
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert "Ronde in stemming: stemmen" in " ".join(titles).lower() or any(
        "Ronde in stemming" in t for t in titles
    )
    assert "Ronde met uitslag: de uitslag is bekend" in titles
    assert "Nieuws over Bankjes" in titles
    summaries = [e.findtext(f"{ATOM}summary") for e in entries]
    assert 'Bankjes <script>alert("x")</script> & "meer" geplaatst' in summaries
    assert "<script>" not in text  # escaped, not markup
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(ids) == len(set(ids)) == 3
    for entry in entries:
        assert entry.find(f"{ATOM}updated").text.endswith("Z")
        assert entry.find(f"{ATOM}link").get("href").startswith("http://wijkbudget.test/")
    # no personal data: no names, addresses or the board's own notes
    for private in ("Aisha", "Henk", "bestuur@example.org", "author@example.org", "Interne"):
        assert private not in text
    assert make_client().get("/wijk/bestaat-niet/nieuws.atom").status_code == 404
    # the wijk page points to it, for people and for feed readers
    wijk_page = make_client().get("/wijk/west").get_data(as_text=True)
    assert 'type="application/atom+xml" href="/wijk/west/nieuws.atom"' in wijk_page
