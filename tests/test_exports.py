"""Every CSV and XLSX the site writes passes its cells through one function, exports.neutralise: a
proposal titled ``=HYPERLINK(...)`` arrives as text, never as a live formula (issue 18, point 9)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from wijkbudget import exports
from wijkbudget.accounts.models import Role
from wijkbudget.extensions import db
from wijkbudget.proposals.models import State
from wijkbudget.results import operations as results
from wijkbudget.rounds.models import Eligibility, Phase
from wijkbudget.spending import operations as spending
from wijkbudget.spending.models import FundedProject, PayeeType
from wijkbudget.voting import operations as voting
from wijkbudget.voting.models import Channel

EVIL = '=HYPERLINK("http://evil","klik")'
TITLES = [EVIL, "+" + EVIL[1:], "-" + EVIL[1:], "@" + EVIL[1:]]


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (EVIL, "'" + EVIL),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("  =1+1", "'  =1+1"),  # after leading whitespace, which spreadsheets may skip
        ("\n@SUM(A1)", "'\n@SUM(A1)"),
        ("-12.50", "-12.50"),  # a plain number stays a number
        ("-7", "-7"),
        ("Bankjes = fijn", "Bankjes = fijn"),
        ("e-mail", "e-mail"),
        (12, 12),
        (None, None),
    ],
)
def test_neutralise(cell, written):
    assert exports.neutralise(cell) == written


def live_formula(cell: Any) -> bool:
    """What a spreadsheet would run: text starting (after any whitespace) with a formula sign."""
    if not isinstance(cell, str) or exports._plain_number(cell):
        return False
    return cell.lstrip().startswith(exports.FORMULA_START)


@pytest.fixture
def west(make_wijk):
    return make_wijk("West", areas=("Lombok",))


@pytest.fixture
def board(west, make_user):
    return make_user("bestuur@example.org", wijk=west, roles=((Role.BOARD, west),))


@pytest.fixture
def closed(west, board, make_round, make_proposal, make_user):
    """A round whose four proposals, each titled as a formula, were all chosen and funded; an
    expense with a formula as payee and description; a batch of voting codes."""
    rnd = make_round(west, Phase.VOTING, budget=500_000, max_cost=400_000)
    rnd.voting_opens = datetime.now(UTC) - timedelta(days=7)
    proposals = [
        make_proposal(rnd, board, State.ADMITTED, title=title, cost=100_000) for title in TITLES
    ]
    db.session.commit()
    batch = voting.generate_codes(board, rnd, 2, label="Brieven")
    db.session.commit()
    for i in range(3):
        voter = make_user(f"kiezer{i}@example.org", wijk=west)
        voting.cast(rnd, {p.id: 1 for p in proposals}, user=voter, channel=Channel.ONLINE)
        db.session.commit()
    results.close_voting(board, rnd, confirmed=True)
    db.session.commit()
    project = db.session.scalars(select(FundedProject).order_by(FundedProject.id)).first()
    assert project is not None
    data = spending.ExpenseData(
        spent_on=date.today(), amount_cents=1_000, payee=EVIL,
        payee_type=PayeeType.COMPANY, description="@SUM(A1)",
    )  # fmt: skip
    spending.record_expense(board, project, data, None)
    db.session.commit()
    return rnd, batch


def _csv_cells(body: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(body)) for cell in row]


def _xlsx_cells(data: bytes) -> list[Any]:
    sheet = load_workbook(io.BytesIO(data)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)  # not one stored as a formula
    return [cell.value for cell in cells]


def test_every_csv_and_xlsx_export_neutralises_formula_titles(
    app, closed, board, west, make_client, monkeypatch
):
    rnd, batch = closed
    written: list[Any] = []
    real = exports.neutralise

    def spy(value: Any) -> Any:
        written.append(value)
        return real(value)

    monkeypatch.setattr(exports, "neutralise", spy)
    henk = make_client()
    henk.login(board.email)
    codes = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/stemcodes"
    letters = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/brieven"

    downloads = {  # endpoint: [(url, how, cells expected to hold the titles)]
        "results.download_csv": [(f"/wijk/{west.slug}/rondes/{rnd.id}/uitslag.csv", "get", True)],
        "voting.codes_csv": [(f"{codes}/{batch.id}.csv", "post", False)],
        "voting.letters_csv_download": [(f"{letters}/{batch.id}/drukker.csv", "post", False)],
        "spending.export": [
            (f"/wijk/{west.slug}/geld/{what}.{fmt}", "get", what == "projecten")
            for what in ("projecten", "uitgaven", "grootboek")
            for fmt in ("csv", "xlsx", "nl.csv")
        ],
        "spending.export_full": [
            (f"/wijk/{west.slug}/controle/{what}.{fmt}", "get", what == "projecten")
            for what in ("projecten", "uitgaven", "grootboek")
            for fmt in ("csv", "xlsx", "nl.csv")
        ],
    }
    # a new CSV or XLSX download must be added here (and so go through exports.neutralise)
    spreadsheet_routes = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.rule.endswith((".csv", ".xlsx", "xlsx):fmt>", ".csv):fmt>"))
    }
    assert spreadsheet_routes == set(downloads)

    for endpoint, urls in downloads.items():
        for url, how, has_titles in urls:
            written.clear()
            response = henk.post(url, page=codes) if how == "post" else henk.get(url)
            assert response.status_code == 200, url
            assert written, f"{endpoint}: {url} did not go through exports.neutralise"
            if url.endswith(".xlsx"):
                cells = _xlsx_cells(response.data)
            elif url.endswith(".nl.csv"):  # for Dutch Excel: semicolons after a byte order mark
                text = response.get_data(as_text=True).removeprefix("\ufeff")
                cells = [c for row in csv.reader(io.StringIO(text), delimiter=";") for c in row]
            else:
                cells = _csv_cells(response.get_data(as_text=True))
            assert not [cell for cell in cells if live_formula(cell)], url
            if has_titles:
                assert {"'" + title for title in TITLES} <= set(cells), url
    expenses = _csv_cells(henk.get(f"/wijk/{west.slug}/controle/uitgaven.csv").get_data(True))
    assert "'" + EVIL in expenses and "'@SUM(A1)" in expenses


# --- no-store on every page with personal data ------------------------------------------------


@pytest.fixture
def voting_round(west, board, make_round, make_proposal):
    """Two rounds in voting: one for residents' accounts, one with voting codes."""
    rounds = []
    for title, eligibility in (
        ("Met account", Eligibility.ACCOUNTS),
        ("Met codes", Eligibility.CODES),
    ):
        rnd = make_round(west, Phase.VOTING, title=title, budget=500_000, max_cost=400_000)
        rnd.eligibility = eligibility
        make_proposal(rnd, board, State.ADMITTED, title="Bankjes", cost=100_000)
        rounds.append(rnd)
    batch = voting.generate_codes(board, rounds[1], 1, label="Brieven")
    db.session.commit()
    return rounds, batch


def test_pages_with_personal_data_are_not_stored(voting_round, west, board, make_user, make_client):
    (accounts, with_codes), batch = voting_round
    ballot = f"/wijk/{west.slug}/rondes/{accounts.id}/stemmen"
    code_ballot = f"/wijk/{west.slug}/rondes/{with_codes.id}/stemmen"
    codes = f"/wijk/{west.slug}/bestuur/rondes/{with_codes.id}/stemcodes"
    resident = make_client()
    resident.login(make_user("jan@example.org", wijk=west).email)
    henk = make_client()
    henk.login(board.email)
    voter = make_client()  # with a voting code: a session, no account
    code = voting.batch_codes(batch)[0]
    assert voter.post("/stem", {"code": code}, page="/stem").status_code == 303

    pages = {
        "the ballot (resident)": resident.get(ballot),
        "the ballot (code)": voter.get(code_ballot),
        "the account": resident.get("/account"),
        "a board page": henk.get(f"/wijk/{west.slug}/bestuur"),
        "the board's codes": henk.get(codes),
        "the code letters": henk.post(f"{codes}/{batch.id}/brieven", page=codes),
        "a public page, logged in": resident.get(f"/wijk/{west.slug}"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert response.headers.get("Cache-Control") == "no-store", name


def test_public_pages_for_visitors_without_a_session_keep_their_caching(
    app_config, voting_round, west
):
    from wijkbudget import create_app

    cached = create_app({**app_config, "PAGE_CACHE_SECONDS": 60})
    visitor = cached.test_client()
    first, second = visitor.get(f"/wijk/{west.slug}"), visitor.get(f"/wijk/{west.slug}")
    assert first.status_code == second.status_code == 200
    assert "no-store" not in (first.headers.get("Cache-Control") or "")
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("miss", "hit")
    static = visitor.get("/static/css/site.css")
    assert static.headers.get("Cache-Control") != "no-store"
    static.close()
    with cached.app_context():
        db.engine.dispose()


# --- a statement timeout on PostgreSQL --------------------------------------------------------

FAR_AWAY = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # never connected to


def _connect_options(app_config: dict[str, Any], **changes: Any) -> str:
    from wijkbudget import create_app

    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": FAR_AWAY, **changes})
    connect_args = app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}).get("connect_args", {})
    return str(connect_args.get("options", ""))


def test_the_statement_timeout_is_a_connect_option(app_config, monkeypatch):
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    assert _connect_options(app_config) == "-c statement_timeout=15000"
    assert _connect_options(app_config, DATABASE_STATEMENT_TIMEOUT_MS=0) == ""
    kept = {"connect_args": {"options": "-c lock_timeout=5000", "application_name": "x"}}
    options = _connect_options(app_config, SQLALCHEMY_ENGINE_OPTIONS=kept)
    assert options == "-c lock_timeout=5000 -c statement_timeout=15000"
    # the command line (migrations, backup, restore) may take as long as it needs
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    assert _connect_options(app_config) == ""


def test_postgresql_cancels_a_statement_that_runs_too_long(app_config, monkeypatch):
    if not app_config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("statement_timeout is PostgreSQL's")
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from wijkbudget import create_app

    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    for timeout, shown in ((15000, "15s"), (200, "200ms")):
        app = create_app({**app_config, "DATABASE_STATEMENT_TIMEOUT_MS": timeout})
        with app.app_context():
            with db.engine.connect() as connection:
                assert connection.execute(text("SHOW statement_timeout")).scalar() == shown
                if timeout == 200:
                    with pytest.raises(OperationalError, match="statement timeout"):
                        connection.execute(text("SELECT pg_sleep(1)"))
            db.engine.dispose()
