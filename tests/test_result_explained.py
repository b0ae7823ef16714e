"""Issue 22, a result that explains itself, and words that say where a round stands.

The explanation of every proposal is made from the tally's own figures (tally/payments.py, the
greedy pass's money left) and checked here against an account of our own: on real pabulib
elections loaded into a round and closed as a board closes it, for greedy and for equal shares,
in the page, the CSV, the JSON download, the API and in English. Also: the chart has its words,
the summaries name the chosen projects, a chosen proposal links to its project and back, the
round page says what each phase means and offers a vote only while one can be cast."""

from __future__ import annotations

import csv
import html
import io
import json
import random
import re
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from wijkbudget import sealing
from wijkbudget.extensions import db
from wijkbudget.money import format_cents
from wijkbudget.proposals.models import State
from wijkbudget.results import operations, queries
from wijkbudget.results.models import Result, ResultLine
from wijkbudget.rounds.models import Aggregation, BallotType, Eligibility, Phase, Round
from wijkbudget.spending.models import FundedProject
from wijkbudget.tally import pabulib, rules
from wijkbudget.tally.engine import mes_fast
from wijkbudget.tally.exact import affordability, mes_exact
from wijkbudget.tally.model import BallotKind, Election, Project
from wijkbudget.tally.payments import PaymentMismatch, pay
from wijkbudget.tally.prep import Prep
from wijkbudget.voting import operations as voting
from wijkbudget.voting.models import Channel, SealedBallot

DATA = Path(__file__).parent / "data" / "pabulib"
NBSP = "\xa0"
API = "/api/v1"


# --------------------------------------------------------------------------------------------
# Our own account of a count: plain, slow, independent of the engine and of payments.py


def account_equal_shares(election: Election, b: Fraction) -> dict[str, dict[str, object]]:
    """Equal shares at per-voter budget ``b``, voter by voter (no groups), each price found
    afresh with the reference's affordability: per chosen project what its supporters had, the
    price of paying in full, who paid in full, who paid all they had left, who had nothing."""
    cumulative = election.kind == BallotKind.CUMULATIVE
    ids = list(election.projects)
    cost = {pid: election.projects[pid].cost for pid in ids}
    money = [Fraction(b)] * len(election.ballots)

    def utility(v: int, pid: str) -> int:
        return election.ballots[v][pid] if cumulative else cost[pid]

    supporters = {
        pid: [v for v, ballot in enumerate(election.ballots) if ballot.get(pid, 0) > 0]
        for pid in ids
    }
    left = {pid for pid in ids if supporters[pid]}
    out: dict[str, dict[str, object]] = {}
    while True:
        best = None
        for pid in sorted(left):
            sup = [(v, utility(v, pid)) for v in supporters[pid]]
            rho = affordability(cost[pid], sup, money, [1] * len(money))
            if rho is None:
                continue
            key = (rho, cost[pid], -len(supporters[pid]), pid)
            if best is None or key < best[0]:
                best = (key, pid, rho)
        if best is None:
            return out
        _key, pid, rho = best
        left.discard(pid)
        figures = {"had": Fraction(0), "full": 0, "rest": 0, "rest_paid": Fraction(0), "broke": 0}
        for v in supporters[pid]:
            due = rho * utility(v, pid)
            figures["had"] += money[v]
            if money[v] == 0:
                figures["broke"] += 1
            elif money[v] < due:
                figures["rest"] += 1
                figures["rest_paid"] += money[v]
                money[v] = Fraction(0)
            else:
                figures["full"] += 1
                money[v] -= due
        figures["price"] = rho if cumulative else rho * cost[pid]
        figures["step"] = len(out) + 1
        out[pid] = figures


def account_greedy(election: Election) -> dict[str, int]:
    """Greedy by hand: what was left of the budget when each supported project's turn came."""
    score = {pid: 0 for pid in election.projects}
    supp = {pid: 0 for pid in election.projects}
    for ballot in election.ballots:
        for pid, points in ballot.items():
            if points > 0:
                score[pid] += points
                supp[pid] += 1
    left = election.budget
    turns = {}
    order = sorted(
        (pid for pid in election.projects if supp[pid]),
        key=lambda pid: (-score[pid], election.projects[pid].cost, -supp[pid], pid),
    )
    for pid in order:
        turns[pid] = left
        if election.projects[pid].cost <= left:
            left -= election.projects[pid].cost
    return turns


def cents(amount: Fraction | int, scale: int) -> int:
    return int(Fraction(amount) * 100 / scale)


# --------------------------------------------------------------------------------------------
# The tally's payments


@pytest.mark.parametrize(
    "name",
    [
        "Netherlands_Assen_2024.pb",
        "Switzerland_Zurich_D10.pb",  # cumulative
        "Poland_Czestochowa_2020_Grabowka.pb",  # cumulative
        "Switzerland_Zurich_SN.pb",
    ],
)
def test_the_payments_of_real_elections_are_those_of_an_independent_account(name):
    election = pabulib.read(DATA / name)
    outcome = rules.run(election, "equal-shares", "add1", explain=True)
    account = account_equal_shares(election, outcome.voter_budget)
    assert list(account) == outcome.funded
    for pid, figures in account.items():
        payment = outcome.explanations[pid].payment
        assert payment is not None
        assert (payment.had, payment.price, payment.full, payment.rest) == (
            figures["had"], figures["price"], figures["full"], figures["rest"],
        )  # fmt: skip
        assert (payment.rest_paid, payment.broke) == (figures["rest_paid"], figures["broke"])
        assert payment.full_paid + payment.rest_paid == election.projects[pid].cost
        assert payment.full + payment.rest + payment.broke == outcome.explanations[pid].supporters
    # the projects not chosen keep what their supporters had left at the end
    for pid, explanation in outcome.explanations.items():
        if pid not in account:
            assert explanation.payment is None


def test_payments_are_only_counted_when_asked():
    election = pabulib.read(DATA / "Netherlands_Assen_2024.pb")
    plain = rules.run(election, "equal-shares", "add1")
    assert all(e.payment is None for e in plain.explanations.values())
    explained = rules.run(election, "equal-shares", "add1", explain=True)
    assert explained.funded == plain.funded
    assert all(explained.explanations[p].payment is not None for p in explained.funded)


@pytest.mark.parametrize("cumulative", [False, True], ids=["approval", "cumulative"])
def test_the_fast_and_the_exact_engine_pay_the_same(cumulative):
    """Payments from the fast engine's prices and from the exact reference's, on random
    elections with ties, equal and zero costs: the same figures."""
    rng = random.Random(2212 + cumulative)
    for _ in range(120):
        m = rng.randint(1, 7)
        projects = {f"p{i}": Project(f"p{i}", rng.choice([0, 5, 10, 10, 20, 35])) for i in range(m)}
        ballots = []
        for _ in range(rng.randint(1, 12)):
            chosen = rng.sample(list(projects), rng.randint(0, m))
            ballots.append({p: (rng.randint(1, 3) if cumulative else 1) for p in chosen})
        kind = BallotKind.CUMULATIVE if cumulative else BallotKind.APPROVAL
        election = Election(projects, rng.randint(1, 90), kind, ballots)
        fast = rules._run_prepared(Prep(election), "equal-shares", "add1", mes_fast, explain=True)
        exact = rules._run_prepared(Prep(election), "equal-shares", "add1", mes_exact, explain=True)
        assert fast.funded == exact.funded
        for pid in fast.funded:
            assert fast.explanations[pid].payment == exact.explanations[pid].payment, election
        account = account_equal_shares(election, fast.voter_budget)
        assert list(account) == fast.funded


def test_a_price_that_does_not_pay_the_cost_is_refused():
    election = Election({"a": Project("a", 10)}, 10, BallotKind.APPROVAL, [{"a": 1}, {"a": 1}])
    prep = Prep(election)
    run = mes_fast(prep, Fraction(5), True)
    assert run.order == [0] and run.prices == [Fraction(5, 10)]
    assert pay(prep, Fraction(5), run.order, run.prices)[0].full == 2
    with pytest.raises(PaymentMismatch):
        pay(prep, Fraction(5), run.order, [Fraction(4, 10)])


def test_greedy_says_what_was_left_at_each_turn():
    election = pabulib.read(DATA / "Poland_Warszawa_2019_Miedzeszyn.pb")
    outcome = rules.run(election, "greedy")
    turns = account_greedy(election)
    for pid, explanation in outcome.explanations.items():
        assert explanation.left_before == turns.get(pid)
        if explanation.funded:
            assert explanation.cost <= explanation.left_before
        elif explanation.stage == "not-enough":
            assert explanation.cost > explanation.left_before


# --------------------------------------------------------------------------------------------
# A real election in a round, closed by the board


@pytest.fixture
def real_round(west, board, make_round, make_proposal):
    """``real_round(file, aggregation)``: the file's projects as proposals on the ballot of a
    round of West, its ballots cast (sealed, as the cast stores them), voting over; the board
    closes it. Returns (the round, the election, {project id: proposal id})."""

    def load(name: str, aggregation: Aggregation) -> tuple[Round, Election, dict[str, int]]:
        election = pabulib.read(DATA / name)
        unit = 100 // election.scale  # cents per unit of the file
        costs = [p.cost * unit for p in election.projects.values()]
        rnd = make_round(
            west, Phase.VOTING, title=name[:60], budget=election.budget * unit,
            min_cost=0, max_cost=max(costs),
        )  # fmt: skip
        rnd.aggregation = aggregation
        if election.kind == BallotKind.CUMULATIVE:
            rnd.ballot_type = BallotType.CUMULATIVE
        rnd.voting_opens = datetime.now(UTC) - timedelta(days=7)
        rnd.result_opens = datetime.now(UTC) - timedelta(minutes=1)
        proposals = {
            pid: make_proposal(
                rnd,
                board,
                State.ADMITTED,
                title=(project.name or pid)[:100],
                cost=project.cost * unit,
                commit=False,
            )  # fmt: skip
            for pid, project in election.projects.items()
        }
        db.session.commit()
        ids = {pid: proposal.id for pid, proposal in proposals.items()}
        boxes = [
            {
                "round_id": rnd.id,
                "counted": True,
                "box": sealing.seal(
                    rnd.ballot_public_key, {ids[pid]: pts for pid, pts in ballot.items() if pts > 0}
                ),
            }
            for ballot in election.ballots
        ]
        db.session.execute(insert(SealedBallot), boxes)
        db.session.commit()
        operations.close_voting(board, rnd, confirmed=True)
        db.session.commit()
        return rnd, election, ids

    return load


def lines_of(rnd: Round) -> dict[int, ResultLine]:
    result = db.session.scalar(select(Result).where(Result.round_id == rnd.id))
    return {line.proposal_id: line for line in result.lines}


@pytest.mark.parametrize(
    "name",
    [
        "Poland_Wieliczka_2023_Green_Budget.pb",  # approval; many paid all they had, or nothing
        "Switzerland_Zurich_D10.pb",  # cumulative
    ],
)
def test_equal_shares_explanations_of_a_real_election_match_the_tally(real_round, client, name):
    rnd, election, ids = real_round(name, Aggregation.EQUAL_SHARES)
    result = db.session.scalar(select(Result).where(Result.round_id == rnd.id))
    if election.selected:  # (Wieliczka: the city's own outcome)
        assert {pid for pid in ids if lines_of(rnd)[ids[pid]].funded} == election.selected
    outcome = rules.run(election, "equal-shares", "add1")
    assert result.voter_share_cents == cents(outcome.voter_budget, election.scale)
    account = account_equal_shares(election, outcome.voter_budget)
    lines = lines_of(rnd)
    body = client.get(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}/uitslag").get_data(
        as_text=True
    )
    seen = {"rest": 0, "broke": 0}
    for pid, proposal_id in ids.items():
        line = lines[proposal_id]
        said = queries.explanation(result, line)
        assert "€ 0,00, genoeg" not in said.replace(NBSP, " ")
        if pid not in account:
            assert not line.funded and line.supporters_had_cents is None
            if line.stage == "not-enough":
                money = format_cents(line.supporters_money_cents)
                assert money in said and line.supporters_money_cents < line.cost_cents
            continue
        figures = account[pid]
        assert line.funded and line.rank == figures["step"]
        assert line.supporters_had_cents == cents(figures["had"], election.scale)
        assert line.price_cents == cents(figures["price"], election.scale)
        assert (line.paid_in_full, line.paid_all_left, line.had_nothing_left) == (
            figures["full"], figures["rest"], figures["broke"],
        )  # fmt: skip
        assert line.paid_all_left_cents == cents(figures["rest_paid"], election.scale)
        # the sentence says these figures, and the page shows that sentence
        assert f"als nummer {line.rank}." in said
        assert format_cents(line.supporters_had_cents) in said
        if figures["full"]:
            assert format_cents(line.price_cents) in said
            assert re.search(rf"\b{figures['full']} voorstanders? betaalde", said)
        if figures["rest"]:
            assert format_cents(line.paid_all_left_cents) in said
        if figures["broke"]:
            assert re.search(rf"\b{figures['broke']} voorstanders? hadd?e?n? niets meer", said)
        assert "Wie niet voor dit voorstel stemde, betaalde er niet aan mee." in said
        assert said in html.unescape(body)
        seen["rest"] += bool(figures["rest"])
        seen["broke"] += bool(figures["broke"])
    if name.startswith("Poland_Wieliczka"):
        assert seen["rest"] and seen["broke"]  # every kind of sentence was checked


@pytest.mark.parametrize(
    "name",
    [
        "Poland_Warszawa_2019_Miedzeszyn.pb",  # the city counted with greedy: `selected`
        "Poland_Czestochowa_2024_Gnaszyn_-_Kawodrza.pb",  # cumulative, greedy, `selected`
    ],
)
def test_greedy_explanations_of_a_real_election_match_the_tally(real_round, name):
    rnd, election, ids = real_round(name, Aggregation.GREEDY)
    result = db.session.scalar(select(Result).where(Result.round_id == rnd.id))
    lines = lines_of(rnd)
    assert {pid for pid in ids if lines[ids[pid]].funded} == election.selected
    turns = account_greedy(election)
    for pid, proposal_id in ids.items():
        line = lines[proposal_id]
        said = queries.explanation(result, line)
        if pid not in turns:
            assert (
                line.budget_left_cents is None and said == "Niemand heeft op dit voorstel gestemd."
            )
            continue
        assert line.budget_left_cents == cents(turns[pid], election.scale)
        if line.stage == "too-expensive":
            continue
        assert format_cents(line.budget_left_cents) in said
        if line.funded:
            assert said.startswith(f"Gekozen als nummer {line.rank}:")
            assert format_cents(line.budget_left_cents - line.cost_cents) in said
        else:
            assert said.startswith("Niet gekozen:") and "paste niet meer" in said
            assert line.budget_left_cents < line.cost_cents


# --------------------------------------------------------------------------------------------
# A small round: the same explanation everywhere


@pytest.fixture
def counted(west, board, make_round, make_proposal, make_user):
    """Budget € 5.000, equal shares (add one). Three voters want Speeltuin (€ 3.000) and
    Bankjes (€ 2.000); two want Moestuin (€ 2.000). The add-one search ends with € 1.666 for
    every voter: the three pay € 666,66… each for Bankjes (first: as cheap per euro as
    Speeltuin, and cheaper), the two € 1.000 each for Moestuin; the three then have € 2.998
    left together, not the € 3.000 Speeltuin costs. Closed by the board."""
    rnd = make_round(west, Phase.VOTING, budget=500_000, max_cost=400_000)
    rnd.aggregation = Aggregation.EQUAL_SHARES
    rnd.voting_opens = datetime.now(UTC) - timedelta(days=7)
    speeltuin = make_proposal(rnd, board, State.ADMITTED, title="Speeltuin", cost=300_000)
    bankjes = make_proposal(rnd, board, State.ADMITTED, title="Bankjes", cost=200_000)
    moestuin = make_proposal(rnd, board, State.ADMITTED, title="Moestuin", cost=200_000)
    db.session.commit()
    choices = [{speeltuin.id: 1, bankjes.id: 1}] * 3 + [{moestuin.id: 1}] * 2
    for i, choice in enumerate(choices):
        voter = make_user(f"kiezer{i}@example.org", wijk=west)
        voting.cast(rnd, choice, user=voter, channel=Channel.ONLINE)
        db.session.commit()
    rnd.result_opens = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    operations.close_voting(board, rnd, confirmed=True)
    db.session.commit()
    return rnd, {"speeltuin": speeltuin, "bankjes": bankjes, "moestuin": moestuin}


def test_the_page_says_what_the_supporters_had_and_paid(counted, client):
    rnd, p = counted
    body = client.get(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}/uitslag").get_data(
        as_text=True
    )
    text = body.replace(NBSP, " ")
    # the bug of the issue: a chosen proposal's supporters "had € 0,00, enough for …"
    assert "genoeg voor de" not in text and "hadden samen € 0,00" not in text
    bankjes = item_of(text, p["bankjes"])
    assert "Gekozen als nummer 1." in bankjes
    assert "Iedereen die stemde, kreeg € 1.666,00 te besteden." in bankjes
    assert "hadden de 3 voorstanders samen nog € 4.998,00 over." in bankjes
    assert "De rest was al betaald" not in bankjes  # (the first one chosen)
    assert "Samen betaalden ze de € 2.000,00 die het kost:" in bankjes
    assert "3 voorstanders betaalden ieder € 666,66." in bankjes
    assert "Wie niet voor dit voorstel stemde, betaalde er niet aan mee." in bankjes
    moestuin = item_of(text, p["moestuin"])
    assert "Gekozen als nummer 2." in moestuin
    assert "hadden de 2 voorstanders samen nog € 3.332,00 over." in moestuin
    assert "2 voorstanders betaalden ieder € 1.000,00." in moestuin
    speeltuin = item_of(text, p["speeltuin"])
    assert (
        "Niet gekozen. De 3 voorstanders hadden samen nog € 2.998,00 van de benodigde "
        "€ 3.000,00. Dat was te weinig: alleen wie voor een voorstel stemt, betaalt eraan mee."
    ) in speeltuin


def test_the_csv_the_json_and_the_api_give_the_same_explanation(counted, client):
    rnd, p = counted
    result = db.session.scalar(select(Result).where(Result.round_id == rnd.id))
    said = {line.proposal_id: queries.explanation(result, line) for line in result.lines}
    base = f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}"

    rows = csv_rows(client, base)
    by_id = {int(row["voorstel"]): row for row in rows}
    assert {pid: row["uitleg"] for pid, row in by_id.items()} == said
    bankjes = by_id[p["bankjes"].id]
    assert bankjes["voorstanders_hadden_euro"] == "4998.00"
    assert bankjes["volle_deel_euro"] == "666.66"
    assert (bankjes["betaalden_vol"], bankjes["betaalden_alles_wat_over_was"]) == ("3", "0")
    assert by_id[p["speeltuin"].id]["voorstanders_hadden_euro"] == ""

    data = json.loads(client.get(f"{base}/uitslag.json").get_data(as_text=True))
    assert data["voter_share_cents"] == 166_600 and data["left_cents"] == 100_000
    assert {row["proposal_id"]: row["explanation"] for row in data["proposals"]} == said
    row = next(r for r in data["proposals"] if r["proposal_id"] == p["bankjes"].id)
    assert (row["supporters_had_cents"], row["price_cents"]) == (499_800, 66_666)
    assert row["paid_in_full"] == 3

    data = client.get(f"{API}/rondes/{rnd.id}/uitslag").get_json()
    assert {row["id"]: row["explanation"] for row in data["proposals"]} == said
    row = next(r for r in data["proposals"] if r["id"] == p["bankjes"].id)
    assert (row["supporters_had_cents"], row["paid_in_full"]) == (499_800, 3)
    assert row["had_nothing_left"] == 0
    assert data["voter_share_cents"] == 166_600


def test_the_explanation_in_english(counted, client):
    """Money in English and no Dutch left in the explanation (the English words are the
    catalogue's)."""
    rnd, p = counted
    client.post("/taal", {"lang": "en", "next": "/"}, page="/")
    base = f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}"
    rows = csv_rows(client, base)
    why = next(row["uitleg"] for row in rows if int(row["voorstel"]) == p["bankjes"].id)
    assert "€4,998.00" in why and "€666.66" in why and "€1,666.00" in why
    for dutch in ("voorstanders", "Gekozen", "betaalden", "stemde"):
        assert dutch not in why, why
    body = client.get(f"{base}/uitslag").get_data(as_text=True)
    assert "Voor controleurs" not in body and "voorstanders" not in body


# --------------------------------------------------------------------------------------------
# The chart, the summaries, the links


def test_the_chart_has_words_and_the_money_line(counted, client):
    rnd, p = counted
    body = client.get(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}/uitslag").get_data(
        as_text=True
    )
    table = body.split('<table class="result-chart">')[1].split("</table>")[0]
    assert "<caption" in table and "Stemmen per voorstel" in table
    heads = re.findall(r'<th scope="row"><a href="#voorstel-(\d+)">([^<]+)</a></th>', table)
    assert [title for _id, title in heads] == ["Bankjes", "Moestuin", "Speeltuin"]
    # every bar is decoration beside its number: the figure is text
    assert table.count('<svg aria-hidden="true"') == 3
    assert re.search(r"</svg><span>3</span>", table)
    money_line = table.split('class="money-line"')[1].split("</tr>")[0]
    assert "Tot hier is er geld" in money_line and "€\xa04.000,00 van €\xa05.000,00" in money_line
    assert table.index("Moestuin") < table.index("money-line") < table.index("Speeltuin")
    # where the money goes: the chosen proposals' costs and what is left, in words
    split = body.split('class="budget-split"')[1].split("</figure>")[0]
    assert "Bankjes</a>: €\xa02.000,00" in split and "Over: €\xa01.000,00" in split
    assert "blijft van de wijk" in body


def test_the_summaries_name_the_chosen_projects(counted, client):
    rnd, p = counted
    base = f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}"
    body = client.get(f"{base}/uitslag").get_data(as_text=True)
    assert "2 voorstellen krijgen geld: Bankjes en Moestuin." in body
    summary = client.get(f"{base}/samenvatting").get_data(as_text=True)
    chosen = summary.split('id="gekozen"')[1].split("</section>")[0]
    projects = {fp.proposal_id: fp.id for fp in db.session.scalars(select(FundedProject))}
    assert f'href="/projecten/{projects[p["bankjes"].id]}">Bankjes</a>' in chosen
    assert "Moestuin" in chosen and "Speeltuin" not in chosen
    assert chosen.index("Bankjes") < chosen.index("Moestuin")  # in the order they were chosen


def test_a_chosen_proposal_links_to_its_project_and_back(counted, client):
    rnd, p = counted
    project = db.session.scalar(
        select(FundedProject).where(FundedProject.proposal_id == p["moestuin"].id)
    )
    body = client.get(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}/uitslag").get_data(
        as_text=True
    )
    item = item_of(body, p["moestuin"])
    assert f'href="/projecten/{project.id}"' in item
    lost = item_of(body, p["speeltuin"])
    assert "/projecten/" not in lost
    page = client.get(f"/projecten/{project.id}").get_data(as_text=True)
    back = f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}/uitslag#voorstel-{p['moestuin'].id}"
    assert f'href="{back}"' in page


def test_jargon_is_behind_the_fold_for_checkers(counted, client):
    rnd, _p = counted
    body = client.get(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}/uitslag").get_data(
        as_text=True
    )
    main = body.split("<main")[1].split("</main>")[0]
    fold = main.split('<details class="for-checkers">')[1].split("</details>")[0]
    assert "<summary>Voor controleurs</summary>" in fold
    outside = main.replace(fold, "")
    for word in ("SHA-256", "pabulib", "greedy", "Method of Equal Shares", "hash", "add1"):
        assert word not in outside, word
    assert "SHA-256" in fold and "pabulib" in fold and "Method of Equal Shares" in fold


def test_the_money_page_keeps_hashes_and_360giving_behind_the_fold(counted, client):
    rnd, _p = counted
    body = client.get(f"/wijk/{rnd.neighbourhood.slug}/geld").get_data(as_text=True)
    main = body.split("<main")[1].split("</main>")[0]
    folds = re.findall(r'<details class="for-checkers">.*?</details>', main, flags=re.S)
    assert len(folds) == 2 and all("<summary>Voor controleurs</summary>" in f for f in folds)
    assert "Grootboek intact tot en met boeking" in main
    outside = re.sub(r'<details class="for-checkers">.*?</details>', "", main, flags=re.S)
    for word in ("hash", "360Giving", "JSON"):
        assert word not in outside, word
    assert "Laatste hash:" in folds[0] and "360Giving" in folds[1]


def test_a_result_stored_before_the_figures_says_nothing_wrong(
    west, board, make_round, make_proposal
):
    """A result closed before issue 22 has no payments stored: its chosen proposals get a
    sentence that is still true, never "had € 0,00"."""
    rnd = make_round(west, Phase.RESULT, budget=500_000)
    proposal = make_proposal(rnd, board, State.CHOSEN, title="Oud", cost=200_000)
    result = Result(
        round_id=rnd.id, rule="equal-shares", completion="add1", budget_cents=500_000,
        cost_cents=200_000, ballots_counted=3, ballot_type="approval", ballots_file="",
        ballots_sha256="0" * 64,
    )  # fmt: skip
    result.lines.append(
        ResultLine(
            proposal_id=proposal.id,
            funded=True,
            rank=1,
            score=3,
            supporters=3,
            cost_cents=200_000,
            stage="equal-shares",
            supporters_money_cents=None,
        )  # fmt: skip
    )
    db.session.add(result)
    db.session.commit()
    said = queries.explanation(result, result.lines[0]).replace(NBSP, " ")
    assert said == (
        "Gekozen als nummer 1: de voorstanders konden de € 2.000,00 samen betalen van hun deel "
        "van het budget."
    )


# --------------------------------------------------------------------------------------------
# The round page: where the round stands, in words


def item_of(body: str, proposal) -> str:
    """The result page's list item of a proposal."""
    return body.split(f'id="voorstel-{proposal.id}"')[1].split("</li>")[0]


def csv_rows(client, base: str) -> list[dict[str, str]]:
    text = client.get(f"{base}/uitslag.csv").get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(text)))


def round_page(client, rnd: Round) -> str:
    return client.get(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}").get_data(as_text=True)


def test_a_vote_is_offered_only_while_one_can_be_cast(voting_round, client, west):
    rnd, _proposals = voting_round
    rnd.eligibility = Eligibility.ACCOUNTS_AND_CODES
    rnd.result_opens = datetime.now(UTC) + timedelta(days=1)
    db.session.commit()
    page = round_page(client, rnd)
    assert "Stem nu" in page and "Stem met de code uit je brief" in page
    assert "2 op het stembiljet" in page and "Bewoners stemmen op de toegelaten" in page
    wijk_page = client.get(f"/wijk/{west.slug}").get_data(as_text=True)
    assert "Stem nu" in wijk_page
    assert rnd.title in client.get("/").get_data(as_text=True)  # letters: the home page points

    # after the end date, before the board closes the vote
    rnd.result_opens = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    page = round_page(client, rnd)
    assert "Stem nu" not in page and "Stem met de code uit je brief" not in page
    assert "op het stembiljet" not in page.replace("stonden op het stembiljet", "")
    assert "2 stonden op het stembiljet; de stemmen worden nog geteld" in page
    assert "Het stemmen is voorbij." in page
    assert "Stem nu" not in client.get(f"/wijk/{west.slug}").get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert "Heb je een brief met een stemcode?" not in home


def test_after_the_count_the_round_says_what_was_on_the_ballot_and_chosen(counted, client):
    rnd, _p = counted
    page = round_page(client, rnd)
    assert "3 ingediend, 3 stonden op het stembiljet, 2 gekozen" in page
    assert "0 op het stembiljet" not in page and "Stem nu" not in page
    assert "De stemmen zijn geteld" in page


@pytest.mark.parametrize(
    ("phase", "sentence"),
    [
        (Phase.SUBMISSION, "Bewoners doen voorstellen voor de wijk"),
        (Phase.REVIEW, "Het bestuur kijkt of elk voorstel past bij de regels"),
        (Phase.SUPPORT, "Bewoners steunen de voorstellen die ze goed vinden"),
        (Phase.EXECUTION, "De gekozen voorstellen worden uitgevoerd"),
        (Phase.CLOSED, "De ronde is afgelopen"),
    ],
)
def test_every_phase_is_explained_in_one_sentence(west, make_round, client, phase, sentence):
    rnd = make_round(west, phase)
    page = round_page(client, rnd)
    now = page.split('<p class="phase-now">')[1].split("</p>")[0]
    assert sentence in now and now.count(". ") == 0
    timeline = page.split('<ol class="timeline">')[1].split("</ol>")[0]
    assert timeline.count('class="phase-what"') == len(rnd.phases()) - 1  # (not the concept)
    assert "Bewoners stemmen op de toegelaten voorstellen." in timeline
    if phase in (Phase.SUBMISSION, Phase.REVIEW):
        assert "toegelaten voor de stemming" in page and "op het stembiljet</dd>" not in page
