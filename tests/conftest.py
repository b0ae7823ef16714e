"""Fixtures: the app on SQLite (or PostgreSQL when WIJKBUDGET_TEST_DATABASE_URL is set), a real
SMTP server on loopback, a client that fills in CSRF tokens like a browser, and factories."""

from __future__ import annotations

import contextvars
import os
import re
import socket
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, select, text

from wijkbudget import create_app
from wijkbudget.accounts import mfa
from wijkbudget.accounts.models import Role, RoleAssignment, User
from wijkbudget.accounts.passwords import hash_password
from wijkbudget.extensions import db, utcnow
from wijkbudget.guards import public
from wijkbudget.neighbourhoods.models import Area, Neighbourhood, PostcodeRange
from wijkbudget.proposals.models import CostLine, Proposal
from wijkbudget.proposals.models import State as ProposalState
from wijkbudget.results.models import Result, ResultLine
from wijkbudget.rounds.models import Category, Criterion, Phase, Round
from wijkbudget.tally import parallel

PASSWORD = "een-lang-wachtwoord-voor-tests"
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def database_url(tmp_root: Path) -> str:
    return os.environ.get("WIJKBUDGET_TEST_DATABASE_URL") or f"sqlite:///{tmp_root / 'test.sqlite'}"


# --- SMTP on loopback -------------------------------------------------------------------------


@dataclass
class Inbox:
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def last_to(self, address: str) -> Message:
        found = self.to(address)
        assert found, f"no mail arrived for {address}"
        return found[-1]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


def mail_body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


def link_in(message: Message) -> str:
    match = re.search(r"https?://[^\s]+", mail_body(message))
    assert match, "the mail has no link"
    return match.group(0)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, Inbox]]:
    inbox = Inbox()
    with socket.socket() as probe:  # ask the OS for a free port, then hand it to the server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def inbox(smtp_server: tuple[Controller, Inbox]) -> Inbox:
    return smtp_server[1]


# --- connections ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _close_the_pools_a_test_used() -> Iterator[None]:
    """Close the pooled connections of every engine a test connected with (tests that make an app
    of their own as well): a pool left to the garbage collector closes nothing, and psycopg warns
    about an open connection at some later test, which the warnings-as-errors setting fails."""
    pools: weakref.WeakSet[Any] = weakref.WeakSet()

    def remember(connection: Any) -> None:
        pools.add(connection.engine.pool)

    event.listen(Engine, "engine_connect", remember)
    try:
        yield
    finally:
        event.remove(Engine, "engine_connect", remember)
        for pool in list(pools):
            pool.dispose()


# --- the app ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = database_url(tmp_path_factory.mktemp("db"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    return url


@pytest.fixture
def app_config(
    db_url: str, smtp_server: tuple[Controller, Inbox], tmp_path: Path
) -> dict[str, Any]:
    controller, _inbox = smtp_server
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "COOKIE_SECURE": False,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "MAIL_BACKEND": "smtp",
        "MAIL_HOST": "127.0.0.1",
        "MAIL_PORT": controller.port,
        "MAIL_SECURITY": "none",
        "MAIL_DIR": str(tmp_path / "mail"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "SERVER_NAME": "wijkbudget.test",
        "PUBLIC_URL": "http://wijkbudget.test",  # links in mail; other hosts get a 400
        "PAGE_CACHE_SECONDS": 0,  # tests of the page cache turn it on
        # each test its own maintenance flag (never the instance folder's), and no waiting
        "MAINTENANCE_FILE": str(tmp_path / "maintenance.json"),
        "MAINTENANCE_GRACE_SECONDS": 0,
    }


@pytest.fixture
def app(app_config: dict[str, Any], inbox: Inbox) -> Iterator[Any]:
    inbox.clear()
    application = create_app(app_config)
    application.test_client_class = IsolatedClient
    with application.app_context():
        yield application
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
        db.engine.dispose()


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, as on a server: it gets its own app context, `g`
    and database session instead of sharing the test's (where Flask-Login and CSRF cache)."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return contextvars.Context().run(super().open, *args, **kwargs)


def enrol_second_factor(user: User, secret: str | None = None) -> str:
    """Give ``user`` a second factor directly in the database (as the set-up page would leave
    it); returns the secret."""
    secret = secret or mfa.new_secret()
    user.totp_secret = mfa.seal(secret, user.id)
    user.totp_enabled_at = utcnow()
    db.session.commit()
    return secret


def second_factor_code(email: str) -> str:
    """The code ``email``'s app shows now. A code works once, and a test may sign the same
    person in several times within one 30-second step: the test (not the app) forgets the step
    last used first. The rule itself is tested in tests/test_second_factor.py."""
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == email))
    assert user is not None and user.has_second_factor, email
    secret = mfa.unseal(user.totp_secret, user.id)
    assert secret is not None
    user.totp_last_step = None
    db.session.commit()
    return pyotp.TOTP(secret).now()


class FormClient:
    """A test client that posts forms the way a browser does: with the page's CSRF token."""

    def __init__(self, client: Any) -> None:
        self.raw = client

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.raw.get(url, **kwargs)

    def csrf(self, page: str = "/") -> str:
        response = self.raw.get(page)
        match = CSRF_RE.search(response.get_data(as_text=True))
        if match is None and page == "/":
            # public pages carry no form for a visitor who is not logged in (so they can come
            # from the page cache); the code page always has one
            response = self.raw.get("/stem")
            match = CSRF_RE.search(response.get_data(as_text=True))
        assert match, f"no CSRF token on {page} ({response.status_code})"
        return match.group(1)

    def post(
        self,
        url: str,
        data: dict[str, Any] | None = None,
        *,
        page: str | None = None,
        **kwargs: Any,
    ) -> Any:
        data = dict(data or {})
        if "csrf_token" not in data:  # (a token given: no page is fetched)
            data["csrf_token"] = self.csrf(page or "/")
        return self.raw.post(url, data=data, **kwargs)

    def login(self, email: str, password: str = PASSWORD, *, remember: bool = False) -> Any:
        """Sign in as a person does: the password, then for an account with a second factor
        the code its app shows now (or, for a role without one yet, the set-up page)."""
        data = {"email": email, "password": password}
        if remember:
            data["remember"] = "y"
        response = self.post("/inloggen", data, page="/inloggen")
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        step = urlsplit(response.headers["Location"]).path
        if step == "/inloggen/tweede-stap":
            response = self.post(step, {"code": second_factor_code(email)}, page=step)
            assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        elif step == "/inloggen/tweede-stap/instellen":
            page = self.raw.get(step).get_data(as_text=True)
            secret = re.search(r'data-secret="([A-Z2-7]+)"', page)
            assert secret, page[:2000]
            code = pyotp.TOTP(secret.group(1)).now()
            done = self.post(step, {"code": code}, page=step)
            assert done.status_code == 200 and "herstelcodes" in done.get_data(as_text=True)
            response = done
        return response

    def logout(self) -> Any:
        return self.post("/uitloggen")


@pytest.fixture
def client(app: Any) -> FormClient:
    return FormClient(app.test_client())


@pytest.fixture
def make_client(app: Any) -> Any:
    return lambda: FormClient(app.test_client())


@pytest.fixture
def clients(make_client: Any) -> Any:
    """``clients(*emails)``: a logged-in client with its form token per address, for races
    (made once per test and reused by every attempt: logging in hashes a password, slow). The
    same address twice: two tabs of one person."""

    def make(*emails: str) -> list[tuple[Any, str]]:
        made = []
        for email in emails:
            client = make_client()
            client.login(email)
            made.append((client, client.csrf()))
        return made

    return make


# --- factories --------------------------------------------------------------------------------


def saved(obj: Any) -> Any:
    """Add ``obj`` to the session and commit: what a factory returns is in the database."""
    db.session.add(obj)
    db.session.commit()
    return obj


@pytest.fixture
def make_wijk(app: Any) -> Any:
    def make(
        name: str = "West",
        postcodes: tuple[tuple[int, int], ...] = ((3531, 3533),),
        areas: tuple[str, ...] = ("Lombok", "Oog in Al"),
    ) -> Neighbourhood:
        wijk = Neighbourhood(name=name, slug=name.lower().replace(" ", "-"), description="")
        wijk.postcode_ranges = [PostcodeRange(first=a, last=b) for a, b in postcodes]
        wijk.areas = [Area(name=a, slug=a.lower().replace(" ", "-")) for a in areas]
        return saved(wijk)

    return make


@pytest.fixture
def make_user(app: Any) -> Any:
    counter = iter(range(1, 100_000))

    def make(
        email: str | None = None,
        *,
        wijk: Neighbourhood | None = None,
        verified: bool = True,
        name: str | None = None,
        roles: tuple[tuple[Role, Neighbourhood | None], ...] = (),
        password: str = PASSWORD,
        work_wijk: Neighbourhood | None = None,
    ) -> User:
        n = next(counter)
        user = User(
            email=email or f"bewoner{n}@example.org",
            display_name=name or f"Bewoner {n}",
            password_hash=hash_password(password),
            neighbourhood=wijk,
            area=wijk.areas[0] if wijk is not None and wijk.areas else None,
            postcode="3531 AB" if wijk is not None else None,
            birth_year=1980,
            email_verified_at=utcnow() if verified else None,
            work_neighbourhood=work_wijk,
            work_postcode=(
                f"{work_wijk.postcode_ranges[0].first} XY" if work_wijk is not None else None
            ),
        )
        user.role_assignments = [
            RoleAssignment(role=role, neighbourhood=scope) for role, scope in roles
        ]
        saved(user)
        if roles:  # a role needs the second factor: enrolled, as after the set-up page
            enrol_second_factor(user)
        return user

    return make


@pytest.fixture
def make_round(app: Any) -> Any:
    def make(
        wijk: Neighbourhood,
        phase: Phase = Phase.SUBMISSION,
        *,
        title: str = "Wijkbudget 2027",
        budget: int = 5_000_000,
        min_cost: int = 10_000,
        max_cost: int = 1_500_000,
        support_enabled: bool = True,
        support_threshold: int = 0,
        min_age: int | None = None,
        workers_eligible: bool = False,
        categories: tuple[str, ...] = ("Groen", "Jeugd", "Ontmoeting"),
        criteria: tuple[str, ...] = ("Goed voor de wijk", "Binnen een jaar klaar"),
    ) -> Round:
        rnd = Round(
            neighbourhood=wijk, title=title, introduction="Doe mee!", phase=phase,
            budget_cents=budget, min_cost_cents=min_cost, max_cost_cents=max_cost,
            support_enabled=support_enabled, support_threshold=support_threshold,
            min_age=min_age, workers_eligible=workers_eligible,
        )  # fmt: skip
        rnd.categories = [Category(name=c, position=i) for i, c in enumerate(categories)]
        rnd.criteria = [Criterion(text=c, position=i) for i, c in enumerate(criteria)]
        return saved(rnd)

    return make


@pytest.fixture
def make_proposal(app: Any) -> Any:
    counter = iter(range(1, 1_000_000))

    def make(
        rnd: Round,
        submitter: User,
        state: ProposalState = ProposalState.SUBMITTED,
        *,
        title: str | None = None,
        cost: int = 250_000,
        commit: bool = True,
        summary: str = "Meer groen in de straat.",
        area: Area | None = None,
    ) -> Proposal:
        n = next(counter)
        proposal = Proposal(
            round=rnd,
            neighbourhood_id=rnd.neighbourhood_id,
            submitter=submitter,
            title=title or f"Voorstel {n}",
            summary=summary,
            description="Uitleg",
            category=rnd.categories[0] if rnd.categories else None,
            area=area,
            state=state,
            cost_cents=cost,
            submitted_at=utcnow() if state != ProposalState.CONCEPT else None,
        )
        proposal.cost_lines = [CostLine(position=0, description="Alles", amount_cents=cost)]
        db.session.add(proposal)
        if commit:
            db.session.commit()
        return proposal

    return make


def stored_result(
    rnd: Round, chosen: Proposal, closed_by: User, *, ballots: int, sha256: str = "0" * 64
) -> Result:
    """The result of ``rnd`` as closing it stores it (not yet added to the session): greedy,
    ``ballots`` approval ballots that all chose ``chosen``, which is funded."""
    line = ResultLine(
        proposal_id=chosen.id, funded=True, rank=1, score=ballots, supporters=ballots,
        cost_cents=chosen.cost_cents, stage="greedy", supporters_money_cents=None,
    )  # fmt: skip
    return Result(
        round_id=rnd.id, rule="greedy", completion=None, budget_cents=rnd.budget_cents,
        cost_cents=chosen.cost_cents, ballots_counted=ballots, ballot_type="approval",
        ballots_file="", ballots_sha256=sha256, closed_at=utcnow(), closed_by_id=closed_by.id,
        lines=[line],
    )  # fmt: skip


# --- the wijken, people and rounds most tests share -------------------------------------------


@pytest.fixture
def west(make_wijk: Any) -> Neighbourhood:
    """Wijk West: postcodes 3531-3533, buurten Lombok and Oog in Al."""
    return make_wijk("West")


@pytest.fixture
def oost(make_wijk: Any) -> Neighbourhood:
    """Wijk Oost: postcodes 3581-3585, buurt Oudwijk."""
    return make_wijk("Oost", postcodes=((3581, 3585),), areas=("Oudwijk",))


@pytest.fixture
def board(west: Neighbourhood, make_user: Any) -> User:
    """Henk, on the board of West."""
    return make_user("bestuur@example.org", wijk=west, name="Henk", roles=((Role.BOARD, west),))


@pytest.fixture
def board2(west: Neighbourhood, make_user: Any) -> User:
    """Ria, on the board of West too: a second member deciding (or racing) with Henk."""
    return make_user("bestuur2@example.org", wijk=west, name="Ria", roles=((Role.BOARD, west),))


@pytest.fixture
def admin_client(make_user: Any, make_client: Any) -> FormClient:
    """A client logged in as an administrator of the site."""
    admin = make_user("beheer@example.org", roles=((Role.ADMIN, None),))
    client = make_client()
    client.login(admin.email)
    return client


@pytest.fixture
def voting_round(
    west: Neighbourhood, board: User, make_round: Any, make_proposal: Any
) -> tuple[Round, list[Proposal]]:
    """West's round in voting, budget € 5.000, with two proposals on the ballot: Speeltuin
    (€ 3.000) and Bankjes (€ 1.000); returns (the round, the proposals)."""
    rnd = make_round(west, Phase.VOTING, budget=500_000, max_cost=400_000)
    proposals = [
        make_proposal(rnd, board, ProposalState.ADMITTED, title="Speeltuin", cost=300_000,
                      commit=False),
        make_proposal(rnd, board, ProposalState.ADMITTED, title="Bankjes", cost=100_000,
                      commit=False),
    ]  # fmt: skip
    db.session.commit()
    return rnd, proposals


# --- the add-one search in two processes ------------------------------------------------------


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Split every add-one search at once (no time alone first), as if there were two CPUs;
    the children forked are recorded (pids), and each must have been reaped by the end."""
    monkeypatch.setattr(parallel, "SOLO", 0.0)
    monkeypatch.setattr(parallel, "cpus", lambda: 2)
    pids: list[int] = []
    fork = os.fork

    def recorded_fork() -> int:
        pid = fork()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(parallel.os, "fork", recorded_fork)
    yield pids
    for pid in pids:  # every child was reaped: its pid is gone
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


# --- pages that fail ----------------------------------------------------------------------------


def page_raising(app: Any, error: Exception) -> str:
    """Add a public page to ``app`` whose view raises ``error`` (a bug, or a refusal no view
    caught); returns its path."""

    @public
    def raising() -> Any:
        raise error

    endpoint = f"raises_{type(error).__name__.lower()}"
    app.add_url_rule(f"/{endpoint}", endpoint, raising)
    return f"/{endpoint}"


# --- counting queries -------------------------------------------------------------------------


@pytest.fixture
def count_queries(app: Any) -> Any:
    @contextmanager
    def counter() -> Iterator[list[str]]:
        statements: list[str] = []

        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            event.remove(db.engine, "before_cursor_execute", before)

    return counter


def is_postgres() -> bool:
    return (os.environ.get("WIJKBUDGET_TEST_DATABASE_URL") or "").startswith("postgresql")


__all__ = ["PASSWORD", "FormClient", "Inbox", "is_postgres", "link_in", "mail_body", "text"]
