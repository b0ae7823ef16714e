"""Races on an address register, against the real PostgreSQL: casts by codes of one address and
by accounts living there, released at the same instant on its last places. Exactly as many get
through as the address has places, the others get a 409, none a 5xx; and two accounts of one
mailbox at once make one vote."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.concurrency import (
    assert_no_server_errors,
    fresh,
    postgres_only,
    race,
    repeat,
    statuses,
)
from wijkbudget.accounts.models import Role
from wijkbudget.extensions import db
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Eligibility, Phase
from wijkbudget.voting import operations, register
from wijkbudget.voting.models import Participation, RegisterAddress, VoterFingerprint

pytestmark = postgres_only

N = 8
CAPACITY = 2


@pytest.fixture
def scene(make_wijk, make_user):
    wijk = make_wijk("Noord")
    board = make_user("henk@example.org", wijk=wijk, roles=((Role.BOARD, wijk),))
    return wijk, board


def ready_to_cast(client: Any, url: str, proposal_id: int, code: str | None = None) -> Any:
    if code is not None:
        assert client.post("/stem", {"code": code}, page="/stem").status_code == 303
    chosen = client.post(url, {"p": [str(proposal_id)], "action": "review"}, page=url)
    assert chosen.status_code == 303, chosen.status_code
    token = client.csrf(f"{url}/controleren")
    return lambda: client.raw.post(f"{url}/versturen", data={"csrf_token": token})


@pytest.mark.parametrize("eligibility", [Eligibility.CODES, Eligibility.ACCOUNTS])
def test_casts_for_the_last_places_of_one_address(
    scene, make_round, make_proposal, make_user, make_client, eligibility
):
    """Codes of one address (more than its places: letters and walk-in codes), or accounts
    living there, all cast at once: exactly CAPACITY get through."""
    wijk, board = scene
    residents, logged_in = [], []
    if eligibility == Eligibility.ACCOUNTS:
        for i in range(N):
            residents.append(make_user(f"bewoner{i}@example.org", wijk=wijk))
            client = make_client()
            client.login(residents[-1].email)
            logged_in.append(client)
    for attempt in repeat():
        rnd = make_round(wijk, Phase.REVIEW, budget=500_000, max_cost=400_000)
        rnd.eligibility = eligibility
        proposal = make_proposal(rnd, board, State.ADMITTED, cost=100_000)
        number = str(attempt + 1)
        register.upload_register(board, rnd, f"3531 AB;{number};{CAPACITY}\n".encode())
        address_id = register.find_address(rnd.id, "3531 AB", number).id
        codes = []
        if eligibility == Eligibility.CODES:
            batch = operations.generate_codes(board, rnd, N, addresses=[address_id] * N)
            codes = operations.batch_codes(batch)
        for resident in residents:
            register.set_voting_address(resident, rnd, "3531 AB", number)
        rnd.phase = Phase.VOTING
        db.session.commit()
        round_id, proposal_id = rnd.id, proposal.id
        url = f"/wijk/{wijk.slug}/rondes/{round_id}/stemmen"

        def contender(i: int, url: str = url, codes: list = codes, pid: int = proposal_id) -> Any:
            if codes:  # a letter's code, in a browser of its own
                return ready_to_cast(make_client(), url, pid, codes[i])
            return ready_to_cast(logged_in[i], url, pid)  # an account at the address

        fresh()
        responses = race(N, contender)
        assert_no_server_errors(responses)
        assert set(statuses(responses)) <= {303, 409}, statuses(responses)
        through = [r for r in responses if r.headers.get("Location", "").endswith("/bewijs")]
        assert len(through) == CAPACITY, statuses(responses)
        # refused by the claim itself, with its message (not by the check constraint behind it)
        refused = [r.get_data(as_text=True) for r in responses if r.status_code == 409]
        assert refused and all("adressenlijst toestaat" in body for body in refused)
        fresh()
        used = db.session.scalar(
            select(RegisterAddress.used).where(RegisterAddress.id == address_id)
        )
        assert used == CAPACITY
        assert (
            db.session.scalar(
                select(func.count(Participation.id)).where(Participation.round_id == round_id)
            )
            == CAPACITY
        )


def test_two_accounts_of_one_mailbox_at_once_make_one_vote(
    scene, make_round, make_proposal, make_user, make_client
):
    wijk, board = scene
    emails = ["jan.jansen@gmail.com", "janjansen@gmail.com", "jan.jansen+stem@googlemail.com"]
    browsers = []
    for email in emails:
        make_user(email, wijk=wijk)
        client = make_client()
        client.login(email)
        browsers.append(client)
    for _attempt in repeat():
        rnd = make_round(wijk, Phase.VOTING, budget=500_000, max_cost=400_000)
        proposal = make_proposal(rnd, board, State.ADMITTED, cost=100_000)
        round_id, url = rnd.id, f"/wijk/{wijk.slug}/rondes/{rnd.id}/stemmen"
        actions = [ready_to_cast(browser, url, proposal.id) for browser in browsers]
        fresh()
        responses = race(len(actions), lambda i, actions=actions: actions[i])
        assert_no_server_errors(responses)
        assert sorted(statuses(responses)) == [303, 409, 409], statuses(responses)
        fresh()
        assert (
            db.session.scalar(
                select(func.count(VoterFingerprint.fingerprint)).where(
                    VoterFingerprint.round_id == round_id
                )
            )
            == 1
        )
