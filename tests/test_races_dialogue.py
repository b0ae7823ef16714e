"""Races in the wijkdialoog, against the real PostgreSQL: N requests at the same instant by one
person or on one comment, repeated with fresh data; afterwards the rule holds (the pace limit,
the counts equal to the rows, one report per person, one decision of the board, one follow, one
topic, block, meeting or conversation per double click, one digest per person) and no request
got a 5xx."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from tests.concurrency import (
    BoardScene,
    assert_no_server_errors,
    audits,
    board_scene,
    fresh,
    postgres_only,
    press_at_once,
    race,
    repeat,
    send,
    statuses,
)
from wijkbudget.accounts.models import User
from wijkbudget.dialogue import operations
from wijkbudget.dialogue.models import (
    Comment,
    Follow,
    MailSettings,
    Meeting,
    PendingNotice,
    PostingBlock,
    Report,
    Thread,
    ThreadKind,
    ThreadStatus,
)
from wijkbudget.extensions import db, utcnow
from wijkbudget.rounds.models import Phase, Round

pytestmark = postgres_only

N = 6


@dataclass
class Scene(BoardScene):
    rnd: Round
    author: User
    residents: list[User]


@pytest.fixture
def scene(make_wijk, make_user, make_round) -> Scene:
    base = board_scene(make_wijk, make_user)
    wijk = base["wijk"]
    return Scene(
        **base,
        rnd=make_round(wijk, Phase.REVIEW),
        author=make_user("indiener@example.org", wijk=wijk),
        residents=[make_user(f"bewoner{i}@example.org", wijk=wijk) for i in range(N)],
    )


@pytest.fixture
def new_thread(scene, make_proposal):
    """The conversation about a fresh proposal, for one attempt."""

    def make() -> int:
        return operations.thread_for_proposal(make_proposal(scene.rnd, scene.author)).id

    return make


@pytest.fixture
def new_comment(new_thread):
    """``new_comment(author, text, minutes_ago)``: a comment in a fresh conversation, for one
    attempt; returns its id."""

    def make(author: User, text: str, minutes_ago: int = 10) -> int:
        return say(new_thread(), db.session.get(User, author.id), text, minutes_ago)

    return make


def say(thread_id: int, user: User, text: str, minutes_ago: int = 10) -> int:
    thread = db.session.get(Thread, thread_id)
    return operations.post_comment(
        user, thread, text, now=utcnow() - timedelta(minutes=minutes_ago)
    ).id


def long_ago(user: User) -> None:
    """Move the person's comments two hours back: the next attempt starts with a fresh pace."""
    for comment in db.session.scalars(select(Comment).where(Comment.author_id == user.id)):
        comment.created_at -= timedelta(hours=2)
    db.session.commit()


def comments_in(thread_id: int) -> int:
    return db.session.scalar(select(func.count(Comment.id)).where(Comment.thread_id == thread_id))


# --- comments and their pace ------------------------------------------------------------------


def test_one_person_posting_at_once_keeps_the_pace(scene, clients, new_thread):
    """One comment per 30 seconds, also when one person sends N at once, in one conversation
    or in N conversations; the others are told to slow down (429)."""
    person = scene.residents[0]
    tabs = clients(*[person.email] * N)
    for _attempt in repeat():
        for spread in (False, True):
            threads = [new_thread() for _ in range(N if spread else 1)]

            def contender(i: int, threads: list[int] = threads) -> Any:
                client, token = tabs[i]
                thread_id = threads[i % len(threads)]
                url = f"/gesprekken/{thread_id}/reacties"
                return lambda: send(client, token, url, {"body": f"Reactie {i}"})

            responses = race(N, contender)
            assert_no_server_errors(responses)
            assert sorted(statuses(responses)) == [303] + [429] * (N - 1)
            fresh()
            made = db.session.scalar(
                select(func.count(Comment.id)).where(
                    Comment.author_id == person.id, Comment.thread_id.in_(threads)
                )
            )
            assert made == 1
            for thread_id in threads:
                thread = db.session.get(Thread, thread_id)
                assert thread.comment_count == comments_in(thread_id)
            long_ago(db.session.get(User, person.id))


def test_people_posting_at_once_are_all_counted(scene, clients, new_thread):
    """N people in one conversation at once: N comments, each their author's first turn, and
    the counts on the page equal the rows."""
    people = clients(*(r.email for r in scene.residents))
    for _attempt in repeat():
        thread_id = new_thread()
        url = f"/gesprekken/{thread_id}/reacties"
        responses = press_at_once(people, url, lambda i: {"body": f"Mijn mening {i}"})
        assert statuses(responses) == [303] * N
        fresh()
        thread = db.session.get(Thread, thread_id)
        assert thread.comment_count == comments_in(thread_id) == N
        assert thread.participant_count == N
        turns = db.session.scalars(
            select(Comment.author_turn).where(Comment.thread_id == thread_id)
        )
        assert set(turns) == {1}
        for resident in scene.residents:
            long_ago(resident)


def test_a_block_racing_a_comment(scene, clients, new_thread):
    """The board blocks someone while they post: the comment came before the block, or it is
    refused."""
    person = scene.residents[0]
    tabs = clients(*[person.email] * (N - 1))
    board = clients(scene.board.email)[0]
    for attempt in repeat():
        thread_id = new_thread()

        def contender(i: int, thread_id: int = thread_id, attempt: int = attempt) -> Any:
            if i == N - 1:
                client, token = board
                url = f"/wijk/{scene.slug}/bestuur/blokkeren"
                data = {"user_id": str(person.id), "days": "1", "reason": f"Schelden {attempt}"}
                return lambda: send(client, token, url, data)
            client, token = tabs[i]
            url = f"/gesprekken/{thread_id}/reacties"
            return lambda: send(client, token, url, {"body": f"Nog even dit {i}"})

        responses = race(N, contender)
        assert_no_server_errors(responses)
        fresh()
        block = db.session.scalars(
            select(PostingBlock).where(PostingBlock.reason == f"Schelden {attempt}")
        ).one()
        posted = db.session.scalars(select(Comment).where(Comment.thread_id == thread_id)).all()
        assert len(posted) <= 1
        assert all(c.created_at <= block.created_at for c in posted)
        db.session.execute(update(PostingBlock).values(until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        long_ago(db.session.get(User, person.id))


def test_deleting_twice_at_once(scene, clients, new_comment):
    person = scene.residents[0]
    tabs = clients(*[person.email] * 4)
    for _attempt in repeat():
        comment_id = new_comment(person, "Foutje", 1)
        responses = press_at_once(tabs, f"/reacties/{comment_id}/verwijderen")
        assert statuses(responses) == [303] * len(tabs)
        fresh()
        comment = db.session.get(Comment, comment_id)
        assert comment.is_deleted and comment.body == ""
        long_ago(db.session.get(User, person.id))


# --- reports and moderation -------------------------------------------------------------------


def test_reporting_twice_at_once_is_one_report(scene, clients, new_comment):
    reporter = scene.residents[0]
    tabs = clients(*[reporter.email] * 4)
    for _attempt in repeat():
        comment_id = new_comment(scene.author, "Onaardig")
        reason = {"reason": "Persoonlijke aanval"}
        responses = press_at_once(tabs, f"/reacties/{comment_id}/melden", reason)
        assert sorted(statuses(responses)) == [303] + [409] * (len(tabs) - 1)
        fresh()
        assert (
            db.session.scalar(select(func.count(Report.id)).where(Report.comment_id == comment_id))
            == 1
        )
        assert db.session.get(Comment, comment_id).report_count == 1
        long_ago(db.session.get(User, scene.author.id))


def test_reports_at_once_hide_the_comment_once(scene, clients, new_comment):
    """N people report one comment at once: every report counted, hidden once (one entry in
    the log), whatever the order."""
    people = clients(*(r.email for r in scene.residents))
    for _attempt in repeat():
        comment_id = new_comment(scene.author, "Onaardig")
        url = f"/reacties/{comment_id}/melden"
        responses = press_at_once(people, url, lambda i: {"reason": f"Naar {i}"})
        assert statuses(responses) == [303] * N
        fresh()
        comment = db.session.get(Comment, comment_id)
        assert comment.report_count == N and comment.is_hidden
        assert audits("comment.auto_hide", comment_id) == 1
        long_ago(db.session.get(User, scene.author.id))


def test_the_board_decides_about_a_comment_once(scene, clients, new_comment):
    """Two board members (and double clicks) hiding, showing again, or dismissing the reports of
    one comment at once: one decision each time, one entry in the log."""
    board = clients(*[scene.board.email, scene.board2.email] * 2)
    base = f"/wijk/{scene.slug}/bestuur/reacties"
    for _attempt in repeat():
        comment_id = new_comment(scene.author, "Onaardig")
        db.session.add(Report(comment_id=comment_id, reporter_id=scene.residents[0].id, reason="x"))
        db.session.get(Comment, comment_id).report_count = 1
        db.session.commit()
        for what, action, data in (
            ("meldingen-afwijzen", "comment.dismiss_reports", {}),
            ("verbergen", "comment.hide", {"reason": "Persoonlijke aanval"}),
            ("herstellen", "comment.restore", {}),
        ):
            url = f"{base}/{comment_id}/{what}"
            press_at_once(board, url, data)
            fresh()
            assert audits(action, comment_id) == 1, action
        assert not db.session.get(Comment, comment_id).is_hidden
        long_ago(db.session.get(User, scene.author.id))


# --- double clicks that make something ----------------------------------------------------------


def test_follow_twice_at_once_follows_once(scene, clients, new_thread):
    person = scene.residents[0]
    tabs = clients(*[person.email] * 4)
    for _attempt in repeat():
        thread_id = new_thread()
        url = f"/gesprekken/{thread_id}/volgen"
        for want, rows in (("1", 1), ("0", 0)):
            responses = press_at_once(tabs, url, {"want": want})
            assert statuses(responses) == [303] * len(tabs)
            fresh()
            follows = db.session.scalar(
                select(func.count(Follow.id)).where(
                    Follow.thread_id == thread_id, Follow.user_id == person.id
                )
            )
            assert follows == rows


def test_one_topic_block_meeting_and_conversation_per_double_click(
    scene, clients, make_proposal, inbox
):
    """A second press of the same button finds what the first one made."""
    resident_tabs = clients(*[scene.residents[0].email] * 4)
    board_tabs = clients(*[scene.board.email] * 4)
    target = scene.residents[1]
    for attempt in repeat():
        proposal_id = make_proposal(scene.rnd, scene.author).id  # made without a conversation
        inbox.clear()
        presses = [
            (
                resident_tabs,
                f"/wijk/{scene.slug}/rondes/{scene.rnd.id}/onderwerpen/nieuw",
                {"title": f"Wat is belangrijk {attempt}?", "body": ""},
            ),
            (resident_tabs, f"/voorstellen/{proposal_id}/gesprek", {}),
            (
                board_tabs,
                f"/wijk/{scene.slug}/bestuur/blokkeren",
                {"user_id": str(target.id), "days": "3", "reason": f"Schelden {attempt}"},
            ),
            (
                board_tabs,
                f"/wijk/{scene.slug}/bestuur/rondes/{scene.rnd.id}/bijeenkomsten/nieuw",
                {
                    "held_at": f"2026-10-{attempt + 1:02d}T19:30",
                    "place": "Buurthuis",
                    "attendees": "12",
                    "summary": "",
                },
            ),
        ]
        for tabs, url, data in presses:
            responses = press_at_once(tabs, url, data)
            assert statuses(responses) == [303] * 4, url
            assert len({r.headers["Location"] for r in responses}) == 1, url
        fresh()
        topics = db.session.scalar(
            select(func.count(Thread.id)).where(
                Thread.kind == ThreadKind.TOPIC, Thread.title == f"Wat is belangrijk {attempt}?"
            )
        )
        assert topics == 1
        conversations = db.session.scalar(
            select(func.count(Thread.id)).where(Thread.proposal_id == proposal_id)
        )
        assert conversations == 1
        blocks = db.session.scalar(
            select(func.count(PostingBlock.id)).where(PostingBlock.reason == f"Schelden {attempt}")
        )
        assert blocks == 1
        assert len(inbox.to(target.email)) == 1  # the block is mailed once
        meetings = db.session.scalar(
            select(func.count(Meeting.id)).where(Meeting.round_id == scene.rnd.id)
        )
        assert meetings == attempt + 1


def test_a_suggested_topic_approved_twice_at_once_opens_once(scene, clients):
    board = clients(*[scene.board.email, scene.board2.email] * 2)
    for attempt in repeat():
        topic = Thread(
            neighbourhood_id=scene.wijk.id,
            round_id=scene.rnd.id,
            kind=ThreadKind.TOPIC,
            status=ThreadStatus.PROPOSED,
            title=f"Voorstel voor een onderwerp {attempt}",
            created_by_id=scene.residents[0].id,
        )
        db.session.add(topic)
        db.session.commit()
        url = f"/wijk/{scene.slug}/bestuur/onderwerpen/{topic.id}/goedkeuren"
        press_at_once(board, url)
        fresh()
        assert audits("topic.approve", topic.id) == 1


# --- mail -------------------------------------------------------------------------------------


def test_mail_settings_and_unsubscribe_at_once(scene, clients, make_client, app):
    """The settings row is made once, however many pages save it or links unsubscribe at once."""
    for attempt in repeat():
        person = scene.residents[attempt % N]
        db.session.execute(delete(MailSettings))  # each attempt makes the row afresh
        db.session.commit()
        tabs = clients(*[person.email] * 2)
        token = operations.unsubscribe_token(person)

        def contender(i: int, tabs: list[Any] = tabs, token: str = token) -> Any:
            if i < 2:
                client, csrf = tabs[i]
                return lambda: send(client, csrf, "/account/meldingen", {"comment_mail": ""})
            client = make_client()
            return lambda: client.raw.post(f"/afmelden/{token}")

        responses = race(4, contender)
        assert_no_server_errors(responses)
        assert sorted(statuses(responses)) == [200, 200, 303, 303]
        fresh()
        settings = db.session.scalars(
            select(MailSettings).where(MailSettings.user_id == person.id)
        ).all()
        assert len(settings) == 1 and settings[0].comment_mail is False


def test_two_digest_runs_at_once_mail_everyone_once(scene, new_thread, app, inbox):
    """send-digests from cron on two machines (or run twice by hand) at the same moment: each
    person gets one mail, and nothing waits afterwards."""
    for _attempt in repeat():
        inbox.clear()
        thread_id = new_thread()
        for i, resident in enumerate(scene.residents[:3]):
            say(thread_id, resident, f"Reactie {i}", 10 + i)
        db.session.execute(update(MailSettings).values(last_digest_at=None))
        db.session.commit()
        counts: list[int] = []
        lock = threading.Lock()

        def contender(i: int, counts: list[int] = counts, lock: threading.Lock = lock) -> Any:
            def run() -> None:
                with app.test_request_context():
                    sent = operations.send_digests()
                    db.session.remove()
                with lock:
                    counts.append(sent)

            return run

        race(4, contender)
        fresh()
        assert sum(counts) == 1  # the author hears about the comments: one mail
        assert len(inbox.to(scene.author.email)) == 1
        assert db.session.scalar(select(func.count(PendingNotice.id))) == 0
        for resident in scene.residents[:3]:
            long_ago(resident)
