"""Races in voting and results, against the real PostgreSQL: N requests at the same instant on
one voting code, one account, one paper batch or one round, repeated with fresh data; afterwards
one ballot per person, a paper batch confirmed with all its ballots or discarded with none, one
result with one grant per chosen proposal, a code either used or revoked, and no request got a
5xx."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.concurrency import (
    assert_no_server_errors,
    audits,
    count,
    fresh,
    postgres_only,
    race,
    repeat,
    statuses,
    tab_of,
)
from wijkbudget.accounts.models import Role, User
from wijkbudget.extensions import db
from wijkbudget.neighbourhoods.models import Neighbourhood
from wijkbudget.proposals.models import State
from wijkbudget.results.models import Result, ResultLine
from wijkbudget.rounds.models import Eligibility, Phase, Round
from wijkbudget.rounds.models import PhaseChange as RoundPhaseChange
from wijkbudget.spending.models import EntryKind, FundedProject, LedgerEntry
from wijkbudget.voting import operations
from wijkbudget.voting.codes import code_hash, normalise_code
from wijkbudget.voting.models import (
    Ballot,
    Channel,
    CodeBatch,
    PaperBatch,
    Participation,
    Receipt,
    SealedBallot,
    VotingCode,
)

pytestmark = postgres_only

N = 8
#: the discard form: asked for explicitly, with a reason
DISCARD = {"action": "discard", "sure": "y", "reason": "Telstaat klopt niet"}


@dataclass
class Scene:
    wijk: Neighbourhood
    slug: str  # read in the contenders' threads, where the test's session is not at hand
    henk: User  # board: opens the paper batches
    ria: User  # board: confirms them
    jan: User  # board: confirms them too
    voter: User


@pytest.fixture
def scene(make_wijk, make_user) -> Scene:
    wijk = make_wijk("Noord")
    board = ((Role.BOARD, wijk),)
    return Scene(
        wijk=wijk,
        slug=wijk.slug,
        henk=make_user("henk@example.org", wijk=wijk, roles=board),
        ria=make_user("ria@example.org", wijk=wijk, roles=board),
        jan=make_user("jan@example.org", wijk=wijk, roles=board),
        voter=make_user("kiezer@example.org", wijk=wijk),
    )


@pytest.fixture
def logged_in(make_client):
    """One login per person for the whole test (logging in hashes a password: slow); each
    contender gets a client of its own with a copy of that browser's cookie."""
    made: dict[str, Any] = {}

    def login(email: str) -> Any:
        if email not in made:
            client = make_client()
            client.login(email)
            made[email] = client
        return made[email]

    return login


@pytest.fixture
def new_round(scene, make_round, make_proposal):
    """A fresh round in voting with three admitted proposals, for one attempt."""

    def make(eligibility: Eligibility = Eligibility.CODES) -> tuple[Round, list[int]]:
        rnd = make_round(scene.wijk, Phase.VOTING, budget=500_000, max_cost=400_000)
        rnd.eligibility = eligibility
        proposals = [
            make_proposal(rnd, scene.henk, State.ADMITTED, cost=cost, commit=False)
            for cost in (300_000, 200_000, 100_000)
        ]
        db.session.commit()
        return rnd, [p.id for p in proposals]

    return make


def letters(scene: Scene, rnd: Round, n: int) -> list[str]:
    """``n`` new voting codes of the round, as its letters print them (made by Henk)."""
    return operations.batch_codes(operations.generate_codes(scene.henk, rnd, n))


def ballot_url(scene: Scene, round_id: int) -> str:
    return f"/wijk/{scene.slug}/rondes/{round_id}/stemmen"


def ready_to_cast(client: Any, url: str, proposal_id: int, code: str | None = None) -> Any:
    """Enter the code (if any), choose, review: the action that sends the ballot."""
    if code is not None:
        assert client.post("/stem", {"code": code}, page="/stem").status_code == 303
    chosen = {"p": [str(proposal_id)], "action": "review"}
    assert client.post(url, chosen, page=url).status_code == 303
    token = client.csrf(f"{url}/controleren")
    return lambda: client.raw.post(f"{url}/versturen", data={"csrf_token": token})


def same_form(browser: Any, make_client: Any, url: str, data: dict[str, str]) -> Any:
    """Contenders that send one form (one page, one token) from copies of one browser: a
    double click, N times."""
    token = browser.csrf(url)

    def contender(_i: int) -> Any:
        other = tab_of(browser, make_client)
        return lambda: other.raw.post(url, data={**data, "csrf_token": token})

    return contender


def board_post(client: Any, url: str, data: dict[str, str]) -> Any:
    token = client.csrf(url)
    return lambda: client.raw.post(url, data={**data, "csrf_token": token})


def pressed_by_two(
    first: Any, second: Any, make_client: Any, url: str, data: dict[str, str]
) -> list[Any]:
    """Two board members send one form at once, each from N/2 tabs; the responses (no 5xx)."""

    def contender(i: int) -> Any:
        who = first if i % 2 == 0 else second
        return board_post(tab_of(who, make_client), url, data)

    responses = race(N, contender)
    assert_no_server_errors(responses)
    return responses


# --- one ballot per person ----------------------------------------------------------------------


def test_casts_with_one_code_at_once_make_one_ballot(scene, new_round, make_client):
    for _ in repeat():
        rnd, proposals = new_round()
        code = letters(scene, rnd, 1)[0]
        round_id, url = rnd.id, ballot_url(scene, rnd.id)
        fresh()

        def contender(i: int, url: str = url, code: str = code, proposals: list = proposals) -> Any:
            # eight browsers with the same letter, each with its own session
            return ready_to_cast(make_client(), url, proposals[i % 3], code)

        responses = race(N, contender)
        assert_no_server_errors(responses)
        places = Counter(r.headers.get("Location", "").rsplit("/", 1)[-1] for r in responses)
        assert places["bewijs"] == 1, [
            (r.status_code, r.headers.get("Location")) for r in responses
        ]
        assert set(statuses(responses)) <= {303, 409}
        fresh()
        assert count(Participation, Participation.round_id == round_id) == 1
        assert count(SealedBallot, SealedBallot.round_id == round_id) == 1
        assert count(VotingCode, VotingCode.round_id == round_id, VotingCode.used) == 1


def test_casts_by_one_account_at_once_make_one_ballot(scene, new_round, logged_in, make_client):
    """A double (or eightfold) click from one browser: one ballot; every answer is its receipt
    (the same one) or a 409, none a 5xx."""
    voter = logged_in(scene.voter.email)
    for _ in repeat():
        rnd, proposals = new_round(Eligibility.ACCOUNTS)
        round_id, url = rnd.id, ballot_url(scene, rnd.id)
        fresh()
        ready_to_cast(voter, url, proposals[0])  # the draft and the receipt-to-be in the cookie
        token = voter.csrf(f"{url}/controleren")

        def contender(i: int, url: str = url, token: str = token) -> Any:
            browser = tab_of(voter, make_client)
            return lambda: browser.raw.post(f"{url}/versturen", data={"csrf_token": token})

        responses = race(N, contender)
        assert_no_server_errors(responses)
        assert set(statuses(responses)) <= {303, 409}, statuses(responses)
        assert any(r.headers.get("Location", "").endswith("/bewijs") for r in responses)
        fresh()
        assert count(Participation, Participation.round_id == round_id) == 1
        assert count(SealedBallot, SealedBallot.round_id == round_id) == 1
        assert count(Receipt, Receipt.round_id == round_id) == 1


def test_a_revocation_racing_casts_with_that_code(scene, new_round, logged_in, make_client):
    """Either the ballot counts and the code is used, or the code is revoked and there is no
    ballot."""
    henk = logged_in(scene.henk.email)
    for _ in repeat(2 * 3):
        rnd, proposals = new_round()
        code = letters(scene, rnd, 1)[0]
        round_id, url = rnd.id, ballot_url(scene, rnd.id)
        codes_url = f"/wijk/{scene.slug}/bestuur/rondes/{round_id}/stemcodes"
        fresh()

        def contender(
            i: int,
            url: str = url,
            code: str = code,
            codes_url: str = codes_url,
            chosen: int = proposals[0],
        ) -> Any:
            if i % 2 == 0:
                return ready_to_cast(make_client(), url, chosen, code)
            board = tab_of(henk, make_client)
            return board_post(board, codes_url, {"action": "revoke_code", "code": code})

        responses = race(N, contender)
        assert_no_server_errors(responses)
        fresh()
        used, revoked = db.session.execute(
            select(VotingCode.used, VotingCode.revoked_at.is_not(None)).where(
                VotingCode.round_id == round_id
            )
        ).one()
        ballots = count(SealedBallot, SealedBallot.round_id == round_id)
        assert (used, revoked, ballots) in {(True, False, 1), (False, True, 0)}
        assert count(Participation, Participation.round_id == round_id) == ballots
        if used:  # the board was told it could not revoke a code that voted
            assert 409 in statuses(responses[1::2])
        else:
            code_id = db.session.scalar(
                select(VotingCode.id).where(VotingCode.round_id == round_id)
            )
            assert audits("codes.revoke", code_id, "voting_code") == 1


# --- paper batches ----------------------------------------------------------------------------


def paper_batch_with_sheets(scene: Scene, rnd: Round, proposals: list[int], sheets: int) -> Any:
    codes = letters(scene, rnd, sheets + N)
    batch = operations.open_paper_batch(scene.henk, rnd, "Buurthuis", sheets)
    for code in codes[:sheets]:
        operations.enter_sheet(scene.henk, rnd, batch, code, {proposals[0]: 1})
    return batch.id, codes[sheets:]


def batch_is_whole(batch_id: int) -> PaperBatch:
    """A batch ends confirmed with all its ballots (counted) or discarded with none; an open
    one has every ballot it holds waiting."""
    batch = db.session.get(PaperBatch, batch_id)
    ballots = list(
        db.session.scalars(select(SealedBallot).where(SealedBallot.paper_batch_id == batch_id))
    )
    votes = count(Participation, Participation.paper_batch_id == batch_id)
    assert not (batch.confirmed_at and batch.discarded_at)
    if batch.confirmed_at is not None:
        assert len(ballots) == batch.declared_count == votes
        assert all(b.counted for b in ballots)
    elif batch.discarded_at is not None:
        assert ballots == [] and votes == 0
    else:
        assert len(ballots) == votes and not any(b.counted for b in ballots)
    return batch


def test_confirm_discard_and_sheets_at_once_leave_a_whole_batch(
    scene, new_round, logged_in, make_client
):
    henk, ria = logged_in(scene.henk.email), logged_in(scene.ria.email)
    for _ in repeat(2 * 3):
        rnd, proposals = new_round()
        batch_id, spare = paper_batch_with_sheets(scene, rnd, proposals, 2)
        url = f"/wijk/{scene.slug}/bestuur/rondes/{rnd.id}/papier/{batch_id}"
        fresh()

        def contender(
            i: int, url: str = url, spare: list[str] = spare, proposals: list[int] = proposals
        ) -> Any:
            if i % 3 == 0:
                return board_post(tab_of(ria, make_client), url, {"action": "confirm"})
            if i % 3 == 1:
                return board_post(tab_of(ria, make_client), url, DISCARD)
            sheet = {"action": "sheet", "identifier": spare[i], "p": str(proposals[1])}
            return board_post(tab_of(henk, make_client), url, sheet)

        responses = race(N, contender)
        assert_no_server_errors(responses)
        fresh()
        batch = batch_is_whole(batch_id)
        assert batch.confirmed_at is not None or batch.discarded_at is not None
        # the spare codes of sheets that were refused or discarded can vote again
        for code in spare[:N]:
            found = operations.find_code(rnd, code)
            entered = db.session.scalar(
                select(func.count(Participation.id))
                .join(VotingCode, VotingCode.id == Participation.code_id)
                .where(VotingCode.code_hash == code_hash(normalise_code(code)))
            )
            assert (found is None) == bool(entered)
        if batch.confirmed_at:
            assert audits("paper.confirm", batch_id, "paper_batch") == 1
        else:
            assert audits("paper.discard", batch_id, "paper_batch") == 1


def test_two_board_members_confirming_at_once_confirm_once(
    scene, new_round, logged_in, make_client
):
    ria, jan = logged_in(scene.ria.email), logged_in(scene.jan.email)
    for _ in repeat():
        rnd, proposals = new_round()
        batch_id, _spare = paper_batch_with_sheets(scene, rnd, proposals, 3)
        round_id = rnd.id
        url = f"/wijk/{scene.slug}/bestuur/rondes/{round_id}/papier/{batch_id}"
        fresh()

        responses = pressed_by_two(ria, jan, make_client, url, {"action": "confirm"})
        assert sorted(statuses(responses)) == [303] + [409] * (N - 1)
        fresh()
        batch = batch_is_whole(batch_id)
        assert batch.confirmed_at is not None
        assert audits("paper.confirm", batch_id, "paper_batch") == 1
        counted = count(SealedBallot, SealedBallot.round_id == round_id, SealedBallot.counted)
        assert counted == 3


def test_double_clicks_on_the_board_s_code_and_paper_forms(
    scene, new_round, logged_in, make_client
):
    """The same form sent N times at once: one batch of codes, one paper batch, one revocation,
    one discard; every walk-in press a code of its own; no 5xx."""
    henk = logged_in(scene.henk.email)
    for attempt in repeat():
        rnd, _proposals = new_round()
        round_id = rnd.id
        codes_url = f"/wijk/{scene.slug}/bestuur/rondes/{round_id}/stemcodes"
        paper_url = f"/wijk/{scene.slug}/bestuur/rondes/{round_id}/papier"
        fresh()
        browser = tab_of(henk, make_client)

        generate = {
            "action": "generate",
            "count": "20",
            "label": "Brieven",
            "form_token": f"c{attempt}",
        }
        responses = race(N, same_form(browser, make_client, codes_url, generate))
        assert_no_server_errors(responses)
        fresh()
        assert count(CodeBatch, CodeBatch.round_id == round_id) == 1
        assert count(VotingCode, VotingCode.round_id == round_id) == 20

        opened = {"label": "Markt", "declared": "2", "form_token": f"p{attempt}"}
        responses = race(N, same_form(browser, make_client, paper_url, opened))
        assert_no_server_errors(responses)
        fresh()
        assert count(PaperBatch, PaperBatch.round_id == round_id) == 1
        batch_id = db.session.scalar(select(PaperBatch.id).where(PaperBatch.round_id == round_id))

        batch_url = f"{paper_url}/{batch_id}"
        responses = race(N, same_form(browser, make_client, batch_url, DISCARD))
        assert_no_server_errors(responses)
        assert sorted(statuses(responses)) == [303] + [409] * (N - 1)
        fresh()
        assert audits("paper.discard", batch_id, "paper_batch") == 1

        code_batch = db.session.scalar(select(CodeBatch.id).where(CodeBatch.round_id == round_id))
        revoke = {"action": "revoke_batch", "batch": str(code_batch)}
        responses = race(N, same_form(browser, make_client, codes_url, revoke))
        assert_no_server_errors(responses)
        fresh()
        assert audits("codes.revoke_batch", code_batch, "code_batch") == 1
        assert count(VotingCode, VotingCode.batch_id == code_batch,
                     VotingCode.revoked_at.is_(None)) == 0  # fmt: skip

        responses = race(N, same_form(browser, make_client, codes_url, {"action": "walk_in"}))
        assert_no_server_errors(responses)
        assert statuses(responses) == [200] * N
        fresh()
        walk_ins = count(CodeBatch, CodeBatch.round_id == round_id, CodeBatch.size == 1)
        assert walk_ins == N


# --- closing the vote ---------------------------------------------------------------------------


def test_closes_at_once_count_once_and_grant_once(scene, new_round, logged_in, make_client):
    henk, ria = logged_in(scene.henk.email), logged_in(scene.ria.email)
    for _ in repeat():
        rnd, proposals = new_round()
        codes = letters(scene, rnd, 5)
        for i, code in enumerate(codes):
            chosen = {proposals[0]: 1, proposals[2]: 1} if i < 3 else {proposals[1]: 1}
            operations.cast(rnd, chosen, code=operations.find_code(rnd, code),
                            channel=Channel.CODE)  # fmt: skip
        rnd.result_opens = datetime.now(UTC) - timedelta(minutes=1)
        db.session.commit()
        round_id = rnd.id
        url = f"/wijk/{scene.slug}/bestuur/rondes/{round_id}/stemming-sluiten"
        fresh()

        responses = pressed_by_two(henk, ria, make_client, url, {"confirm": "y"})
        assert sorted(statuses(responses)) == [303] + [409] * (N - 1), statuses(responses)
        fresh()
        assert db.session.get(Round, round_id).phase == Phase.RESULT
        assert count(Result, Result.round_id == round_id) == 1
        result = db.session.scalar(select(Result).where(Result.round_id == round_id))
        chosen = set(
            db.session.scalars(
                select(ResultLine.proposal_id).where(
                    ResultLine.result_id == result.id, ResultLine.funded
                )
            )
        )
        assert chosen and result.ballots_counted == 5
        projects = list(
            db.session.scalars(select(FundedProject).where(FundedProject.round_id == round_id))
        )
        assert sorted(p.proposal_id for p in projects) == sorted(chosen)
        grants = count(
            LedgerEntry,
            LedgerEntry.kind == EntryKind.GRANT,
            LedgerEntry.project_id.in_([p.id for p in projects]),
        )
        assert grants == len(chosen)
        assert audits("round.close", round_id, "budget_round") == 1


def test_casts_while_the_vote_is_closed_are_all_counted_or_refused(
    scene, new_round, logged_in, make_client
):
    """Ballots cast at the moment the board closes the vote: each is either in the count (the
    close waited for it) or refused (it came after); none is stored but left out."""
    henk = logged_in(scene.henk.email)
    for _ in repeat():
        rnd, proposals = new_round()
        codes = letters(scene, rnd, N)
        round_id, url = rnd.id, ballot_url(scene, rnd.id)
        close_url = f"/wijk/{scene.slug}/bestuur/rondes/{round_id}/stemming-sluiten"
        fresh()

        def contender(
            i: int,
            url: str = url,
            codes: list[str] = codes,
            chosen: int = proposals[2],
            close_url: str = close_url,
        ) -> Any:
            if i == 0:
                return board_post(tab_of(henk, make_client), close_url, {"confirm": "y"})
            return ready_to_cast(make_client(), url, chosen, codes[i])

        responses = race(N, contender)
        assert_no_server_errors(responses)
        assert responses[0].status_code == 303  # the close
        fresh()
        result = db.session.scalar(select(Result).where(Result.round_id == round_id))
        ballots = count(Ballot, Ballot.round_id == round_id)
        assert result.ballots_counted == ballots
        cast = sum(r.headers.get("Location", "").endswith("/bewijs") for r in responses[1:])
        assert cast == ballots


def test_casts_when_the_dates_opened_the_vote_before_the_tick_ran(scene, new_round, make_client):
    """The vote opened by date a moment ago and nothing wrote that move yet: N ballots at once
    all count, and the move is written once."""
    for _ in repeat():
        rnd, proposals = new_round()
        codes = letters(scene, rnd, N)
        rnd.phase = Phase.SUPPORT
        rnd.voting_opens = datetime.now(UTC) - timedelta(seconds=5)
        db.session.commit()
        round_id, url = rnd.id, ballot_url(scene, rnd.id)
        fresh()

        def contender(
            i: int, url: str = url, codes: list[str] = codes, chosen: int = proposals[1]
        ) -> Any:
            return ready_to_cast(make_client(), url, chosen, codes[i])

        responses = race(N, contender)
        assert_no_server_errors(responses)
        assert all(r.headers.get("Location", "").endswith("/bewijs") for r in responses)
        fresh()
        assert db.session.get(Round, round_id).phase == Phase.VOTING
        assert count(SealedBallot, SealedBallot.round_id == round_id) == N
        moves = count(
            RoundPhaseChange,
            RoundPhaseChange.round_id == round_id,
            RoundPhaseChange.to_phase == Phase.VOTING,
        )
        assert moves == 1
