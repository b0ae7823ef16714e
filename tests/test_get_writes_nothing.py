"""A request that only reads writes nothing: the main pages, opened by a visitor, a resident, the
board, a councillor and an admin, run no statement but SELECT, flush no change and commit nothing
that wrote. Also when a round's dates have passed and no ``tick`` has moved it yet: the page shows
the phase of the dates (and the rules follow it), and the move is left to ``tick``.

Runs on SQLite and on PostgreSQL (WIJKBUDGET_TEST_DATABASE_URL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from wijkbudget.accounts.models import User
from wijkbudget.accounts.operations import make_reset_token, make_verify_token
from wijkbudget.audit.models import AuditEvent
from wijkbudget.demo import DEMO_BOARD, DEMO_COUNCILLOR, DEMO_PASSWORD, seed_demo_data
from wijkbudget.dialogue.models import Thread
from wijkbudget.extensions import db, utcnow
from wijkbudget.proposals.models import CostLine, Proposal, State, Support
from wijkbudget.rounds.models import Phase, PhaseChange, Round
from wijkbudget.spending.models import FundedProject

#: a word that makes a statement more than a read (a SELECT … FOR UPDATE locks: no GET should)
NOT_A_READ = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE|CREATE|DROP|ALTER|SAVEPOINT|RELEASE)\b")


def is_read(statement: str) -> bool:
    text = " ".join(statement.upper().split())
    return text.startswith("SELECT") and NOT_A_READ.search(text) is None


@dataclass
class Watch:
    statements: list[str] = field(default_factory=list)
    flushes: list[str] = field(default_factory=list)
    commits: int = 0

    def writes(self) -> list[str]:
        return [" ".join(s.split())[:200] for s in self.statements if not is_read(s)]


@contextmanager
def watching() -> Iterator[Watch]:
    watch = Watch()

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        watch.statements.append(statement)

    def flushed(session: Session, context: Any) -> None:
        changed = [*session.new, *session.dirty, *session.deleted]
        watch.flushes.append(", ".join(repr(o) for o in changed)[:300])

    def committed(session: Session) -> None:
        watch.commits += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(Session, "after_flush", flushed)
    event.listen(Session, "after_commit", committed)
    try:
        yield watch
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(Session, "after_flush", flushed)
        event.remove(Session, "after_commit", committed)


# --- the world: the demo, plus rounds whose dates have passed ----------------------------------


@dataclass
class World:
    west: str
    open_round: int  # indienen, the review date passed a minute ago: a move is due
    vote_round: int  # steunen, the voting date passed: a move (and the threshold) is due
    past_round: int  # counted, with funded projects and ledger entries
    proposal: int
    weak_proposal: int  # below the support threshold: still on the ballot until tick runs
    thread: int
    project: int
    unverified_token: str
    reset_token: str


def _add_vote_round(wijk_id: int, board: User, residents: list[User]) -> tuple[int, int]:
    """A round in steunen whose voting date has passed: one proposal with enough support, one
    without (the threshold is 2)."""
    now = utcnow()
    vote = Round(
        neighbourhood_id=wijk_id,
        title="Stemronde West",
        introduction="Stem mee!",
        budget_cents=2_000_000,
        min_cost_cents=10_000,
        max_cost_cents=1_000_000,
        phase=Phase.SUPPORT,
        support_threshold=2,
        support_opens=now - timedelta(days=3),
        voting_opens=now - timedelta(minutes=1),
        result_opens=now + timedelta(days=14),
        created_by_id=board.id,
    )
    db.session.add(vote)
    db.session.flush()
    made = []
    for n, supporters in enumerate((residents[1:3], residents[3:4])):
        proposal = Proposal(
            round_id=vote.id,
            neighbourhood_id=wijk_id,
            submitter_id=residents[0].id,
            title=f"Stemvoorstel {n}",
            summary="Iets moois voor de wijk.",
            description="Uitleg",
            state=State.ADMITTED,
            cost_cents=300_000,
            support_count=len(supporters),
            submitted_at=now - timedelta(days=10),
        )
        proposal.cost_lines = [CostLine(position=0, description="Alles", amount_cents=300_000)]
        db.session.add(proposal)
        db.session.flush()
        for supporter in supporters:
            db.session.add(Support(proposal_id=proposal.id, user_id=supporter.id))
        made.append(proposal.id)
    db.session.commit()
    return vote.id, made[1]


@pytest.fixture
def world(app: Any, make_client: Any) -> World:
    seed_demo_data()
    open_round = db.session.scalar(select(Round).where(Round.title == "Wijkbudget West 2027"))
    past_round = db.session.scalar(select(Round).where(Round.title == "Wijkbudget West 2026"))
    assert open_round is not None and past_round is not None
    assert open_round.phase == Phase.SUBMISSION
    west_id, west_slug = open_round.neighbourhood_id, open_round.neighbourhood.slug
    open_round.review_opens = utcnow() - timedelta(minutes=1)
    db.session.commit()
    board = db.session.scalar(select(User).where(User.email == DEMO_BOARD[0]))
    residents = list(
        db.session.scalars(
            select(User)
            .where(User.neighbourhood_id == west_id, User.id != board.id)
            .order_by(User.id)
        )
    )
    vote_round, weak = _add_vote_round(west_id, board, residents)
    proposal = db.session.scalar(
        select(Proposal.id).where(Proposal.round_id == open_round.id).order_by(Proposal.id)
    )
    thread = db.session.scalar(select(Thread.id).where(Thread.proposal_id == proposal))
    project = db.session.scalar(select(FundedProject.id).order_by(FundedProject.id))
    assert thread is not None and project is not None
    # a comment in the thread, by a resident, as people write them
    fatima = make_client()
    fatima.login(residents[0].email, DEMO_PASSWORD)
    page = f"/gesprekken/{thread}"
    response = fatima.post(f"{page}/reacties", {"body": "Goed plan!"}, page=page)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    unverified = User(email="nieuw@example.org", display_name="Nieuw", password_hash="x")
    db.session.add(unverified)
    db.session.commit()
    return World(
        west=west_slug,
        open_round=open_round.id,
        vote_round=vote_round,
        past_round=past_round.id,
        proposal=proposal,
        weak_proposal=weak,
        thread=thread,
        project=project,
        unverified_token=make_verify_token(unverified),
        reset_token=make_reset_token(residents[1]),
    )


def pages(w: World) -> dict[str, list[str]]:
    wijk = f"/wijk/{w.west}"
    rondes = f"{wijk}/rondes"
    public = [
        "/",
        wijk,
        rondes,
        f"{rondes}/{w.open_round}",
        f"{rondes}/{w.vote_round}",
        f"{rondes}/{w.past_round}",
        f"{rondes}/{w.open_round}/voorstellen",
        f"{rondes}/{w.vote_round}/voorstellen",
        f"/voorstellen/{w.proposal}",
        f"/voorstellen/{w.weak_proposal}",
        f"/voorstellen/{w.proposal}/gesprek",
        f"/gesprekken/{w.thread}",
        "/stem",
        "/controleer",
        f"{rondes}/{w.past_round}/uitslag",
        f"{rondes}/{w.past_round}/uitslag/vergelijken",
        f"{rondes}/{w.past_round}/uitslag.json",
        f"{rondes}/{w.past_round}/bewijzen",
        f"{rondes}/{w.past_round}/samenvatting",
        f"/projecten/{w.project}",
        f"{wijk}/geld",
        f"{wijk}/geld/grootboek",
        f"{wijk}/geld/uitgaven.csv",
        f"{wijk}/geld/geldstroom",
        "/api/v1/wijken",
        f"/api/v1/wijken/{w.west}/rondes",
        f"/api/v1/rondes/{w.vote_round}",
        f"/api/v1/rondes/{w.past_round}/uitslag",
        f"/api/v1/wijken/{w.west}/grootboek",
        "/inloggen",
        "/registreren",
        "/toegankelijkheid",
        f"/bevestigen/{w.unverified_token}",
        f"/wachtwoord-vergeten/{w.reset_token}",
        f"{wijk}/nieuws.atom",
        f"{wijk}/projecten/{w.project}/gesprek",
        "/bevestigingsmail-opnieuw",
    ]
    resident = [
        *public[:12],
        "/account",
        "/account/meldingen",
        "/account/mail",
        "/mijn-voorstellen",
        "/mijn",
        f"{rondes}/{w.vote_round}/stemmen",
        f"{rondes}/{w.open_round}/voorstellen/nieuw",
        f"{rondes}/{w.open_round}/onderwerpen/nieuw",
    ]
    board = [
        *public[:12],
        "/mijn",
        f"{wijk}/bestuur",
        f"{wijk}/bestuur/werkenden",
        f"{wijk}/bestuur/moderatie",
        f"{wijk}/bestuur/uitgaven",
        f"{wijk}/bestuur/geld",
        f"{wijk}/bestuur/rondes/nieuw",
        f"{wijk}/bestuur/rondes/{w.open_round}/bewerken",
        f"{wijk}/bestuur/rondes/{w.vote_round}/bewerken",
        f"{wijk}/bestuur/rondes/{w.open_round}/toetsing",
        f"{wijk}/bestuur/rondes/{w.vote_round}/stemcodes",
        f"{wijk}/bestuur/rondes/{w.vote_round}/papier",
        f"{rondes}/{w.vote_round}/papieren-stembiljet",
        f"{rondes}/{w.vote_round}/papieren-stembiljet.pdf",
        f"{rondes}/{w.vote_round}/voorstellenboekje",
        f"{rondes}/{w.vote_round}/voorstellenboekje.pdf",
        f"{wijk}/bestuur/rondes/{w.vote_round}/stemming-sluiten",
        f"{wijk}/bestuur/rondes/{w.open_round}/bijeenkomsten/nieuw",
        f"/projecten/{w.project}",
        "/account",
    ]
    councillor = [
        *public[:6],
        "/audit",
        "/controle",
        f"{wijk}/controle",
        f"{wijk}/controle/grootboek.csv",
        "/account",
    ]
    admin = ["/beheer/accounts", "/beheer/wijken", f"/beheer/wijken/{w.west}", "/audit"]
    return {
        "visitor": public,
        "resident": resident,
        "board": board,
        "councillor": councillor,
        "admin": admin,
    }


def _client_for(who: str, make_client: Any, make_user: Any) -> Any:
    client = make_client()
    if who == "visitor":
        return client
    email = {
        "resident": "fatima@example.org",
        "board": DEMO_BOARD[0],
        "councillor": DEMO_COUNCILLOR,
        "admin": "beheer@example.org",
    }[who]
    client.login(email, DEMO_PASSWORD)
    return client


def test_the_main_pages_write_nothing(world: World, make_client: Any, make_user: Any) -> None:
    audit_before = db.session.scalar(select(func.count(AuditEvent.id)))
    moves_before = db.session.scalar(select(func.count(PhaseChange.id)))
    refused: list[str] = []
    read = 0
    for who, urls in pages(world).items():
        client = _client_for(who, make_client, make_user)
        client.get("/")  # a first request (the session cookie, the page cache): not measured
        for url in urls:
            with watching() as watch:
                response = client.get(url)
            where = f"{who} GET {url} ({response.status_code})"
            assert response.status_code < 400, where
            read += len(watch.statements)
            if watch.writes() or watch.flushes or watch.commits:
                refused.append(
                    f"{where}: writes={watch.writes()} flushes={watch.flushes} "
                    f"commits={watch.commits}"
                )
    assert refused == [], "\n".join(refused)
    assert read > 100  # the watch saw the pages' queries
    # and the database says the same
    db.session.expire_all()
    assert db.session.scalar(select(func.count(AuditEvent.id))) == audit_before
    assert db.session.get(Round, world.open_round).phase == Phase.SUBMISSION
    assert db.session.get(Round, world.vote_round).phase == Phase.SUPPORT
    assert db.session.get(Proposal, world.weak_proposal).state == State.ADMITTED
    assert db.session.scalar(select(func.count(PhaseChange.id))) == moves_before


def test_the_pages_show_the_phase_of_the_dates(world: World, make_client: Any) -> None:
    client = make_client()
    body = client.get(f"/wijk/{world.west}/rondes/{world.open_round}").get_data(as_text=True)
    assert "Fase: <strong>Toetsing</strong>" in body
    body = client.get(f"/wijk/{world.west}/rondes/{world.vote_round}").get_data(as_text=True)
    assert "Fase: <strong>Stemmen</strong>" in body and "Stem nu" in body
    listing = client.get(f"/wijk/{world.west}/rondes").get_data(as_text=True)
    assert "Toetsing" in listing and "Stemmen" in listing


def test_the_watch_sees_a_write(world: World, make_client: Any) -> None:
    """The check above can fail: a POST that writes is seen."""
    client = make_client()
    client.login("jan@example.org", DEMO_PASSWORD)  # (fatima wrote a moment ago: her rate)
    page = f"/gesprekken/{world.thread}"
    token = client.csrf(page)
    with watching() as watch:
        response = client.raw.post(f"{page}/reacties", data={"csrf_token": token, "body": "Ja!"})
    assert response.status_code == 303
    assert any(s.lstrip().upper().startswith("INSERT") for s in watch.statements)
    assert watch.writes() and watch.flushes and watch.commits
