"""The open data API: only public data, no vote counts before the result, private payees hidden,
paged with a maximum, CORS for GET, rate-limited, and every response as its OpenAPI document says
(schemathesis)."""

from __future__ import annotations

import json
from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import stored_result
from wijkbudget.accounts.models import Role
from wijkbudget.extensions import db, utcnow
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Phase, Round
from wijkbudget.spending import operations as spending
from wijkbudget.spending.models import FundedProject, PayeeType


@pytest.fixture
def open_data(make_wijk, make_user, make_round, make_proposal):
    wijk = make_wijk("Noord")
    resident = make_user("bewoner@example.org", wijk=wijk)
    board = make_user("bestuur@example.org", wijk=wijk, roles=((Role.BOARD, wijk),))
    make_round(wijk, Phase.CONCEPT, title="Nog geheim")
    voting = make_round(wijk, Phase.VOTING, title="Nu stemmen")
    on_ballot = make_proposal(voting, resident, State.ADMITTED, title="Op het biljet")
    make_proposal(voting, resident, State.CONCEPT, title="Nog een concept")
    make_proposal(voting, resident, State.WITHDRAWN, title="Teruggetrokken")
    done = make_round(wijk, Phase.RESULT, title="Vorig jaar", budget=1_000_000)
    chosen = make_proposal(done, resident, State.CHOSEN, title="Bankjes", cost=300_000)
    db.session.add(stored_result(done, chosen, board, ballots=7, sha256="a" * 64))
    spending.grant_chosen(board, done, [chosen], utcnow())
    project = chosen_project = db.session.scalars(db.select(FundedProject)).one()
    spending.record_expense(
        resident, chosen_project,
        spending.ExpenseData(spent_on=date.today(), amount_cents=5_000, payee="Jan Jansen",
                             payee_type=PayeeType.PRIVATE, description="Hulp"),
        None,
    )  # fmt: skip
    db.session.commit()
    return wijk, voting, on_ballot, done, project


def test_only_public_data_and_no_vote_counts_before_the_result(client, open_data):
    wijk, voting, on_ballot, done, project = open_data
    rounds = client.get(f"/api/v1/wijken/{wijk.slug}/rondes").json
    assert {r["title"] for r in rounds["items"]} == {"Nu stemmen", "Vorig jaar"}
    proposals = client.get(f"/api/v1/rondes/{voting.id}/voorstellen")
    assert [p["title"] for p in proposals.json["items"]] == ["Op het biljet"]
    assert "score" not in proposals.get_data(as_text=True)
    assert client.get(f"/api/v1/rondes/{voting.id}/uitslag").status_code == 404
    result = client.get(f"/api/v1/rondes/{done.id}/uitslag").json
    assert result["proposals"][0]["score"] == 7 and result["ballots_sha256"] == "a" * 64
    expenses = client.get(f"/api/v1/projecten/{project.id}/uitgaven")
    assert expenses.json["items"][0]["payee"] == "particulier"
    assert "Jan Jansen" not in expenses.get_data(as_text=True)
    ledger = client.get(f"/api/v1/wijken/{wijk.slug}/grootboek").json["items"]
    assert ledger[0]["kind"] == "grant" and len(ledger[0]["hash"]) == 64
    concept = db.session.scalars(db.select(Round).where(Round.title == "Nog geheim")).one()
    assert client.get(f"/api/v1/rondes/{concept.id}").status_code == 404


def test_paging_filters_cors_and_bad_parameters(client, open_data):
    wijk, voting, *_ = open_data
    response = client.get(f"/api/v1/wijken/{wijk.slug}/rondes?per_page=1&page=2")
    assert response.json["pages"] == 2 and len(response.json["items"]) == 1
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get(f"/api/v1/wijken/{wijk.slug}/rondes?phase=voting").json["total"] == 1
    for query in ("per_page=101", "page=0", "page=x", "phase=concept"):
        bad = client.get(f"/api/v1/wijken/{wijk.slug}/rondes?{query}")
        assert bad.status_code == 400 and bad.json["error"], query
    assert client.raw.post("/api/v1/wijken").status_code in (400, 405)


def test_the_api_is_rate_limited(app, client, open_data):
    app.config["RATELIMIT_API"] = "3 per minute"
    codes = [client.get("/api/v1/wijken").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert "error" in json.loads(client.get("/api/v1/wijken").get_data(as_text=True))


def test_every_response_matches_the_openapi_document(app, open_data):
    """schemathesis generates requests for every operation from the document (paths, filters,
    paging, wrong values) and checks each answer: no server error, status and body as described."""
    app.config["RATELIMIT_API"] = "100000 per minute"
    # schemathesis calls the app as host "localhost": one of the hosts the site answers to
    app.config["TRUSTED_HOSTS"] = [*app.config["TRUSTED_HOSTS"], "localhost"]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 11  # with the ledger checkpoints (all, and per wijk)

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:
            case.call_and_validate()

        check()
