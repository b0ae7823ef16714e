"""No 5xx on any input (issue 18, point 7): every route of the app, called with hostile values in
its URL, its query string and its form fields, answers below 500.

The routes come from ``app.url_map`` (a route added later is fuzzed without being listed here).
A seeded scene gives the URL variables real values (the demo wijken, a round in every phase,
proposals, threads, comments, a funded project, expenses, code and paper batches, tokens); each
example mixes those with hostile ones. The field names come from the pages themselves: every page
the role can open is read, and each ``<form>`` gives its names (and the values it offers: a select's
options, a checkbox's value) to the route its action points to; a POST route no page showed a form
for gets the fields of the WTForms classes of its area. The query names come from the same pages
(``<form method="get">`` and the links' ``?…``), the API's OpenAPI document and a few every page
may read (``page``, ``next``).

Each role (a visitor, a resident, the board; the admin only for the routes only an admin or a
councillor passes) logs in once per test (argon2 is slow) and sends every request with its real
CSRF token, so the forms get past the token to their validation and operations. What a request
changes stays for the next (a 4xx is fine; the database must stay usable).

Deterministic (``derandomize``): first each typed field (a number, a date, a choice) once at each
of its sharpest values, then 15 generated examples per route, method and role; about a minute on
SQLite. ``FUZZ_EXAMPLES=100`` runs deeper (about a quarter of an hour), ``FUZZ_SEED=7`` tries
other examples than CI's. Runs on SQLite and on PostgreSQL (WIJKBUDGET_TEST_DATABASE_URL)."""

from __future__ import annotations

import importlib
import inspect
import io
import os
import pkgutil
import re
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, example, given, seed, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import HTTPException
from werkzeug.routing import AnyConverter, Rule
from wtforms.fields.core import UnboundField

import wijkbudget
from tests.conftest import link_in
from wijkbudget.accounts.models import RoleAssignment, User
from wijkbudget.accounts.operations import make_reset_token, make_verify_token
from wijkbudget.demo import DEMO_ADMIN, DEMO_BOARD, DEMO_PASSWORD, seed_demo_data
from wijkbudget.dialogue import operations as dialogue
from wijkbudget.dialogue.models import Comment, Thread
from wijkbudget.extensions import db, utcnow
from wijkbudget.proposals import operations as proposals
from wijkbudget.proposals.models import CoAuthor, Proposal, ProposalImage
from wijkbudget.proposals.models import State as ProposalState
from wijkbudget.rounds.models import BallotType, Phase, Round
from wijkbudget.spending import operations as spending
from wijkbudget.spending.models import (
    Expense,
    FundedProject,
    Income,
    PayeeType,
    ProgressPhoto,
)
from wijkbudget.voting import operations as voting
from wijkbudget.voting.models import CodeBatch, PaperBatch

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
SEED = os.environ.get("FUZZ_SEED")  # other examples than CI's, for a deeper local run
RESIDENT = "fatima@example.org"  # lives in West, wrote proposals in its open round


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # thousands of requests from one address: the rate limits (their own tests cover them)
    # would answer 429 to all but the first few
    return {**app_config, "RATELIMIT_ENABLED": False}


# --- hostile values ---------------------------------------------------------------------------

LONG = "x" * 100_000
HOSTILE_TEXT = [
    "",
    " ",
    "0",
    "-1",
    "-0",
    "1",
    str(10**30),
    str(-(10**30)),
    str(2**31),
    str(2**63),
    "²",  # a digit to str.isdigit, not to int()
    "٣",  # Arabic-Indic three: int() takes it
    "３",  # fullwidth three
    "1²",
    "\x00",
    "a\x00b",
    "\r\n",
    "x\r\nSet-Cookie: a=b",
    "\x1b[31mrood",
    "\x7f",
    "\u202eevil.exe",  # right-to-left override
    "\ufeff1",
    "\u200b",
    "𝟙𝟚",
    "1e308",
    "-1e308",
    "99999999999999999999,99",
    "1.000.000.000.000,00",
    "€ -12,50",
    "0,001",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "1_000",
    " 12 ",
    "0x10",
    "2027-02-30",
    "9999-12-31",
    "0001-01-01",
    "-999999-01-01",
    "25:61",
    "true",
    "on",
    "null",
    "[]",
    "{}",
    "../../etc/passwd",
    "//evil.example/",
    "https://evil.example/",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%00",
    "%",
    "a@b",
    LONG,
]
HOSTILE_INT_PATH = ["0", "1", str(10**30), str(2**31), "²", "٣", "３", "-1", "1.5", "00001"]

hostile_text = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(max_size=30),  # (no lone surrogates: they cannot travel in UTF-8 over HTTP)
)

UPLOADS = [
    b"",
    b"\x00" * 64,
    b"GIF89a\x01\x00\x01\x00",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xff\xff\xff\xff\xff\xff\xff",  # header only
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
    b"<svg onload=alert(1)>",
]
FILENAMES = ["foto.png", "", "../../etc/passwd", "\u202egnp.exe", "a\x00.jpg", "x" * 5000]


def _upload(content: bytes, name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(content), name


uploads = st.builds(_upload, st.sampled_from(UPLOADS), st.sampled_from(FILENAMES))


#: a value each kind of field accepts (the options of a choice are offered by its page)
PLAUSIBLE = {
    "text": "Iets voor de wijk",
    "search": "bank",
    "number": "12",
    "email": "iemand@example.org",
    "password": "een-ander-lang-wachtwoord",  # (never the real one: no account is deleted)
    "date": "2026-05-01",
    "datetime-local": "2026-05-01T19:30",
    "time": "19:30",
    "month": "2026-05",
    "url": "https://example.org/",
    "tel": "030 123 4567",
    "choice": "1",
}
_EVERY = ["", "\x00", "²", str(10**30), LONG]
_NUMBERS = [
    "-1",
    "-0",
    "0",
    "٣",
    "３",
    "1e308",
    "NaN",
    "inf",
    str(2**31),
    str(2**63),
    "99999999999999999999,99",
    "1.000.000.000.000,00",
    "€ -12,50",
    "0,001",
    "12.5",
]
_DATES = [
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "2027-02-30",
    "2026-13-01",
    "٢٠٢٦-٠٥-٠١",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "25:61",
    "-1",
]
#: the focus of an example gets one of these: aimed at its kind, and a few for every kind
FOCUSED = {
    kind: _EVERY
    + {
        "number": _NUMBERS,
        "choice": ["0", "-1", str(2**31), "٣", "x", "1,2", " 1"] + _NUMBERS[:4],
        "email": ["a@b", "x" * 300 + "@example.org", "a@example.org\r\nBcc: b@example.org"],
        "password": ["x", "12345678", "wachtwoord"],
    }.get(kind, _DATES if kind in {"date", "datetime-local", "time", "month"} else HOSTILE_TEXT)
    for kind in PLAUSIBLE
}


def shorten(value: Any) -> Any:
    """A value for the failure message: long text cut, files named."""
    if isinstance(value, str) and len(value) > 60:
        return f"{value[:20]!r}… ({len(value)} chars)"
    if isinstance(value, tuple) and value and isinstance(value[0], io.BytesIO):
        return f"<file {shorten(value[1])!r}>"
    if isinstance(value, list):
        return [shorten(v) for v in value]
    if isinstance(value, dict):
        return {shorten(k): shorten(v) for k, v in value.items()}
    return value


# --- the scene --------------------------------------------------------------------------------


@dataclass
class Scene:
    """Real values for every URL variable (first the most useful one)."""

    values: dict[str, list[str]] = field(default_factory=dict)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), "orange").save(out, "PNG")
    return out.getvalue()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), "green").save(out, "JPEG")
    return out.getvalue()


def _user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    assert user is not None, email
    return user


def _ids(model: Any) -> list[str]:
    return [str(i) for i in db.session.scalars(select(model.id).order_by(model.id))]


@pytest.fixture
def scene(app: Any, make_round: Any, make_proposal: Any, inbox: Any) -> Scene:
    seed_demo_data()
    open_round = db.session.scalar(select(Round).where(Round.title == "Wijkbudget West 2027"))
    past_round = db.session.scalar(select(Round).where(Round.title == "Wijkbudget West 2026"))
    assert open_round is not None and past_round is not None
    west = open_round.neighbourhood
    board, fatima, jan = _user(DEMO_BOARD[0]), _user(RESIDENT), _user("jan@example.org")
    sanne = _user("sanne@example.org")

    # a round in every other phase, each with proposals as that phase has them
    rounds = {
        phase: make_round(west, phase, title=f"Ronde {phase.value}")
        for phase in (Phase.CONCEPT, Phase.REVIEW, Phase.SUPPORT, Phase.VOTING)
    }
    make_proposal(rounds[Phase.REVIEW], fatima, ProposalState.SUBMITTED)
    make_proposal(rounds[Phase.REVIEW], jan, ProposalState.SUBMITTED)
    make_proposal(rounds[Phase.SUPPORT], fatima, ProposalState.ADMITTED)
    make_proposal(rounds[Phase.SUPPORT], jan, ProposalState.ADMITTED)
    for submitter in (fatima, jan, sanne):
        make_proposal(rounds[Phase.VOTING], submitter, ProposalState.ADMITTED, cost=400_000)
    # the other two ballots: points to spread, and costs that must fit the budget
    ballots = []
    for ballot_type in (BallotType.CUMULATIVE, BallotType.KNAPSACK):
        rnd = make_round(west, Phase.VOTING, title=f"Stemmen {ballot_type.value}")
        rnd.ballot_type = ballot_type
        rnd.ballot_points = 10 if ballot_type == BallotType.CUMULATIVE else None
        rnd.ballot_max_points_each = 5 if ballot_type == BallotType.CUMULATIVE else None
        for submitter in (jan, sanne):
            make_proposal(rnd, submitter, ProposalState.ADMITTED, cost=900_000)
        ballots.append(rnd.id)
    concept = make_proposal(open_round, fatima, ProposalState.CONCEPT, title="Mijn concept")
    voting.generate_codes(board, rounds[Phase.VOTING], 5, label="Brieven")
    voting.open_paper_batch(board, rounds[Phase.VOTING], "Stembus buurthuis", 3)

    # conversation: a thread with a comment and a reply, a reported comment, a topic, a meeting
    first = db.session.scalar(
        select(Proposal).where(Proposal.round_id == open_round.id).order_by(Proposal.id)
    )
    assert first is not None
    thread = dialogue.thread_for_proposal(first)
    comment = dialogue.post_comment(jan, thread, "Goed plan!")
    dialogue.post_comment(fatima, thread, "Dank je", parent=comment)
    dialogue.post_comment(board, thread, "Van het bestuur", as_board=True)
    dialogue.report_comment(sanne, comment, "Niet aardig")
    dialogue.propose_topic(fatima, open_round, "Meer bankjes?", "Wat vinden jullie?")
    dialogue.record_meeting(
        board,
        open_round,
        held_at=utcnow() - timedelta(days=2),
        place="Buurthuis",
        attendees=12,
        summary="Over de bloembakken.",
        proposal_ids=[first.id],
    )

    # a photo with fatima's proposal; jan invites fatima to his proposal (the token is mailed)
    proposals.add_image(
        fatima,
        first,
        FileStorage(io.BytesIO(_png()), "foto.png", content_type="image/png"),
        "Bloembakken",
    )
    jans = db.session.scalar(
        select(Proposal).where(Proposal.round_id == open_round.id, Proposal.submitter_id == jan.id)
    )
    assert jans is not None
    with app.test_request_context():  # (the mail is rendered as in a request, like the CLI does)
        proposals.invite_coauthor(jan, jans, RESIDENT)
    invite_token = link_in(inbox.last_to(RESIDENT)).rstrip("/").rsplit("/", 1)[-1]

    # money: the demo's projects and expenses, and one with a receipt and a progress photo
    project = db.session.scalar(select(FundedProject).order_by(FundedProject.id))
    assert project is not None
    spending.record_expense(
        fatima,
        project,
        spending.ExpenseData(
            spent_on=utcnow().date() - timedelta(days=1),
            amount_cents=1_000,
            payee="Drukkerij",
            payee_type=PayeeType.COMPANY,
            description="Flyers",
        ),
        FileStorage(io.BytesIO(_jpeg()), "bon.jpg", content_type="image/jpeg"),
    )
    spending.add_update(
        fatima,
        project,
        "De bakken staan er.",
        60,
        photos=[FileStorage(io.BytesIO(_jpeg()), "bak.jpg", content_type="image/jpeg")],
        alt="Een bak",
    )

    unverified = User(email="nieuw@example.org", display_name="Nieuw", password_hash="x")
    db.session.add(unverified)
    db.session.commit()
    round_ids = [open_round.id, *(r.id for r in rounds.values()), *ballots, past_round.id]
    oost_round = db.session.scalar(select(Round.id).where(Round.neighbourhood_id != west.id))
    values = {
        "slug": [west.slug, "oost"],
        "round_id": [str(i) for i in round_ids] + ([str(oost_round)] if oost_round else []),
        "proposal_id": [str(first.id), str(jans.id), str(concept.id), *_ids(Proposal)],
        "image_id": _ids(ProposalImage),
        "invite_id": [str(i) for i in db.session.scalars(select(CoAuthor.id))],
        "thread_id": _ids(Thread),
        "comment_id": [str(comment.id), *_ids(Comment)],
        "project_id": _ids(FundedProject),
        "expense_id": _ids(Expense),
        "income_id": _ids(Income),
        "photo_id": _ids(ProgressPhoto),
        "batch_id": _ids(PaperBatch) + _ids(CodeBatch),
        "user_id": [str(fatima.id), str(board.id), str(unverified.id)],
        "assignment_id": _ids(RoleAssignment),
        "token": [
            make_verify_token(unverified),
            make_reset_token(jan),
            dialogue.unsubscribe_token(fatima),
            invite_token,
        ],
        "lang": ["nl", "en"],
    }
    db.session.commit()
    return Scene(values={k: list(dict.fromkeys(v)) for k, v in values.items()})


# --- what the pages say: forms, their field names and the values they offer ------------------


def kind_of(tag: str, attrs: dict[str, str]) -> str:
    """What a field holds, for the values to try in it (``PLAUSIBLE``, ``FOCUSED``)."""
    kind = {"textarea": "text", "select": "choice"}.get(tag) or attrs.get("type", "text")
    if kind == "number" or attrs.get("inputmode") in {"numeric", "decimal"}:
        return "number"
    if kind in {"checkbox", "radio", "hidden", "submit", "button"}:
        return "choice"
    return kind if kind in PLAUSIBLE else "text"


class FormReader(HTMLParser):
    """The forms of a page (action, method, names with the values offered) and its links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self.links: list[str] = []
        self._form: dict[str, Any] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "form":
            method = a.get("method", "get").lower()
            self._form = {
                "targets": [(a.get("action", ""), "POST" if method == "post" else "GET")],
                "fields": defaultdict(set),
                "kinds": {},
                "files": set(),
            }
            self.forms.append(self._form)
        if self._form is None:
            return
        # the same form also goes where htmx or a button sends it
        if "hx-post" in a:
            self._form["targets"].append((a["hx-post"], "POST"))
        if "formaction" in a:
            self._form["targets"].append((a["formaction"], "POST"))
        if tag in {"input", "select", "textarea", "button"}:
            name = a.get("name")
            if not name:
                return
            if tag == "input" and a.get("type") == "file":
                self._form["files"].add(name)
                return
            self._form["fields"][name]  # (a name with no value offered: still a field)
            self._form["kinds"].setdefault(name, kind_of(tag, a))
            if "value" in a:
                self._form["fields"][name].add(a["value"])
            if tag == "select":
                self._select = name
        elif tag == "option" and self._select and "value" in a:
            self._form["fields"][self._select].add(a["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


@dataclass
class Names:
    """Per (endpoint, method): the field (or query) names, the values seen, the file fields;
    (endpoint, "POST?"): the query names a form's action gives a POST."""

    fields: dict[tuple[str, str], dict[str, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )
    kinds: dict[tuple[str, str], dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    #: the URL values of the first page form found for it (where its fields are real)
    paths: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    files: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))


ALWAYS_QUERY = ("page", "per_page", "next", "seed")
KINDS = {"page": "number", "per_page": "number", "seed": "number"}  # (for those four)


def _endpoint(adapter: Any, path: str, method: str, names: Names | None = None) -> str | None:
    try:
        endpoint, args = adapter.match(path, method=method)
    except HTTPException:
        return None
    if names is not None:
        names.paths.setdefault((endpoint, method), {k: str(v) for k, v in args.items()})
    return str(endpoint)


def read(response: Any) -> str:
    """The body as text (an image or a spreadsheet too); the response closed, which closes a
    file sent from disk."""
    try:
        return response.get_data().decode("utf-8", errors="replace")
    finally:
        response.close()


def read_pages(app: Any, client: Any, urls: list[str], names: Names) -> None:
    adapter = app.url_map.bind("wijkbudget.test")
    for url in urls:
        response = client.raw.get(url)
        html = read(response)
        if response.status_code != 200 or "html" not in response.content_type:
            continue
        reader = FormReader()
        reader.feed(html)
        for form in reader.forms:
            for action, method in form["targets"]:
                target = urlsplit(action or url)
                endpoint = _endpoint(adapter, target.path or urlsplit(url).path, method, names)
                if endpoint is None:
                    continue
                known = names.fields[(endpoint, method)]
                for name, offered in form["fields"].items():
                    if name != "csrf_token":
                        known[name] |= offered
                        names.kinds[(endpoint, method)].setdefault(name, form["kinds"][name])
                names.files[(endpoint, method)] |= form["files"]
                if method == "POST":  # a POST that reads its query string too (?volgorde=)
                    for key, value in parse_qsl(target.query, keep_blank_values=True):
                        names.fields[(endpoint, "POST?")][key].add(value)
        for href in reader.links:
            link = urlsplit(href)
            if not link.query or (link.netloc and link.netloc != "wijkbudget.test"):
                continue
            endpoint = _endpoint(adapter, link.path or urlsplit(url).path, "GET")
            if endpoint is not None:
                for key, value in parse_qsl(link.query, keep_blank_values=True):
                    names.fields[(endpoint, "GET")][key].add(value)


def api_query_names(client: Any) -> set[str]:
    spec = client.raw.get("/api/v1/openapi.json").json
    return {
        parameter["name"]
        for operations in spec["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict)
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "query"
    }


def wtforms_fields_by_area() -> dict[str, set[str]]:
    """The field names of every form class, by area (``wijkbudget.<area>.forms``)."""
    for info in pkgutil.walk_packages(wijkbudget.__path__, "wijkbudget."):
        importlib.import_module(info.name)
    found: dict[str, set[str]] = defaultdict(set)
    todo = list(FlaskForm.__subclasses__())
    while todo:
        form = todo.pop()
        todo.extend(form.__subclasses__())
        if form.__module__.startswith("wijkbudget.") and form.__module__.endswith(".forms"):
            area = form.__module__.split(".")[1]
            unbound = inspect.getmembers(form, lambda v: isinstance(v, UnboundField))
            found[area] |= {name for name, _field in unbound}
    return found


# --- the routes -------------------------------------------------------------------------------

VARIABLE = re.compile(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>")
#: these may end the session they are sent in: last, so the routes before them keep the role;
#: the two that need the password (which no example has) before the two that end it at once
ENDS_SESSION = [
    "accounts.delete_account",
    "accounts.change_password",
    "accounts.end_all_sessions",
    "accounts.logout",
]


def routes(app: Any, role: str) -> list[tuple[Rule, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue  # files from disk, served by the web server in production, not the app
        required = getattr(app.view_functions[rule.endpoint], "required_role", None)
        if role == "admin" and required not in {"admin", "audit"}:
            continue  # the admin is here for what only an admin or a councillor may open
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule, method))
    return sorted(
        found,
        key=lambda r: (
            ENDS_SESSION.index(r[0].endpoint) if r[0].endpoint in ENDS_SESSION else -1,
            r[0].rule,
            r[1],
        ),
    )


def path_values(rule: Rule, scene: Scene) -> dict[str, st.SearchStrategy[str]]:
    strategies = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        if isinstance(converter, AnyConverter):
            real = sorted(converter.items)
        else:
            real = scene.values.get(name) or ["1"]
        hostile = st.sampled_from(
            HOSTILE_INT_PATH if type(converter).__name__.endswith("IntConverter") else HOSTILE_TEXT
        )
        real_values = st.sampled_from(real)
        strategies[name] = st.one_of(real_values, real_values, real_values, hostile)
    return strategies


def build_path(rule: Rule, values: dict[str, str]) -> str:
    return VARIABLE.sub(lambda m: quote(values[m.group(1)], safe=""), rule.rule)


def real_values(rule: Rule, scene: Scene) -> dict[str, str]:
    """The first real value of each of the rule's variables."""
    return {
        name: (
            sorted(rule._converters[name].items)[0]
            if isinstance(rule._converters[name], AnyConverter)
            else (scene.values.get(name) or ["1"])[0]
        )
        for name in rule.arguments
    }


def real_paths(rule: Rule, scene: Scene) -> list[str]:
    """The rule with real values: the first of each, then each variable through its others (a
    form may show only for a round in one phase, a proposal in one state)."""
    real = {
        name: (
            sorted(rule._converters[name].items)
            if isinstance(rule._converters[name], AnyConverter)
            else (scene.values.get(name) or ["1"])
        )
        for name in rule.arguments
    }
    first = {name: values[0] for name, values in real.items()}
    paths = [build_path(rule, first)]
    for name, values in real.items():
        paths += [build_path(rule, {**first, name: value}) for value in values[1:]]
    return list(dict.fromkeys(paths))


#: the sharpest values for a typed field, each tried once in every such field (explicit examples)
SHARP = {
    "number": [str(10**30), "²", "1e308", "-1"],
    "choice": [str(2**31), "²", "-1"],
    "date": ["9999-12-31", "0001-01-01"],
    "datetime-local": ["9999-12-31T23:59", "0001-01-01T00:00"],
    "month": ["9999-12", "0001-01"],
    "email": ["x" * 300 + "@example.org"],
}


@dataclass
class Fields:
    """The fields of a form (or query string): values offered, kinds, file fields."""

    values: dict[str, set[str]]
    kinds: dict[str, str]
    files: set[str] = field(default_factory=set)

    def filled(self) -> dict[str, str]:
        """As a person fills it in: what the page offers, else a plausible value."""
        return {
            name: (sorted(self.values.get(name, ())) or [PLAUSIBLE[kind]])[0]
            for name, kind in sorted(self.kinds.items())
        }

    def sharp(self) -> list[dict[str, str]]:
        """Filled in, with one typed field at one of its sharpest values: each once."""
        base = self.filled()
        return [
            {**base, name: value}
            for name, kind in sorted(self.kinds.items())
            for value in SHARP.get(kind, [])
        ]


def field_strategy(kind: str, offered: set[str]) -> st.SearchStrategy[Any]:
    """A value for a field in an example that mixes: what the form offers or a plausible value,
    or a hostile one, sometimes repeated (the key twice)."""
    one = st.one_of(plausible(kind, offered), st.sampled_from(FOCUSED[kind]), hostile_text)
    return st.one_of(one, st.lists(one, min_size=2, max_size=3))


def plausible(kind: str, offered: set[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(offered) or [PLAUSIBLE[kind]])


@st.composite
def form_strategy(draw: Any, form: Fields) -> dict[str, Any]:
    """Two in three examples fill every field the page showed as a person would and aim one
    value, the focus, at its field's kind (a date far in the future, a number beyond any
    column), so that it gets past the other fields to the checks behind them; the third mixes
    (fields left out, hostile, repeated)."""
    data: dict[str, Any] = {}
    names = sorted(form.values)
    if draw(st.integers(0, 2)):
        for name in names:
            if name in form.kinds:  # (shown on a page: a person fills it in)
                data[name] = draw(plausible(form.kinds[name], form.values[name]))
    else:
        for name in names:
            if draw(st.booleans()):
                data[name] = draw(field_strategy(form.kinds.get(name, "text"), form.values[name]))
    if names:
        focus = draw(st.sampled_from(names))
        kind = form.kinds.get(focus, KINDS.get(focus, "text"))
        data[focus] = draw(st.sampled_from(FOCUSED[kind]))
    for name in sorted(form.files):
        if draw(st.booleans()):
            data[name] = draw(uploads)
    return data


# --- the test ---------------------------------------------------------------------------------

LOGINS = {"visitor": None, "resident": RESIDENT, "board": DEMO_BOARD[0], "admin": DEMO_ADMIN}


def send(client: Any, method: str, path: str, query: Any, data: Any, headers: Any) -> int:
    where = f"{method} {path[:300]} query={shorten(query)} data={shorten(data)} headers={headers}"
    try:
        if method == "GET":
            response = client.raw.get(path, query_string=query, headers=headers)
        else:
            response = client.raw.post(path, query_string=query, data=data, headers=headers)
    except Exception:
        raise AssertionError(f"{where}\nraised:\n{traceback.format_exc()[-4000:]}") from None
    body = read(response)
    assert response.status_code < 500, f"{where}\nanswered {response.status_code}:\n{body[:1000]}"
    return int(response.status_code)


@pytest.mark.parametrize("role", list(LOGINS))
def test_no_server_error_on_any_input(app: Any, make_client: Any, scene: Scene, role: str) -> None:
    client = make_client()
    if LOGINS[role] is not None:
        client.login(LOGINS[role], DEMO_PASSWORD)
    token = client.csrf()
    todo = routes(app, role)

    # what the pages offer this role: each GET route with the scene's real values
    names = Names()
    pages = [path for rule, method in todo if method == "GET" for path in real_paths(rule, scene)]
    read_pages(app, client, pages, names)
    # (the reader works: each role's own forms were found, with their real names)
    expected = {
        "visitor": ("voting.enter_code", "code"),
        "resident": ("proposals.create", "cost_lines-0-amount"),
        "board": ("rounds.create", "budget"),
        "admin": ("neighbourhoods.admin_create", "postcodes"),
    }[role]
    assert expected[1] in names.fields[(expected[0], "POST")], sorted(names.fields)
    by_area = wtforms_fields_by_area()
    api_names = api_query_names(client)

    failures: list[str] = []
    statuses: list[int] = []
    for rule, method in todo:
        key = (rule.endpoint, method)
        form = Fields(
            names.fields.get(key, {}), names.kinds.get(key, {}), names.files.get(key, set())
        )
        if method == "POST" and not form.values and not form.files:  # no page showed its form
            form.values = {name: set() for name in by_area.get(rule.endpoint.split(".")[0], ())}
        query_key = (rule.endpoint, "GET" if method == "GET" else "POST?")
        query = Fields(dict(names.fields.get(query_key, {})), names.kinds.get(query_key, {}))
        for name in (*ALWAYS_QUERY, *(api_names if rule.rule.startswith("/api/") else ())):
            query.values.setdefault(name, set())
        where = names.paths.get(key) or real_values(rule, scene)
        try:
            statuses += fuzz(client, token, rule, method, scene, where, query, form)
        except Exception as error:  # every route is tried; all failures are reported together
            found = error.exceptions if isinstance(error, ExceptionGroup) else [error]
            failures += [f"{role} {method} {rule.rule}: {e}"[:6000] for e in found]

    assert not failures, f"{len(failures)} route(s) answered 5xx:\n\n" + "\n\n".join(failures)
    # the token was right: most forms got past it to their checks (400: the token refused)
    assert statuses.count(400) < len(statuses) / 4, Counter(statuses)


def fuzz(
    client: Any,
    token: str,
    rule: Rule,
    method: str,
    scene: Scene,
    where: dict[str, str],
    query: Fields,
    form: Fields,
) -> list[int]:
    """One route: first each typed field at each of its sharpest values (explicit examples, at
    the URL where the page showed the form), then EXAMPLES generated ones: real and hostile URL
    values, query and form fields. Returns the statuses."""
    statuses: list[int] = []

    @given(
        path=st.fixed_dictionaries(path_values(rule, scene)),
        query=form_strategy(query),
        data=form_strategy(form),
        htmx=st.booleans(),
    )
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=SEED is None,  # the same examples on every run (CI)
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    def check(path: dict[str, str], query: Any, data: Any, htmx: bool) -> None:
        headers = {"HX-Request": "true"} if htmx else {}
        if method == "POST":
            data = {**data, "csrf_token": token}
        statuses.append(send(client, method, build_path(rule, path), query, data, headers))

    fields = query if method == "GET" else form
    for sharp in reversed(fields.sharp()):  # (example() runs the last applied first)
        values = {"query": sharp, "data": {}} if method == "GET" else {"query": {}, "data": sharp}
        check = example(path=where, htmx=False, **values)(check)
    if SEED is not None:
        check = seed(int(SEED))(check)
    check()
    return statuses
