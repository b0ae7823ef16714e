"""Closing the vote and the result: counted with the round's rule in the same transaction,
immutable, explained per proposal, downloadable, recountable; "what if" for board and council."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from wijkbudget.accounts.models import Role
from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db
from wijkbudget.proposals.models import Proposal, State
from wijkbudget.results import operations
from wijkbudget.results.models import AlreadyClosed, Result, ResultError, ResultLine
from wijkbudget.rounds import operations as rounds
from wijkbudget.rounds.models import Aggregation, BallotType, Phase, Round, RoundError
from wijkbudget.spending import operations as spending
from wijkbudget.spending.models import FundedProject
from wijkbudget.tally import pabulib, parallel, rules
from wijkbudget.voting import operations as voting
from wijkbudget.voting.models import Channel, VotingError


@pytest.fixture
def voted(west, board, make_round, make_proposal, make_user):
    """Budget € 5.000. Three voters want Speeltuin (€ 3.000) and Bankjes (€ 2.000); two others
    want Moestuin (€ 2.000). Greedy funds the majority's two; equal shares gives each group its
    share: Bankjes and Moestuin."""
    rnd = make_round(west, Phase.VOTING, budget=500_000, max_cost=400_000)
    rnd.aggregation = Aggregation.EQUAL_SHARES
    rnd.voting_opens = datetime.now(UTC) - timedelta(days=7)
    rnd.result_opens = datetime.now(UTC) - timedelta(minutes=1)
    speeltuin = make_proposal(rnd, board, State.ADMITTED, title="Speeltuin", cost=300_000)
    bankjes = make_proposal(rnd, board, State.ADMITTED, title="Bankjes", cost=200_000)
    moestuin = make_proposal(rnd, board, State.ADMITTED, title="Moestuin", cost=200_000)
    db.session.commit()
    choices = [{speeltuin.id: 1, bankjes.id: 1}] * 3 + [{moestuin.id: 1}] * 2
    with_dates = (rnd.voting_opens, rnd.result_opens)
    rnd.result_opens = None  # voting is open while the ballots go in
    for i, choice in enumerate(choices):
        voter = make_user(f"kiezer{i}@example.org", wijk=west)
        voting.cast(rnd, choice, user=voter, channel=Channel.ONLINE)
        db.session.commit()
    rnd.voting_opens, rnd.result_opens = with_dates
    db.session.commit()
    return rnd, {"speeltuin": speeltuin, "bankjes": bankjes, "moestuin": moestuin}


def close_url(rnd: Round) -> str:
    return f"/wijk/{rnd.neighbourhood.slug}/bestuur/rondes/{rnd.id}/stemming-sluiten"


def test_board_closes_the_vote_and_the_result_is_counted(voted, board, make_client, client):
    rnd, p = voted
    henk = make_client()
    henk.login(board.email)
    page = henk.get(close_url(rnd)).get_data(as_text=True)
    assert "5 mensen hebben gestemd" in page
    # the confirmation is required
    refused = henk.post(close_url(rnd), {}, page=close_url(rnd))
    assert refused.status_code == 422 and "Vink aan" in refused.get_data(as_text=True)
    assert db.session.get(Round, rnd.id).phase == Phase.VOTING

    response = henk.post(close_url(rnd), {"confirm": "y"}, page=close_url(rnd))
    assert response.status_code == 303
    db.session.expire_all()
    rnd = db.session.get(Round, rnd.id)
    assert rnd.phase == Phase.RESULT
    result = db.session.scalar(select(Result))
    assert (result.rule, result.completion) == ("equal-shares", "add1")
    funded = [line.proposal_id for line in result.lines if line.funded]
    assert set(funded) == {p["bankjes"].id, p["moestuin"].id}
    assert result.cost_cents == 400_000 and result.ballots_counted == 5
    assert p["speeltuin"].state == State.NOT_CHOSEN and p["moestuin"].state == State.CHOSEN
    assert "round.close" in db.session.scalars(select(AuditEvent.action)).all()
    # the result is final: each chosen proposal is now a funded project, its grant in the ledger
    projects = {
        fp.proposal_id: fp.granted_cents for fp in db.session.scalars(select(FundedProject))
    }
    assert projects == {pid: db.session.get(Proposal, pid).effective_cost_cents for pid in funded}
    assert spending.verify(rnd.neighbourhood_id).count == len(funded)

    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 voorstellen krijgen geld" in body and "Tot hier is er geld" in body
    # funded ones above the funding line, the rest below
    assert body.index("Moestuin") < body.index("Tot hier is er geld") < body.index("Speeltuin")
    # the engine's explanation, in plain Dutch, for the one that was not funded
    assert re.search(
        r"De 3 voorstanders hadden samen nog €\s[\d.]+,\d\d van de benodigde €\s3\.000,00", body
    )
    assert "<svg" in body and "<title" in body and result.ballots_sha256 in body
    assert "Wat als" not in body


def test_closing_twice_or_too_early_or_with_open_paper_is_refused(voted, board):
    rnd, _p = voted
    rnd.result_opens = datetime.now(UTC) + timedelta(hours=2)
    with pytest.raises(ResultError, match="loopt nog tot"):
        operations.close_voting(board, rnd, confirmed=True)
    rnd.result_opens = datetime.now(UTC) - timedelta(minutes=1)
    batch = voting.open_paper_batch(board, rnd, "Buurthuis", 3)
    db.session.commit()
    with pytest.raises(ResultError, match="Buurthuis"):
        operations.close_voting(board, rnd, confirmed=True)
    voting.discard_paper_batch(board, rnd, batch, "De stembus is niet gebruikt")
    db.session.commit()
    operations.close_voting(board, rnd, confirmed=True)
    db.session.commit()
    with pytest.raises(AlreadyClosed):
        operations.close_voting(board, rnd, confirmed=True)
    assert db.session.scalar(select(func.count(Result.id))) == 1


def test_a_second_close_from_a_stale_page_is_refused_by_the_database(voted, board):
    """Two board members press at the same moment: the second one's round still says voting."""
    rnd, _p = voted
    operations.close_voting(board, rnd, confirmed=True)
    db.session.commit()
    stale = db.session.get(Round, rnd.id)
    # what the other request had loaded (a clean value, never written back)
    set_committed_value(stale, "phase", Phase.VOTING)
    with pytest.raises(AlreadyClosed):
        operations.close_voting(board, stale, confirmed=True)
    assert db.session.scalar(select(func.count(Result.id))) == 1


def test_the_result_cannot_change_and_no_ballot_comes_in_after(voted, board, make_user, west):
    rnd, p = voted
    operations.close_voting(board, rnd, confirmed=True)
    db.session.commit()
    result = db.session.scalar(select(Result))
    result.cost_cents = 1
    with pytest.raises(ResultError):
        db.session.flush()
    db.session.rollback()
    line = db.session.scalar(select(ResultLine))
    db.session.delete(line)
    with pytest.raises(ResultError):
        db.session.flush()
    db.session.rollback()
    late = make_user("laat@example.org", wijk=west)
    with pytest.raises(VotingError, match="niet open"):
        voting.cast(db.session.get(Round, rnd.id), {p["speeltuin"].id: 1}, user=late,
                    channel=Channel.ONLINE)  # fmt: skip
    db.session.rollback()
    assert db.session.scalar(select(Result.cost_cents)) == 400_000


def test_voting_ends_by_date_but_only_the_board_closes(voted, board, make_user, west):
    rnd, p = voted
    # the end date has passed: nobody can vote, and the round waits in voting for the board
    assert rnd.result_opens < datetime.now(UTC)
    assert rounds.sync_phase(rnd) is False and rnd.phase == Phase.VOTING
    late = make_user("laat@example.org", wijk=west)
    with pytest.raises(VotingError, match="voorbij"):
        voting.cast(rnd, {p["speeltuin"].id: 1}, user=late, channel=Channel.ONLINE)
    db.session.rollback()
    with pytest.raises(RoundError, match="Stemming sluiten"):
        rounds.advance(board, db.session.get(Round, rnd.id), "klaar")


def test_downloads_recount_to_the_same_result(voted, board, client):
    rnd, p = voted
    operations.close_voting(board, rnd, confirmed=True)
    db.session.commit()
    result = db.session.scalar(select(Result))
    base = f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}"
    pb = client.get(f"{base}/stembiljetten.pb")
    assert pb.status_code == 200 and "attachment" in pb.headers["Content-Disposition"]
    assert hashlib.sha256(pb.data).hexdigest() == result.ballots_sha256
    text = pb.get_data(as_text=True)
    assert "kiezer" not in text and "@" not in text  # nothing about who voted
    election = pabulib.parse(text)
    assert election.voters == 5
    recount = rules.run(election, "equal-shares", "add1")
    assert sorted(int(i) for i in recount.funded) == sorted([p["bankjes"].id, p["moestuin"].id])

    data = json.loads(client.get(f"{base}/uitslag.json").get_data(as_text=True))
    assert data["ballots_sha256"] == result.ballots_sha256 and data["cost_cents"] == 400_000
    assert [row["funded"] for row in data["proposals"]] == [True, True, False]
    csv_text = client.get(f"{base}/uitslag.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("plek,voorstel,titel,gekozen")
    assert len(csv_text.strip().splitlines()) == 4


def test_the_readme_recount_script_gives_the_stored_result(voted, board, client, tmp_path):
    """The README's three commands: download, check the digest, recount with pabutools (the
    script is in docs/tally.md, which the README links)."""
    rnd, _p = voted
    operations.close_voting(board, rnd, confirmed=True)
    db.session.commit()
    result = db.session.scalar(select(Result))
    pb = client.get(f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}/stembiljetten.pb")
    ballots = tmp_path / "stembiljetten.pb"
    ballots.write_bytes(pb.data)
    assert hashlib.sha256(ballots.read_bytes()).hexdigest() == result.ballots_sha256
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "docs/tally.md#recount-it-yourself" in readme
    doc = (Path(__file__).parent.parent / "docs" / "tally.md").read_text()
    script = doc.split("<!-- recount.py", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "recount.py").write_text(script)
    out = subprocess.run(
        [sys.executable, str(tmp_path / "recount.py"), str(ballots)],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    lines = dict(line.split(":", 1) for line in out.strip().splitlines())
    funded = [str(line.proposal_id) for line in result.lines if line.funded]
    assert lines[result.rule].split() == funded


def test_what_if_is_for_board_and_councillors_only(voted, board, make_user, make_client, west):
    rnd, p = voted
    operations.close_voting(board, rnd, confirmed=True)
    db.session.commit()
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/uitslag/vergelijken"
    resident = make_client()
    resident.login(make_user("bewoner@example.org", wijk=west).email)
    assert resident.get(url).status_code == 403
    councillor = make_client()
    councillor.login(make_user("raad@example.org", roles=((Role.COUNCILLOR, west),)).email)
    page = councillor.get(url)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "niet de officiële uitslag" in body
    # greedy would have funded the majority's two proposals
    greedy = body.split("Meeste stemmen (greedy)")[1].split("</section>")[0]
    assert "Speeltuin" in greedy and "Bankjes" in greedy and "Moestuin" not in greedy
    assert "officieel" in body.split("Gelijke delen (Method of Equal Shares)")[1][:80]


def test_closing_may_fork_for_the_count_but_the_compare_page_never_does(
    voted, board, make_user, make_client, west, forks, monkeypatch
):
    """Closing a round asks for the add-one search in two processes (one count that may take a
    while); the "what if" page, a GET in a web worker, counts in its own process. Forced: two
    CPUs and no time alone first, so that any search asked to split does at once."""
    rnd, p = voted
    result = operations.close_voting(board, rnd, confirmed=True)
    db.session.commit()
    assert len(forks) == 1
    with pytest.raises(ChildProcessError):  # the child was reaped before the count returned
        os.waitpid(forks[0], os.WNOHANG)
    funded = {line.proposal_id for line in result.lines if line.funded}
    assert funded == {p["bankjes"].id, p["moestuin"].id}

    monkeypatch.setattr(parallel.os, "fork", lambda: pytest.fail("the compare page forked"))
    councillor = make_client()
    councillor.login(make_user("raad@example.org", roles=((Role.COUNCILLOR, west),)).email)
    page = councillor.get(f"/wijk/{west.slug}/rondes/{rnd.id}/uitslag/vergelijken")
    assert page.status_code == 200 and "niet de officiële uitslag" in page.get_data(as_text=True)


def test_cumulative_round_counts_points(west, board, make_round, make_proposal, make_user):
    rnd = make_round(west, Phase.VOTING, budget=500_000, max_cost=400_000)
    rnd.ballot_type = BallotType.CUMULATIVE
    rnd.ballot_points = 5
    rnd.aggregation = Aggregation.GREEDY
    a = make_proposal(rnd, board, State.ADMITTED, title="A", cost=300_000)
    b = make_proposal(rnd, board, State.ADMITTED, title="B", cost=300_000)
    db.session.commit()
    for i, choice in enumerate(({a.id: 1, b.id: 4}, {a.id: 3, b.id: 2}, {a.id: 2, b.id: 3})):
        voting.cast(rnd, choice, user=make_user(f"k{i}@example.org", wijk=west),
                    channel=Channel.ONLINE)  # fmt: skip
        db.session.commit()
    result = operations.close_voting(board, rnd, confirmed=True)
    db.session.commit()
    lines = {line.proposal_id: line for line in result.lines}
    assert (lines[a.id].score, lines[b.id].score) == (6, 9)
    assert lines[b.id].funded and not lines[a.id].funded  # only one fits


def test_result_page_queries_do_not_grow_with_proposals(
    west, board, make_round, make_proposal, make_user, client, count_queries
):
    counts = []
    for n in (3, 12):
        rnd = make_round(west, Phase.VOTING, title=f"Ronde {n}", budget=5_000_000)
        proposals = [
            make_proposal(rnd, board, State.ADMITTED, title=f"P{i}", cost=100_000, commit=False)
            for i in range(n)
        ]
        db.session.commit()
        voter = make_user(f"v{n}@example.org", wijk=west)
        voting.cast(rnd, {x.id: 1 for x in proposals[:2]}, user=voter, channel=Channel.ONLINE)
        db.session.commit()
        operations.close_voting(board, rnd, confirmed=True)
        db.session.commit()
        db.session.expire_all()
        with count_queries() as statements:
            assert client.get(f"/wijk/{west.slug}/rondes/{rnd.id}/uitslag").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_a_double_click_on_close_counts_once_and_grants_once(voted, board, make_client):
    """The second click finds the vote closed (409, with where to look); one result, one
    funded project and one grant in the ledger per chosen proposal, one audit line."""
    from wijkbudget.spending.models import EntryKind, LedgerEntry

    rnd, _p = voted
    henk = make_client()
    henk.login(board.email)
    token = henk.csrf(close_url(rnd))
    first = henk.raw.post(close_url(rnd), data={"confirm": "y", "csrf_token": token})
    second = henk.raw.post(close_url(rnd), data={"confirm": "y", "csrf_token": token})
    assert first.status_code == 303
    assert second.status_code == 409 and "al gesloten" in second.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Result.id))) == 1
    funded = db.session.scalar(select(func.count(ResultLine.id)).where(ResultLine.funded))
    assert db.session.scalar(select(func.count(FundedProject.id))) == funded == 2
    grants = select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == EntryKind.GRANT)
    assert db.session.scalar(grants) == funded
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("round.close") == 1


def test_closing_is_one_use_case_and_a_refusal_leaves_nothing(voted, board, monkeypatch):
    """A failure while granting (after the count) undoes the whole close: the round is still
    in voting, no result is stored."""
    rnd, _p = voted

    def broken(*_args, **_kwargs):
        raise ResultError("kapot")

    monkeypatch.setattr(spending, "grant_chosen", broken)
    with pytest.raises(ResultError, match="kapot"):
        operations.close_voting(board, rnd, confirmed=True)
    db.session.expire_all()
    assert db.session.get(Round, rnd.id).phase == Phase.VOTING
    assert db.session.scalar(select(func.count(Result.id))) == 0
    assert "round.close" not in db.session.scalars(select(AuditEvent.action)).all()
