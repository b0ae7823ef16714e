"""Races in notifications, against the real PostgreSQL: senders on two machines (or run twice by
hand) at the same moment send each mail once, the weekly digest included; discovering at once
queues each mail once; a follow pressed in four tabs makes one follow. No request gets a 5xx."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from tests.concurrency import count, fresh, postgres_only, press_at_once, race, repeat
from tests.conftest import stored_result
from wijkbudget.accounts.models import Role
from wijkbudget.extensions import db, utcnow
from wijkbudget.notifications import operations
from wijkbudget.notifications.models import Follow, NotificationSettings, Outbox, OutboxState
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Phase
from wijkbudget.spending import operations as spending
from wijkbudget.spending.models import FundedProject, ProgressUpdate

pytestmark = postgres_only

N = 4


@pytest.fixture
def scene(make_wijk, make_user, make_round, make_proposal) -> dict[str, Any]:
    """Wijk Noord: a round in voting, a round with its result and a funded project; six
    residents who want every round-wide mail, the authors, and a follower with a weekly
    digest."""
    wijk = make_wijk("Noord")
    board = make_user("bestuur@example.org", wijk=wijk, roles=((Role.BOARD, wijk),))
    residents = [make_user(f"bewoner{i}@example.org", wijk=wijk) for i in range(6)]
    for person in residents:
        settings = NotificationSettings.defaults(person.id)
        settings.voting_opens = settings.reminder = settings.result = True
        db.session.add(settings)
    author = make_user("auteur@example.org", wijk=wijk)
    digest = make_user("wekelijks@example.org", wijk=wijk)
    settings = NotificationSettings.defaults(digest.id)
    settings.weekly_digest = True
    db.session.add(settings)
    now = utcnow()
    voting = make_round(wijk, Phase.VOTING, title="In stemming")
    voting.voting_opens = now - timedelta(hours=1)
    voting.result_opens = now + timedelta(hours=10)
    done = make_round(wijk, Phase.RESULT, title="Klaar")
    chosen = make_proposal(done, author, State.CHOSEN, title="Bankjes", cost=300_000)
    make_proposal(done, author, State.NOT_CHOSEN, title="Fontein", cost=900_000)
    db.session.add(stored_result(done, chosen, board, ballots=9))
    db.session.commit()
    spending.grant_chosen(board, done, [chosen], utcnow())
    db.session.add(Follow(user_id=digest.id, proposal_id=chosen.id, created_at=now))
    db.session.commit()
    project = db.session.scalar(select(FundedProject))
    return {"chosen": chosen, "project": project, "digest": digest, "residents": residents}


def news(scene: dict[str, Any], n: int) -> None:
    for i in range(n):
        db.session.add(
            ProgressUpdate(project_id=scene["project"].id, body=f"Nieuws {i}", created_at=utcnow())
        )
    db.session.commit()


def senders_at_once(app: Any, n: int = N) -> list[operations.Report]:
    reports: list[operations.Report] = []
    lock = threading.Lock()

    def contender(_i: int) -> Any:
        def run() -> None:
            with app.test_request_context():
                report = operations.send_notifications()
                db.session.remove()
            with lock:
                reports.append(report)

        return run

    race(n, contender)
    return reports


def test_senders_at_once_send_each_mail_once(app, scene, inbox):
    # each resident: voting opens, the reminder, the result (3 x 6); the author: two outcomes;
    # the follower: one weekly digest
    for _attempt in repeat():
        inbox.clear()
        db.session.execute(delete(Outbox))
        db.session.execute(NotificationSettings.__table__.update().values(last_digest_at=None))
        db.session.commit()
        news(scene, 3)
        reports = senders_at_once(app)
        fresh()
        assert sum(r.sent for r in reports) == len(inbox.messages) == 3 * 6 + 2 + 1
        assert sum(r.queued for r in reports) == count(Outbox)
        for person in scene["residents"]:
            assert len(inbox.to(person.email)) == 3
        assert len(inbox.to("auteur@example.org")) == 2
        assert len(inbox.to("wekelijks@example.org")) == 1
        assert count(Outbox, Outbox.state != OutboxState.SENT) == 0
        keys = [(m["To"], m["Subject"], m["List-Unsubscribe"]) for m in inbox.messages]
        assert len(keys) == len(set(keys))


def test_discovering_at_once_queues_each_mail_once(app, scene):
    for _attempt in repeat():
        db.session.execute(delete(Outbox))
        db.session.commit()
        added: list[int] = []
        lock = threading.Lock()

        def contender(_i: int, added: list[int] = added, lock: threading.Lock = lock) -> Any:
            def run() -> None:
                with app.test_request_context():
                    n = operations.discover()
                    db.session.remove()
                with lock:
                    added.append(n)

            return run

        race(N, contender)
        fresh()
        total = count(Outbox)
        assert sum(added) == total == 3 * 6 + 2


def test_a_follow_pressed_in_four_tabs_makes_one_follow(app, scene, clients):
    person = scene["residents"][0]
    tabs = clients(*[person.email] * N)
    proposal_id = scene["chosen"].id
    for _attempt in repeat():
        db.session.execute(delete(Follow).where(Follow.user_id == person.id))
        db.session.commit()
        responses = press_at_once(tabs, f"/voorstellen/{proposal_id}/volgen", {"want": "1"})
        assert all(r.status_code in (303, 409) for r in responses), [
            r.status_code for r in responses
        ]
        fresh()
        assert count(Follow, Follow.user_id == person.id) == 1
        responses = press_at_once(tabs, f"/voorstellen/{proposal_id}/volgen", {"want": "0"})
        fresh()
        assert count(Follow, Follow.user_id == person.id) == 0
