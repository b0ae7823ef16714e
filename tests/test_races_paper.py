"""Races on correcting paper entry, against the real PostgreSQL (issue 21, part 4): a sheet struck
out while the batch is confirmed, one sheet struck by two board members at once, a strike while
the batch is discarded. Afterwards the batch is whole (confirmed with exactly its sheets that
were not struck, or discarded with nothing), a struck sheet's code can vote again, each strike
is one audit line, and no request got a 5xx."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from tests.concurrency import (
    BoardScene,
    assert_no_server_errors,
    audits,
    board_scene,
    count,
    fresh,
    postgres_only,
    race,
    repeat,
    send,
    statuses,
    tab_of,
)
from wijkbudget.accounts.models import Role, User
from wijkbudget.extensions import db
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Eligibility, Phase, Round
from wijkbudget.voting import operations
from wijkbudget.voting.models import PaperBatch, PaperSheet, Participation, SealedBallot

pytestmark = postgres_only

N = 8
REASON = "Verkeerde stemcode ingetypt"


@dataclass
class Scene(BoardScene):
    """Noord's board (``board`` begins the batches and enters the sheets, ``board2`` strikes)
    and a third member, ``board3`` (confirms, discards, or strikes too)."""

    board3: User


@pytest.fixture
def scene(make_wijk, make_user) -> Scene:
    fields = board_scene(make_wijk, make_user)
    board = ((Role.BOARD, fields["wijk"]),)
    return Scene(**fields, board3=make_user("bestuur3@example.org", wijk=fields["wijk"],
                                            roles=board))  # fmt: skip


@pytest.fixture
def logged_in(make_client):
    """One login per person for the whole test (logging in hashes a password: slow)."""
    made: dict[str, Any] = {}

    def login(user: User) -> Any:
        if user.email not in made:
            client = make_client()
            client.login(user.email)
            made[user.email] = client
        return made[user.email]

    return login


def post(client: Any, url: str, data: dict[str, str]) -> Any:
    """Prepared before the barrier (the form's token fetched); sent when called."""
    token = client.csrf(url)
    return lambda: send(client, token, url, data)


@pytest.fixture
def new_batch(scene, make_round, make_proposal):
    """A fresh round of codes in voting with a batch of three sheets entered by ``board``;
    returns the batch's page, its id and the three codes."""

    def make() -> tuple[str, int, list[str]]:
        rnd = make_round(scene.wijk, Phase.VOTING, budget=500_000, max_cost=400_000)
        rnd.eligibility = Eligibility.CODES
        proposal = make_proposal(rnd, scene.board, State.ADMITTED, cost=100_000)
        codes = operations.batch_codes(operations.generate_codes(scene.board, rnd, 3))
        batch = operations.open_paper_batch(scene.board, rnd, "Buurthuis", 3)
        for code in codes:
            operations.enter_sheet(scene.board, rnd, batch, code, {proposal.id: 1})
        page = f"/wijk/{scene.slug}/bestuur/rondes/{rnd.id}/papier/{batch.id}"
        return page, batch.id, codes

    return make


def strikes(batch_id: int) -> int:
    return audits("paper.strike", batch_id, "paper_batch")


def whole(batch_id: int, codes: list[str]) -> PaperBatch:
    """The batch holds exactly the ballots of its sheets that are not struck out (counted once
    confirmed, none once discarded); a struck sheet has neither ballot nor participation and
    its code can vote again; one audit line per struck sheet."""
    batch = db.session.get(PaperBatch, batch_id)
    sheets = list(db.session.scalars(select(PaperSheet).where(PaperSheet.batch_id == batch_id)))
    standing = [s for s in sheets if s.struck_at is None]
    struck = [s for s in sheets if s.struck_at is not None]
    ballots = list(
        db.session.scalars(select(SealedBallot).where(SealedBallot.paper_batch_id == batch_id))
    )
    votes = count(Participation, Participation.paper_batch_id == batch_id)
    assert not (batch.confirmed_at and batch.discarded_at)
    assert strikes(batch_id) == len(struck)
    if batch.discarded_at is not None:
        assert ballots == [] and votes == 0
        assert all(operations.find_code(batch_round(batch), c) is not None for c in codes)
        return batch
    assert len(ballots) == votes == len(standing)
    assert all(b.counted for b in ballots) == (batch.confirmed_at is not None)
    if batch.confirmed_at is not None:
        # nothing was struck after the confirmation, and a confirmed sheet has no links
        assert all(s.struck_at <= batch.confirmed_at for s in struck)
        assert all(s.participation_id is None and s.sealed_ballot_id is None for s in sheets)
        assert (batch.mismatch_reason is not None) == bool(struck)
    free = sum(operations.find_code(batch_round(batch), c) is not None for c in codes)
    assert free == len(struck)
    return batch


def batch_round(batch: PaperBatch) -> Round:
    return db.session.get(Round, batch.round_id)


def test_a_strike_racing_the_confirmation_leaves_a_whole_batch(
    scene, new_batch, logged_in, make_client
):
    """``board2`` strikes sheet 1 from N/2 tabs while ``board3`` confirms (with a reason,
    should the count no longer match) from N/2: either the confirmation came first (the strike
    finds the batch confirmed, 409, and all three count) or the strike did (the confirmation
    counts two and keeps its reason)."""
    second, third = logged_in(scene.board2), logged_in(scene.board3)
    outcomes = set()
    for _ in repeat(2 * 3):
        url, batch_id, codes = new_batch()
        fresh()

        def contender(i: int, url: str = url) -> Any:
            if i % 2 == 0:
                form = {"action": "strike", "number": "1", "reason": REASON}
                return post(tab_of(second, make_client), url, form)
            form = {"action": "confirm", "reason": "Eén stembiljet is doorgestreept"}
            return post(tab_of(third, make_client), url, form)

        responses = race(N, contender)
        assert_no_server_errors(responses)
        fresh()
        batch = whole(batch_id, codes)
        assert batch.confirmed_at is not None
        assert statuses(responses[1::2]).count(303) == 1  # one confirmation
        outcomes.add(strikes(batch_id))
    assert outcomes <= {0, 1}


def test_one_sheet_struck_by_two_at_once_is_struck_once(scene, new_batch, logged_in, make_client):
    """``board2`` and ``board3`` strike sheet 2 at the same instant, each from N/2 tabs: one of
    them struck it (their other tabs: the same success), the other gets 409; one audit line;
    its code free."""
    second, third = logged_in(scene.board2), logged_in(scene.board3)
    for _ in repeat():
        url, batch_id, codes = new_batch()
        fresh()

        def contender(i: int, url: str = url) -> Any:
            who = second if i % 2 == 0 else third
            form = {"action": "strike", "number": "2", "reason": f"{REASON} ({i % 2})"}
            return post(tab_of(who, make_client), url, form)

        responses = race(N, contender)
        assert_no_server_errors(responses)
        fresh()
        batch = whole(batch_id, codes)
        assert batch.is_open and strikes(batch_id) == 1
        struck = db.session.scalar(
            select(PaperSheet).where(PaperSheet.batch_id == batch_id, PaperSheet.number == 2)
        )
        winner = 0 if struck.struck_by_id == scene.board2.id else 1
        assert struck.struck_reason == f"{REASON} ({winner})"
        assert statuses(responses[winner::2]) == [303] * (N // 2)
        assert statuses(responses[1 - winner :: 2]) == [409] * (N // 2)
        assert count(SealedBallot, SealedBallot.paper_batch_id == batch_id) == 2


def test_a_strike_racing_a_discard_leaves_nothing(scene, new_batch, logged_in, make_client):
    """``board2`` strikes sheet 3 while ``board3`` discards the batch: it ends discarded with
    nothing of it counting and every code free; the strike either happened first (one audit
    line) or found the batch discarded (409)."""
    second, third = logged_in(scene.board2), logged_in(scene.board3)
    for _ in repeat(2 * 3):
        url, batch_id, codes = new_batch()
        fresh()

        def contender(i: int, url: str = url) -> Any:
            if i % 2 == 0:
                form = {"action": "strike", "number": "3", "reason": REASON}
                return post(tab_of(second, make_client), url, form)
            form = {"action": "discard", "sure": "y", "reason": "De stembus was niet verzegeld"}
            return post(tab_of(third, make_client), url, form)

        responses = race(N, contender)
        assert_no_server_errors(responses)
        fresh()
        batch = whole(batch_id, codes)
        assert batch.discarded_at is not None
        assert statuses(responses[1::2]).count(303) == 1
        assert all(code in (303, 409) for code in statuses(responses))
