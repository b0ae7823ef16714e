"""Ballot secrecy against whoever reads the database or a dump of it (issue 19).

Voters cast on the web, with an account and with a printed code, each a ballot nobody else
chose (so a ballot names its voter as soon as it can be linked). Then the test tries what a
database administrator would: during the vote, a dump holds only sealed boxes; after the close,
the counted ballots are tried against the order of voting by PostgreSQL's ``xmin``, by ``ctid``
(the physical order), by their ids, and by the row order of ``pg_dump``. No method may link
better than chance: a random order matches about one voter's place (its expected number of fixed
points is 1) and has a rank correlation near 0.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from statistics import correlation

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from tests.conftest import is_postgres
from wijkbudget import sealing
from wijkbudget.extensions import db
from wijkbudget.proposals.models import State
from wijkbudget.results import operations as results
from wijkbudget.rounds.models import Eligibility, Phase, Round
from wijkbudget.voting import operations
from wijkbudget.voting.models import Participation, SealedBallot

VOTERS = 40
PROPOSALS = 7  # 127 different non-empty ballots: every voter's is their own


@pytest.fixture
def postgres(app):
    if not is_postgres():
        pytest.skip("xmin, ctid and pg_dump are PostgreSQL's (.ci/run runs this on PostgreSQL)")


def _round(make_wijk, make_user, make_round, make_proposal, eligibility):
    wijk = make_wijk("West" if eligibility == Eligibility.ACCOUNTS else "Oost")
    board = make_user(f"bestuur-{wijk.slug}@example.org", wijk=wijk, name="Bestuur")
    from wijkbudget.accounts.models import Role, RoleAssignment

    db.session.add(RoleAssignment(user=board, role=Role.BOARD, neighbourhood=wijk))
    rnd = make_round(wijk, Phase.VOTING, budget=10_000_000, max_cost=1_000_000)
    rnd.eligibility = eligibility
    proposals = [
        make_proposal(rnd, board, State.ADMITTED, title=f"Plan {i}", cost=100_000, commit=False)
        for i in range(PROPOSALS)
    ]
    db.session.commit()
    return wijk, board, rnd, [p.id for p in proposals]


def _choice(index: int, proposal_ids: list[int]) -> list[int]:
    """The voter's own ballot: the proposals of the bits of index + 1."""
    return [pid for bit, pid in enumerate(proposal_ids) if (index + 1) >> bit & 1]


def _vote(client, wijk, rnd, chosen: list[int]) -> str:
    url = f"/wijk/{wijk.slug}/rondes/{rnd.id}/stemmen"
    response = client.post(url, {"p": [str(p) for p in chosen], "action": "review"}, page=url)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    response = client.post(f"{url}/versturen", {}, page=f"{url}/controleren")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return re.search(r'class="receipt"><strong>([A-Z0-9-]+)</strong>', page).group(1)


def _cast_on_the_web(eligibility, make_wijk, make_user, make_round, make_proposal, make_client):
    """Every voter votes on the web, one after the other; returns the round and, in the order
    of voting, each voter's participation id and ballot."""
    wijk, board, rnd, proposal_ids = _round(
        make_wijk, make_user, make_round, make_proposal, eligibility
    )
    codes = []
    if eligibility == Eligibility.CODES:
        batch = operations.generate_codes(board, rnd, VOTERS, label="Brieven")
        db.session.commit()
        codes = operations.batch_codes(batch)
    order = []
    for i in range(VOTERS):
        client = make_client()
        if codes:
            assert client.post("/stem", {"code": codes[i]}, page="/stem").status_code == 303
        else:
            user = make_user(f"kiezer{i}@{wijk.slug}.example.org", wijk=wijk, name=f"Kiezer {i}")
            client.login(user.email)
        chosen = _choice(i, proposal_ids)
        receipt = _vote(client, wijk, rnd, chosen)
        participation = db.session.scalar(
            select(Participation.id)
            .where(Participation.round_id == rnd.id)
            .order_by(Participation.id.desc())
            .limit(1)
        )
        order.append((participation, frozenset(chosen), receipt))
    return board, rnd, order


def _pg_dump(*tables: str) -> str:
    url = make_url(db.engine.url.render_as_string(hide_password=False))
    command = ["pg_dump", "--data-only", "--host", url.host or "localhost"]
    command += ["--port", str(url.port or 5432), "--username", url.username or "postgres"]
    for table in tables:
        command += ["--table", table]
    command.append(url.database or "")
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def _copy_rows(dump: str, table: str) -> list[list[str]]:
    """The rows of one table in a dump, in the dump's order."""
    block = re.search(
        rf"COPY public\.{table} \(([^)]*)\) FROM stdin;\n(.*?)^\\\.$", dump, re.S | re.M
    )
    assert block is not None, table
    return [line.split("\t") for line in block.group(2).splitlines() if line]


def _no_better_than_chance(voting_order: list[frozenset], found_order: list[frozenset], how: str):
    """The ballots in some order an attacker can see, against the order of voting."""
    assert sorted(map(sorted, found_order)) == sorted(map(sorted, voting_order))
    place = {ballot: i for i, ballot in enumerate(voting_order)}
    ranks = [place[ballot] for ballot in found_order]
    fixed = sum(1 for i, rank in enumerate(ranks) if rank == i)
    # chance: one fixed point expected; seven or more happens once in ~10,000 random orders
    assert fixed <= 6, f"{how}: {fixed} of {len(ranks)} ballots at their voter's place"
    # chance: a correlation of about ±0.16 for 40 ballots; 0.6 is almost four times that
    rho = correlation(list(range(len(ranks))), ranks)
    assert abs(rho) < 0.6, f"{how}: the order follows the order of voting (rho {rho:.2f})"


@pytest.mark.parametrize("eligibility", [Eligibility.ACCOUNTS, Eligibility.CODES])
def test_nobody_with_the_database_links_a_ballot_to_its_voter(
    postgres, eligibility, make_wijk, make_user, make_round, make_proposal, make_client
):
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    board, rnd, order = _cast_on_the_web(
        eligibility, make_wijk, make_user, make_round, make_proposal, make_client
    )
    voting_order = [ballot for _p, ballot, _r in order]
    round_id = rnd.id

    # --- during the vote: what a dump holds -----------------------------------------------------
    dump = _pg_dump("sealed_ballot", "receipt", "budget_round", "ballot", "ballot_choice")
    assert _copy_rows(dump, "ballot") == [] and _copy_rows(dump, "ballot_choice") == []
    sealed = _copy_rows(dump, "sealed_ballot")
    assert len(sealed) == VOTERS
    # the sealed boxes are of one length whatever was chosen (one to six proposals)
    assert len({len(row[-1]) for row in sealed}) == 1
    # the round's private key is in the dump only sealed with the app's secret key, which is
    # not in the database
    rnd = db.session.get(Round, round_id)
    private = sealing._master().decrypt(rnd.ballot_private_key)
    assert private.hex() not in dump
    # a box does not open without it: not with the round's public key, not as a receipt
    for row in sealed[:3]:
        box = bytes.fromhex(row[-1].removeprefix("\\\\x"))
        assert sealing.open_with_receipt(rnd.ballot_public_key, box) is None
    # the receipts: hashes and boxes only their holders open
    receipts = _copy_rows(dump, "receipt")
    assert len(receipts) == VOTERS
    for _participation, _ballot, receipt in order:
        plain = receipt.replace("-", "")
        assert plain not in dump
    # and each holder does see their own ballot
    from wijkbudget.voting import queries

    for _participation, ballot, receipt in order[:5]:
        assert set(queries.check_receipt(receipt).choices) == set(ballot)

    # --- the close ------------------------------------------------------------------------------
    rnd.result_opens = None
    db.session.commit()
    results.close_voting(board, rnd, confirmed=True)
    assert db.session.scalar(select(db.func.count(SealedBallot.id))) == 0
    assert db.session.get(Round, round_id).ballot_private_key is None

    # --- after the close: every way an administrator can order the counted ballots -------------
    ballots = {}
    for ballot_id, proposal_id in db.session.execute(
        text("SELECT ballot_id, proposal_id FROM ballot_choice")
    ):
        ballots.setdefault(ballot_id, set()).add(proposal_id)
    content = {ballot_id: frozenset(chosen) for ballot_id, chosen in ballots.items()}

    rows = db.session.execute(
        text("SELECT id, xmin::text::bigint, ctid::text FROM ballot WHERE round_id = :r"),
        {"r": round_id},
    ).all()
    assert len(rows) == VOTERS
    # xmin: every counted ballot was written by the close's one transaction, none by a cast
    xmins = {xmin for _id, xmin, _ctid in rows}
    assert len(xmins) == 1
    cast_xmins = set(
        db.session.scalars(
            text("SELECT xmin::text::bigint FROM participation WHERE round_id = :r"),
            {"r": round_id},
        )
    )
    assert not xmins & cast_xmins

    # ctid: the physical order
    def page_and_item(ctid: str) -> tuple[int, int]:
        page, item = ctid.strip("()").split(",")
        return int(page), int(item)

    physical = [content[i] for i, _x, ctid in sorted(rows, key=lambda r: page_and_item(r[2]))]
    _no_better_than_chance(voting_order, physical, "ctid")
    # the ids (random UUIDs), in their sort order
    by_id = [content[i] for i, _x, _c in sorted(rows)]
    _no_better_than_chance(voting_order, by_id, "ids")
    # the choices' own physical order (the first row of each ballot)
    first_seen: list[str] = []
    for (ballot_id,) in db.session.execute(
        text("SELECT ballot_id FROM ballot_choice ORDER BY ctid")
    ):
        if ballot_id not in first_seen:
            first_seen.append(ballot_id)
    _no_better_than_chance(voting_order, [content[i] for i in first_seen], "ballot_choice ctid")
    # a dump's row order
    dumped = [row[0] for row in _copy_rows(_pg_dump("ballot"), "ballot")]
    _no_better_than_chance(voting_order, [content[i] for i in dumped], "pg_dump")
    # no timestamp anywhere near a counted ballot
    columns = set(
        db.session.scalars(
            text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name IN ('ballot', 'ballot_choice')"
            )
        )
    )
    assert columns == {"id", "round_id", "ballot_id", "proposal_id", "points"}
