"""The wijkdialoog: everyone gets a turn, replies, edits and deletions, limits, reports and open
moderation, blocks, topics, meetings and the mail digest."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from tests.conftest import mail_body
from wijkbudget.accounts.models import Role
from wijkbudget.audit.models import AuditEvent
from wijkbudget.dialogue import operations
from wijkbudget.dialogue.models import (
    Comment,
    DialogueError,
    Follow,
    MailSettings,
    Meeting,
    PendingNotice,
    PostingBlock,
    RateLimited,
    Thread,
    ThreadStatus,
)
from wijkbudget.dialogue.operations import mail as dialogue_mail
from wijkbudget.extensions import db, utcnow
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Phase

LONG_AGO = timedelta(minutes=5)


@pytest.fixture
def people(west, make_user):
    return {
        name: make_user(f"{name.lower()}@example.org", wijk=west, name=name)
        for name in ("Anna", "Bram", "Chris", "Dilan")
    }


@pytest.fixture
def proposal(west, people, make_round, make_proposal):
    rnd = make_round(west, Phase.REVIEW)
    return make_proposal(rnd, people["Anna"], State.SUBMITTED, title="Bankjes")


@pytest.fixture
def thread(proposal):
    thread = operations.thread_for_proposal(proposal)
    db.session.commit()
    return thread


def signed_in(make_client, user):
    client = make_client()
    client.login(user.email)
    return client


def say(thread, user, text, minutes_ago, parent=None):
    comment = operations.post_comment(
        user, thread, text, parent=parent, now=utcnow() - timedelta(minutes=minutes_ago)
    )
    db.session.commit()
    return comment


def shown_order(client, thread, order="turns"):
    body = client.get(f"/gesprekken/{thread.id}?volgorde={order}").get_data(as_text=True)
    return re.findall(r'<div class="prose"><p>([^<]+)</p>', body)


# (author, minutes ago, text) → expected order "iedereen aan het woord"
TURN_TABLE = [
    ("Anna", 60, "A1"),
    ("Anna", 55, "A2"),
    ("Anna", 50, "A3"),
    ("Bram", 45, "B1"),
    ("Anna", 40, "A4"),
    ("Chris", 35, "C1"),
    ("Bram", 30, "B2"),
    ("Dilan", 5, "D1"),
]


def test_everyone_gets_a_turn(thread, people, client):
    for author, minutes, text in TURN_TABLE:
        say(thread, people[author], text, minutes)
    # first words of everyone (by time), then everyone's second, ...
    assert shown_order(client, thread) == ["A1", "B1", "C1", "D1", "A2", "B2", "A3", "A4"]
    assert shown_order(client, thread, "oldest") == [t for _a, _m, t in TURN_TABLE]
    assert shown_order(client, thread, "newest") == [t for _a, _m, t in reversed(TURN_TABLE)]
    body = client.get(f"/gesprekken/{thread.id}").get_data(as_text=True)
    assert "8 reacties" in body and "4 deelnemers" in body


def test_replies_nest_three_deep_and_survive_a_deleted_parent(thread, people, make_client, client):
    top = say(thread, people["Anna"], "Begin", 50)
    r1 = say(thread, people["Bram"], "Antwoord 1", 40, parent=top)
    r2 = say(thread, people["Chris"], "Antwoord 2", 30, parent=r1)
    r3 = say(thread, people["Dilan"], "Antwoord 3", 20, parent=r2)
    r4 = say(thread, people["Bram"], "Antwoord 4", 10, parent=r3)
    assert (r1.depth, r2.depth, r3.depth, r4.depth) == (1, 2, 3, 3)
    assert r4.parent_id == r2.id  # a deeper reply joins the deepest level
    assert {r.root_id for r in (r1, r2, r3, r4)} == {top.id}

    anna = signed_in(make_client, people["Anna"])
    assert (
        anna.post(
            f"/reacties/{top.id}/verwijderen", {}, page=f"/gesprekken/{thread.id}"
        ).status_code
        == 303
    )
    body = client.get(f"/gesprekken/{thread.id}").get_data(as_text=True)
    assert "verwijderd door schrijver" in body and "Begin" not in body
    assert "Antwoord 1" in body and "Antwoord 4" in body


def test_post_inline_with_htmx_and_without_javascript(thread, people, board, make_client):
    bram = signed_in(make_client, people["Bram"])
    url = f"/gesprekken/{thread.id}"
    response = bram.post(f"{url}/reacties", {"body": "Goed plan!"}, page=url)
    assert response.status_code == 303
    comment = db.session.scalar(select(Comment))
    assert response.headers["Location"].endswith(f"#reactie-{comment.id}")

    henk = signed_in(make_client, board)
    fragment = henk.post(
        f"{url}/reacties",
        {"body": "Wij kijken ernaar", "as_board": "y", "parent_id": str(comment.id)},
        page=url,
        headers={"HX-Request": "true"},
    )
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body and 'id="gesprek"' in body
    assert "reactie van het bestuur" in body and "board-response" in body
    # a resident cannot make their comment look like the board's
    db.session.expire_all()
    bram_again = say(thread, people["Chris"], "Ik ook", 0)
    assert bram_again.is_board_response is False


@pytest.mark.parametrize("odd", ["²", "99999999999", "abc"])
def test_a_hidden_id_that_is_no_id_is_not_found(thread, people, board, west, make_client, odd):
    """The reply's parent and the person to block come from hidden fields: "²" (str.isdigit
    says yes, int() says no) or a number too big for the column (PostgreSQL refuses it) is
    nobody and nothing: a 404, never a 500, and nothing is written."""
    anna = signed_in(make_client, people["Anna"])
    url = f"/gesprekken/{thread.id}/reacties"
    sent = anna.post(url, {"body": "Mooi plan", "parent_id": odd}, page=f"/gesprekken/{thread.id}")
    assert sent.status_code == 404
    assert db.session.scalar(select(func.count(Comment.id))) == 0
    henk = signed_in(make_client, board)
    block = f"/wijk/{west.slug}/bestuur/blokkeren"
    data = {"user_id": odd, "days": "7", "reason": "Scheldwoorden"}
    assert henk.post(block, data, page=f"/gesprekken/{thread.id}").status_code == 404


def test_edit_within_15_minutes_only(thread, people, make_client):
    fresh = say(thread, people["Bram"], "Eerst", 1)
    old = say(thread, people["Bram"], "Oud", 20)
    bram = signed_in(make_client, people["Bram"])
    response = bram.post(
        f"/reacties/{fresh.id}/bewerken",
        {"body": "Verbeterd"},
        page=f"/reacties/{fresh.id}/bewerken",
    )
    assert response.status_code == 303
    response = bram.post(
        f"/reacties/{old.id}/bewerken", {"body": "Te laat"}, page=f"/reacties/{fresh.id}/bewerken"
    )
    assert response.status_code == 422 and "eerste 15 minuten" in response.get_data(as_text=True)
    db.session.expire_all()
    assert (
        db.session.get(Comment, fresh.id).body == "Verbeterd"
        and db.session.get(Comment, fresh.id).edited_at
    )
    assert db.session.get(Comment, old.id).body == "Oud"
    chris = signed_in(make_client, people["Chris"])
    assert (
        chris.post(f"/reacties/{fresh.id}/bewerken", {"body": "Gekaapt"}, page="/").status_code
        == 403
    )
    assert chris.post(f"/reacties/{fresh.id}/verwijderen", {}, page="/").status_code == 403
    body = chris.get(f"/gesprekken/{thread.id}").get_data(as_text=True)
    assert "Verbeterd" in body and "bewerkt" in body


def test_rate_limits_answer_429(thread, people, make_client):
    bram = signed_in(make_client, people["Bram"])
    url = f"/gesprekken/{thread.id}"
    assert bram.post(f"{url}/reacties", {"body": "Een"}, page=url).status_code == 303
    response = bram.post(f"{url}/reacties", {"body": "Twee"}, page=url)
    assert response.status_code == 429 and "één reactie per 30 seconden" in response.get_data(
        as_text=True
    )
    assert "Twee" in response.get_data(as_text=True)  # what was typed stays
    # 20 per thread per day
    for i in range(20):
        operations.post_comment(
            people["Chris"], thread, f"n{i}", now=utcnow() - timedelta(hours=5, minutes=i)
        )
    db.session.commit()
    with pytest.raises(RateLimited):
        operations.post_comment(
            people["Chris"], thread, "nog een", now=utcnow() - timedelta(hours=1)
        )
    # another thread is another conversation
    other = Thread(
        neighbourhood_id=thread.neighbourhood_id,
        round_id=thread.round_id,
        kind="topic",
        status=ThreadStatus.OPEN,
        title="Ander onderwerp",
    )
    db.session.add(other)
    db.session.commit()
    operations.post_comment(people["Chris"], other, "hier wel", now=utcnow() - timedelta(hours=1))


def test_who_may_post(thread, west, oost, make_user, make_client):
    outsider = signed_in(make_client, make_user("o@example.org", wijk=oost))
    councillor = signed_in(
        make_client, make_user("raad@example.org", roles=((Role.COUNCILLOR, None),))
    )
    unverified = signed_in(make_client, make_user("n@example.org", wijk=west, verified=False))
    url = f"/gesprekken/{thread.id}"
    for client in (outsider, councillor, unverified):
        response = client.post(f"{url}/reacties", {"body": "Mag ik?"}, page=url)
        assert response.status_code == 422 and "Alleen bewoners van wijk West" in response.get_data(
            as_text=True
        )
    assert db.session.scalar(select(func.count(Comment.id))) == 0
    assert councillor.get(url).status_code == 200  # reading is for everyone


@pytest.mark.parametrize("workers_eligible", [True, False])
def test_someone_who_works_in_the_wijk_talks_about_the_proposals_of_a_round_open_to_them(
    west, oost, people, board, make_user, make_round, make_proposal, make_client, workers_eligible
):
    worker = make_user("werk@example.org", wijk=oost, name="Wim", work_wijk=west)
    rnd = make_round(west, Phase.REVIEW, workers_eligible=workers_eligible)
    thread = operations.thread_for_proposal(
        make_proposal(rnd, people["Anna"], State.SUBMITTED, title="Bankjes")
    )
    topic = operations.propose_topic(board, rnd, "Wat vindt de wijk belangrijk?", "")
    db.session.commit()
    bad = say(thread, people["Bram"], "Onaardig", 10)
    me = signed_in(make_client, worker)

    url = f"/gesprekken/{thread.id}"
    response = me.post(f"{url}/reacties", {"body": "Ik werk hier en doe mee"}, page=url)
    reported = me.post(f"/reacties/{bad.id}/melden", {"reason": "Naar"}, page=url)
    if workers_eligible:
        assert response.status_code == 303
        assert "Ik werk hier en doe mee" in me.get(url).get_data(as_text=True)
        assert reported.status_code == 303
    else:
        assert response.status_code == 422
        assert "Alleen bewoners van wijk West met een bevestigd account praten mee." in (
            response.get_data(as_text=True)
        )
        assert reported.status_code == 422
        assert "Alleen wie in dit gesprek mag meepraten" in reported.get_data(as_text=True)

    # a topic is about the wijk as a whole: its residents (and board) only, in either round
    url = f"/gesprekken/{topic.id}"
    response = me.post(f"{url}/reacties", {"body": "En ik?"}, page=url)
    assert response.status_code == 422
    expected = (
        "Over de onderwerpen van de wijk praten alleen bewoners van wijk West mee."
        if workers_eligible
        else "Alleen bewoners van wijk West met een bevestigd account praten mee."
    )
    assert expected in response.get_data(as_text=True)
    page = f"/wijk/{west.slug}/rondes/{rnd.id}/onderwerpen/nieuw"
    response = me.post(page, {"title": "Mijn onderwerp", "body": ""}, page=url)
    assert response.status_code == 403 and "Alleen bewoners en het bestuur van de wijk" in (
        response.get_data(as_text=True)
    )
    assert db.session.scalar(select(func.count(Thread.id)).where(Thread.kind == "topic")) == 1
    authors = set(db.session.scalars(select(Comment.author_id)))
    assert (worker.id in authors) is workers_eligible
    # a resident of the wijk is unaffected
    dilan = signed_in(make_client, people["Dilan"])
    assert dilan.post(f"{url}/reacties", {"body": "Groen!"}, page=url).status_code == 303


def test_thread_closes_after_voting(thread, people, client):
    say(thread, people["Bram"], "Voor de uitslag", 10)
    thread.round.phase = Phase.RESULT
    db.session.commit()
    with pytest.raises(DialogueError):
        operations.post_comment(people["Chris"], thread, "Te laat")
    body = client.get(f"/gesprekken/{thread.id}").get_data(as_text=True)
    assert "Voor de uitslag" in body and "gesloten" in body


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[klik](javascript:alert(1))",
        "[klik](JaVaScRiPt:alert(1))",
        "[data](data:text/html;base64,PHNjcmlwdD4=)",
        "<a href='javascript:alert(1)'>x</a>",
        "<b onmouseover=alert(1)>vet<",
        '"><svg onload=alert(1)>',
    ],
)
def test_xss_in_comments_names_and_topics_is_inert(
    thread, people, west, make_round, client, payload
):
    people["Bram"].display_name = payload[:80]
    db.session.commit()
    say(thread, people["Bram"], payload, 10)
    topic = operations.propose_topic(people["Chris"], thread.round, payload[:160], payload)
    topic.status = ThreadStatus.OPEN
    db.session.commit()
    for url in (
        f"/gesprekken/{thread.id}",
        f"/gesprekken/{topic.id}",
        f"/wijk/west/rondes/{thread.round_id}",
    ):
        body = client.get(url).get_data(as_text=True)
        main = body.split('id="inhoud"')[1]
        assert "<script>alert" not in main and "<img" not in main and "<svg" not in main
        assert not re.search(r"<[a-z]+[^>]*\son\w+\s*=", main, re.I)
        assert not re.search(r'<[^>]*href\s*=\s*["\']?\s*(javascript|data):', main, re.I)


# --- moderation ------


def test_three_reports_hide_pending_review_and_reporting_twice_is_refused(
    thread, people, board, make_user, west, make_client, client
):
    bad = say(thread, people["Bram"], "Jij bent een sukkel", 10)
    url = f"/gesprekken/{thread.id}"
    reporters = [signed_in(make_client, people[n]) for n in ("Anna", "Chris")]
    assert (
        reporters[0]
        .post(f"/reacties/{bad.id}/melden", {"reason": "Persoonlijke aanval"}, page=url)
        .status_code
        == 303
    )
    again = reporters[0].post(f"/reacties/{bad.id}/melden", {"reason": "Nog eens"}, page=url)
    assert again.status_code == 409 and "al gemeld" in again.get_data(as_text=True)
    assert (
        reporters[1].post(f"/reacties/{bad.id}/melden", {"reason": "Naar"}, page=url).status_code
        == 303
    )
    assert "Jij bent een sukkel" in client.get(url).get_data(
        as_text=True
    )  # two reports: still shown
    third = signed_in(make_client, people["Dilan"])
    assert (
        third.post(f"/reacties/{bad.id}/melden", {"reason": "Onaardig"}, page=url).status_code
        == 303
    )

    public = client.get(url).get_data(as_text=True)
    assert "Jij bent een sukkel" not in public and "verborgen door moderatie" in public
    henk = signed_in(make_client, board)
    assert "Jij bent een sukkel" in henk.get(url).get_data(as_text=True)  # moderators still read it
    queue = henk.get(f"/wijk/{west.slug}/bestuur/moderatie").get_data(as_text=True)
    assert "3 meldingen" in queue
    assert (
        "anna@example.org" not in queue and "Persoonlijke aanval" not in public
    )  # reporters unseen

    # the board decides in the open
    response = henk.post(
        f"/wijk/{west.slug}/bestuur/reacties/{bad.id}/verbergen",
        {"reason": "persoonlijke aanval"},
        page=f"/wijk/{west.slug}/bestuur/moderatie",
    )
    assert response.status_code == 303
    public = client.get(url).get_data(as_text=True)
    assert "verborgen door moderatie: persoonlijke aanval" in public and "sukkel" not in public
    actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-2:] == ["comment.auto_hide", "comment.hide"]

    assert (
        henk.post(
            f"/wijk/{west.slug}/bestuur/reacties/{bad.id}/herstellen", {}, page="/"
        ).status_code
        == 303
    )
    assert "Jij bent een sukkel" in client.get(url).get_data(as_text=True)


def test_moderation_is_for_the_board_of_the_wijk(thread, people, oost, make_user, make_client):
    bad = say(thread, people["Bram"], "Tekst", 10)
    other_board = signed_in(
        make_client, make_user("b.oost@example.org", wijk=oost, roles=((Role.BOARD, oost),))
    )
    response = other_board.post(
        f"/wijk/west/bestuur/reacties/{bad.id}/verbergen", {"reason": "weg"}, page="/"
    )
    assert response.status_code == 403
    response = other_board.post(
        f"/wijk/{oost.slug}/bestuur/reacties/{bad.id}/verbergen", {"reason": "weg"}, page="/"
    )
    assert response.status_code == 404
    resident = signed_in(make_client, people["Chris"])
    assert resident.get("/wijk/west/bestuur/moderatie").status_code == 403
    db.session.expire_all()
    assert db.session.get(Comment, bad.id).hidden_at is None


def test_blocked_user_cannot_post_and_is_told_why(thread, people, board, west, make_client, inbox):
    henk = signed_in(make_client, board)
    response = henk.post(
        f"/wijk/{west.slug}/bestuur/blokkeren",
        {"user_id": str(people["Bram"].id), "days": "7", "reason": "Herhaaldelijk schelden"},
        page=f"/wijk/{west.slug}/bestuur/moderatie",
    )
    assert response.status_code == 303
    assert "Herhaaldelijk schelden" in mail_body(inbox.last_to("bram@example.org"))
    bram = signed_in(make_client, people["Bram"])
    url = f"/gesprekken/{thread.id}"
    response = bram.post(f"{url}/reacties", {"body": "Hallo?"}, page=url)
    assert response.status_code == 422 and "Herhaaldelijk schelden" in response.get_data(
        as_text=True
    )
    assert db.session.scalar(select(func.count(Comment.id))) == 0
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "user.block"))


# --- topics and meetings ------


def test_resident_suggests_a_topic_board_approves(thread, people, board, west, make_client, client):
    rnd = thread.round
    anna = signed_in(make_client, people["Anna"])
    page = f"/wijk/{west.slug}/rondes/{rnd.id}/onderwerpen/nieuw"
    response = anna.post(page, {"title": "Wat heeft topprioriteit?", "body": ""}, page=page)
    assert response.status_code == 303
    topic = db.session.scalar(select(Thread).where(Thread.kind == "topic"))
    assert topic.status == ThreadStatus.PROPOSED
    assert client.get(f"/gesprekken/{topic.id}").status_code == 404  # not public yet
    assert "Wat heeft topprioriteit?" not in client.get(
        f"/wijk/{west.slug}/rondes/{rnd.id}"
    ).get_data(as_text=True)
    henk = signed_in(make_client, board)
    assert (
        henk.post(
            f"/wijk/{west.slug}/bestuur/onderwerpen/{topic.id}/goedkeuren", {}, page="/"
        ).status_code
        == 303
    )
    assert client.get(f"/gesprekken/{topic.id}").status_code == 200
    assert "Wat heeft topprioriteit?" in client.get(f"/wijk/{west.slug}/rondes/{rnd.id}").get_data(
        as_text=True
    )


def test_who_cannot_suggest_a_topic_is_told_before_writing_one(
    thread, people, west, make_user, oost, make_client
):
    rnd = thread.round
    round_page = f"/wijk/{west.slug}/rondes/{rnd.id}"
    page = f"{round_page}/onderwerpen/nieuw"
    anna = signed_in(make_client, people["Anna"])
    assert page in anna.get(round_page).get_data(as_text=True)
    assert 'name="title"' in anna.get(page).get_data(as_text=True)
    stranger = signed_in(make_client, make_user("oost@example.org", wijk=oost))
    assert page not in stranger.get(round_page).get_data(as_text=True)  # no link to a dead end
    refused = stranger.get(page)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 403 and 'name="title"' not in body
    assert "Alleen bewoners en het bestuur van de wijk kunnen een onderwerp voorstellen." in body
    sent = stranger.post(page, {"title": "Toch een onderwerp", "body": ""}, page=round_page)
    assert sent.status_code == 403
    assert db.session.scalar(select(func.count(Thread.id)).where(Thread.kind == "topic")) == 0
    rnd.phase = Phase.RESULT  # too late for anyone
    db.session.commit()
    assert page not in anna.get(round_page).get_data(as_text=True)
    late = anna.get(page)
    assert late.status_code == 403 and "geen onderwerpen meer" in late.get_data(as_text=True)


def test_meeting_shows_on_round_and_proposal(thread, proposal, board, west, make_client, client):
    henk = signed_in(make_client, board)
    page = f"/wijk/{west.slug}/bestuur/rondes/{proposal.round_id}/bijeenkomsten/nieuw"
    response = henk.post(
        page,
        {
            "held_at": "2026-10-01T19:30",
            "place": "Buurthuis De Boei",
            "attendees": "23",
            "summary": "Veel steun voor **bankjes**.",
            "proposals": str(proposal.id),
        },
        page=page,
    )
    assert response.status_code == 303
    for url in (f"/wijk/{west.slug}/rondes/{proposal.round_id}", f"/voorstellen/{proposal.id}"):
        body = client.get(url).get_data(as_text=True)
        assert (
            "Buurthuis De Boei" in body
            and "23 aanwezigen" in body
            and "<strong>bankjes</strong>" in body
        )
    assert "meeting.create" in db.session.scalars(select(AuditEvent.action)).all()


def test_a_meeting_in_year_one_is_explained_not_a_crash(proposal, board, west, make_client):
    """Found by the route fuzzer: year 1 left the calendar on its way to UTC (a 500)."""
    henk = signed_in(make_client, board)
    page = f"/wijk/{west.slug}/bestuur/rondes/{proposal.round_id}/bijeenkomsten/nieuw"
    for moment in ("0001-01-01T00:00", "9999-12-31T23:59"):
        data = {"held_at": moment, "place": "Buurthuis", "attendees": "3", "summary": "Kort."}
        response = henk.post(page, data, page=page)
        assert response.status_code == 422, moment
        assert "Vul een datum in tussen 1900 en 2999." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Meeting.id))) == 0


# --- scale ------


def test_thread_page_query_count_is_flat(thread, people, client, count_queries):
    authors = list(people.values())

    def add(n: int, start: int) -> None:
        rows = []
        for i in range(start, start + n):
            rows.append(
                {
                    "thread_id": thread.id,
                    "author_id": authors[i % 4].id,
                    "body": f"reactie {i}",
                    "depth": 0,
                    "author_turn": i // 4 + 1,
                    "created_at": utcnow() - timedelta(minutes=i),
                    "is_board_response": False,
                    "hidden_reason": "",
                    "report_count": 0,
                }
            )
        db.session.execute(insert(Comment), rows)
        db.session.commit()
        roots = list(
            db.session.scalars(select(Comment.id).where(Comment.thread_id == thread.id).limit(5))
        )
        replies = [
            {
                "thread_id": thread.id,
                "author_id": authors[(j + 1) % 4].id,
                "body": f"antwoord {j}",
                "parent_id": root,
                "root_id": root,
                "depth": 1,
                "author_turn": 99,
                "created_at": utcnow(),
                "is_board_response": False,
                "hidden_reason": "",
                "report_count": 0,
            }
            for j, root in enumerate(roots)
        ]
        db.session.execute(insert(Comment), replies)
        db.session.commit()

    url = f"/gesprekken/{thread.id}"
    add(5, 0)
    client.get(url)
    with count_queries() as few:
        assert client.get(url).status_code == 200
    add(495, 5)
    with count_queries() as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


# --- mail ------


def test_digest_batches_and_unsubscribe_stops_mail(app, thread, people, make_client, inbox, client):
    chris = signed_in(make_client, people["Chris"])
    chris.post(f"/gesprekken/{thread.id}/volgen", {}, page=f"/gesprekken/{thread.id}")
    say(thread, people["Bram"], "Eerste reactie", 50)
    say(thread, people["Dilan"], "Tweede reactie", 40)
    with app.test_request_context():
        assert operations.send_digests() == 2  # Anna (author) and Chris (follower): one mail each
    anna_mail = inbox.to("anna@example.org")
    assert len(anna_mail) == 1
    text = mail_body(anna_mail[0])
    assert "Eerste reactie" in text and "Tweede reactie" in text
    assert not inbox.to("bram@example.org")  # nobody hears about their own comment

    # within the hour: collected, not sent; after it: sent
    say(thread, people["Bram"], "Derde reactie", 0)
    with app.test_request_context():
        assert operations.send_digests() == 0
        assert operations.send_digests(now=utcnow() + timedelta(hours=1, minutes=1)) == 2

    link = re.search(
        r"https?://\S+/afmelden/\S+", mail_body(inbox.to("anna@example.org")[-1])
    ).group(0)
    path = re.sub(r"^https?://[^/]+", "", link)
    assert "Ja, stuur me geen mail meer" in client.get(path).get_data(as_text=True)
    assert client.raw.post(path).status_code == 200  # one click, no login, no form token needed
    say(thread, people["Dilan"], "Vierde reactie", 0)
    with app.test_request_context():
        operations.send_digests(now=utcnow() + timedelta(hours=3))
    assert len(inbox.to("anna@example.org")) == 2
    assert client.raw.post("/afmelden/vervalst").status_code == 404


def test_a_long_reply_chain_is_cut_on_the_thread_page_and_paged_on_its_own(
    thread, people, client, monkeypatch, count_queries
):
    from wijkbudget.dialogue import queries

    names = ["Anna", "Bram", "Chris", "Dilan"]
    top = say(thread, people["Anna"], "Begin", 300)
    other = say(thread, people["Bram"], "Ander onderwerp", 299)
    say(thread, people["Chris"], "Kort antwoord", 298, parent=other)
    parent = top
    for n in range(1, 26):  # 25 replies, each answering the one before (three deep, then flat)
        parent = say(thread, people[names[n % 4]], f"Antwoord {n:02d}.", 297 - n, parent=parent)
    body = client.get(f"/gesprekken/{thread.id}").get_data(as_text=True)
    shown = re.findall(r"Antwoord (\d\d)\.", body)
    assert shown == [f"{n:02d}" for n in range(1, queries.REPLIES_SHOWN + 1)]
    assert "Kort antwoord" in body
    link = f"/reacties/{top.id}"
    assert f'href="{link}"' in body and "Toon alle 25 antwoorden" in body
    assert f'href="/reacties/{other.id}"' not in body  # everything of that one is on the page

    # the comment's own page: every reply once, a page at a time, oldest first
    monkeypatch.setattr(queries, "REPLIES_PER_PAGE", 10)
    seen = []
    for page in (1, 2, 3):
        page_body = client.get(f"{link}?page={page}").get_data(as_text=True)
        seen += re.findall(r"Antwoord (\d\d)\.", page_body)
        assert ("Begin" in page_body) == (page == 1)
    assert seen == [f"{n:02d}" for n in range(1, 26)]
    assert client.get(f"/reacties/{parent.id}").status_code == 404  # not a top-level comment
    # the thread page does not grow with the chain
    client.get(f"/gesprekken/{thread.id}")
    with count_queries() as before:
        client.get(f"/gesprekken/{thread.id}")
    for n in range(26, 40):
        parent = say(thread, people[names[n % 4]], f"Nog {n}.", 100 - n, parent=parent)
    client.get(f"/gesprekken/{thread.id}")
    with count_queries() as after:
        client.get(f"/gesprekken/{thread.id}")
    assert len(after) == len(before), "\n\n".join(after)


# --- one transaction per use case, double clicks (issue 17) ------------------------------------


def test_a_conversation_is_started_by_a_post_never_by_a_page(
    west, people, proposal, make_client, client, count_queries
):
    """A proposal made before every proposal got its conversation: its page offers to start it
    (and writes nothing); the button starts it once, however often it is pressed."""
    url = f"/voorstellen/{proposal.id}/gesprek"
    with count_queries() as statements:
        page = client.get(url)
    assert page.status_code == 200 and "Over dit voorstel is nog niet gepraat." in (
        page.get_data(as_text=True)
    )
    assert [s for s in statements if not s.lstrip().upper().startswith("SELECT")] == []
    assert db.session.scalar(select(func.count(Thread.id))) == 0
    bram = signed_in(make_client, people["Bram"])
    token = bram.csrf(url)  # a double click: both presses from the same page
    first = bram.post(url, {"csrf_token": token})
    second = bram.post(url, {"csrf_token": token})
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count(Thread.id))) == 1
    assert client.get(url).status_code == 303  # from now on straight to it


def test_follow_carries_its_intent(thread, people, make_client):
    chris = signed_in(make_client, people["Chris"])
    url = f"/gesprekken/{thread.id}"
    assert 'name="want" value="1"' in chris.get(url).get_data(as_text=True)
    for want, follows in (("1", 1), ("1", 1), ("0", 0), ("0", 0)):
        assert chris.post(f"{url}/volgen", {"want": want}, page=url).status_code == 303
        assert db.session.scalar(select(func.count(Follow.id))) == follows
    chris.post(f"{url}/volgen", {"want": "1"}, page=url)
    assert 'name="want" value="0"' in chris.get(url).get_data(as_text=True)


def test_mail_settings_page_only_reads(people, make_client, count_queries):
    anna = signed_in(make_client, people["Anna"])
    with count_queries() as statements:
        assert anna.get("/account/meldingen").status_code == 200
    assert [s for s in statements if not s.lstrip().upper().startswith("SELECT")] == []
    assert db.session.scalar(select(func.count(MailSettings.user_id))) == 0
    page = "/account/meldingen"
    assert anna.post(page, {"comment_mail": ""}, page=page).status_code == 303
    assert anna.post(page, {"comment_mail": ""}, page=page).status_code == 303
    settings = db.session.scalars(select(MailSettings)).all()
    assert len(settings) == 1 and settings[0].comment_mail is False


def test_the_boards_decisions_about_a_comment_are_taken_once(
    thread, people, board, west, make_client
):
    bad = say(thread, people["Bram"], "Onaardig", 10)
    henk = signed_in(make_client, board)
    base = f"/wijk/{west.slug}/bestuur/reacties/{bad.id}"
    queue = f"/wijk/{west.slug}/bestuur/moderatie"
    # nothing to dismiss yet
    henk.post(f"{base}/meldingen-afwijzen", {}, page=queue)
    assert "Er zijn geen open meldingen bij deze reactie." in henk.get(queue).get_data(as_text=True)
    for _ in range(2):
        henk.post(f"{base}/verbergen", {"reason": "persoonlijke aanval"}, page=queue)
    assert "Het bestuur heeft deze reactie al verborgen." in henk.get(queue).get_data(as_text=True)
    for _ in range(2):
        henk.post(f"{base}/herstellen", {}, page=queue)
    assert "Deze reactie is niet verborgen." in henk.get(queue).get_data(as_text=True)
    actions = list(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == bad.id))
    )
    assert actions.count("comment.hide") == 1 and actions.count("comment.restore") == 1
    assert "comment.dismiss_reports" not in actions


def test_double_clicks_on_topic_block_meeting_delete_and_approve(
    thread, people, board, west, make_client, inbox
):
    rnd = thread.round
    anna = signed_in(make_client, people["Anna"])
    page = f"/wijk/{west.slug}/rondes/{rnd.id}/onderwerpen/nieuw"
    for _ in range(2):
        assert anna.post(page, {"title": "Groen", "body": ""}, page=page).status_code == 303
    topics = db.session.scalars(select(Thread).where(Thread.kind == "topic")).all()
    assert len(topics) == 1
    henk = signed_in(make_client, board)
    approve = f"/wijk/{west.slug}/bestuur/onderwerpen/{topics[0].id}/goedkeuren"
    henk.post(approve, {}, page="/")
    henk.post(approve, {}, page="/")
    assert "Dit onderwerp is al open." in henk.get(f"/gesprekken/{topics[0].id}").get_data(
        as_text=True
    )
    block = f"/wijk/{west.slug}/bestuur/blokkeren"
    data = {"user_id": str(people["Bram"].id), "days": "7", "reason": "Schelden"}
    for _ in range(2):
        assert henk.post(block, data, page="/").status_code == 303
    assert db.session.scalar(select(func.count(PostingBlock.id))) == 1
    assert len(inbox.to("bram@example.org")) == 1
    meeting = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/bijeenkomsten/nieuw"
    data = {"held_at": "2026-10-01T19:30", "place": "De Boei", "attendees": "9", "summary": ""}
    for _ in range(2):
        assert henk.post(meeting, data, page=meeting).status_code == 303
    other = henk.post(meeting, {**data, "attendees": "10"}, page=meeting)
    assert other.status_code == 422 and "Er staat al een bijeenkomst" in other.get_data(
        as_text=True
    )
    assert db.session.scalar(select(func.count(Meeting.id))) == 1
    mine = say(thread, people["Chris"], "Foutje", 1)
    chris = signed_in(make_client, people["Chris"])
    for _ in range(2):
        assert chris.post(f"/reacties/{mine.id}/verwijderen", {}, page="/").status_code == 303


def test_the_conversation_closes_when_voting_ends_by_its_date(thread, people, make_client):
    """Whether or not the board has closed the vote yet."""
    rnd = thread.round
    rnd.phase = Phase.VOTING
    rnd.set_start(Phase.RESULT, utcnow() - timedelta(minutes=1))
    db.session.commit()
    bram = signed_in(make_client, people["Bram"])
    url = f"/gesprekken/{thread.id}"
    response = bram.post(f"{url}/reacties", {"body": "Te laat"}, page=url)
    assert response.status_code == 422 and "gesloten" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Comment.id))) == 0


def test_a_digest_is_sent_after_its_commit(app, thread, people, inbox, monkeypatch):
    """A digest whose use case fails sends nothing and keeps what waits, for the next run."""
    say(thread, people["Bram"], "Eerste reactie", 50)

    def broken(*args, **kwargs):
        raise RuntimeError("database weg")

    with app.test_request_context():
        monkeypatch.setattr(dialogue_mail, "unsubscribe_token", broken)
        with pytest.raises(RuntimeError):
            operations.send_digests()
        assert inbox.to("anna@example.org") == []
        assert db.session.scalar(select(func.count(PendingNotice.id))) == 1
        monkeypatch.undo()
        assert operations.send_digests() == 1
    assert len(inbox.to("anna@example.org")) == 1


# --- an invalid moderation form changes nothing and says why ------------------------------------


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"reason": ""}, "Schrijf waarom de reactie verborgen wordt."),
        ({"reason": "x" * 301}, "Hoogstens 300 tekens."),
    ],
)
def test_an_invalid_hide_form_hides_nothing_and_says_why(
    thread, people, board, west, make_client, fields, said
):
    bad = say(thread, people["Bram"], "Tekst", 10)
    henk = signed_in(make_client, board)
    moderation = f"/wijk/{west.slug}/bestuur/moderatie"
    response = henk.post(
        f"/wijk/{west.slug}/bestuur/reacties/{bad.id}/verbergen", fields, page=moderation
    )
    assert response.status_code == 303
    assert said in henk.get(moderation).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Comment, bad.id).hidden_at is None
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"days": "-1", "reason": "Schelden"}, "Kies 1 tot 365 dagen."),
        ({"days": "", "reason": "Schelden"}, "Vul een aantal dagen in."),
        ({"days": "400", "reason": "Schelden"}, "Kies 1 tot 365 dagen."),
        ({"days": "7", "reason": ""}, "Schrijf de reden."),
        ({"days": "7", "reason": "x" * 501}, "Hoogstens 500 tekens."),
    ],
)
def test_an_invalid_block_form_blocks_nobody_and_says_why(
    thread, people, board, west, make_client, inbox, fields, said
):
    henk = signed_in(make_client, board)
    moderation = f"/wijk/{west.slug}/bestuur/moderatie"
    response = henk.post(
        f"/wijk/{west.slug}/bestuur/blokkeren",
        {"user_id": str(people["Bram"].id), **fields},
        page=moderation,
    )
    assert response.status_code == 303
    assert said in henk.get(moderation).get_data(as_text=True)
    assert db.session.scalar(select(func.count(PostingBlock.id))) == 0
    assert inbox.to("bram@example.org") == []
