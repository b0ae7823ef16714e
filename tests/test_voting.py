"""Voting: the rules of each ballot type, one ballot per person across channels (also under
concurrency), the secret ballot with its receipt, printed codes and paper batches."""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Date, DateTime, func, inspect, select

from tests.concurrency import database_outage
from tests.conftest import PASSWORD
from wijkbudget import sealing
from wijkbudget.accounts.models import Role
from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import BallotType, Eligibility, Phase, Round
from wijkbudget.voting import operations, queries
from wijkbudget.voting.codes import normalise_code, receipt_hash
from wijkbudget.voting.models import (
    AlreadyVoted,
    Ballot,
    BallotChoice,
    Channel,
    CodeBatch,
    PaperBatch,
    Participation,
    Receipt,
    SealedBallot,
    VotingCode,
    VotingError,
)


@pytest.fixture
def voter(west, make_user):
    return make_user("kiezer@example.org", wijk=west, name="Kees")


@pytest.fixture
def ballot_round(west, board, make_round, make_proposal):
    """A round in voting with three admitted proposals (€ 3.000, € 2.500, € 1.000) and one
    rejected one, budget € 5.000."""
    rnd = make_round(west, Phase.VOTING, budget=500_000, max_cost=400_000)
    rnd.ballot_max_choices = 2
    proposals = [
        make_proposal(rnd, board, State.ADMITTED, title="Speeltuin", cost=300_000, commit=False),
        make_proposal(rnd, board, State.ADMITTED, title="Bankjes", cost=250_000, commit=False),
        make_proposal(rnd, board, State.ADMITTED, title="Bloembakken", cost=100_000, commit=False),
        make_proposal(rnd, board, State.REJECTED, title="Afgewezen", cost=50_000, commit=False),
    ]
    db.session.commit()
    return rnd, proposals


def ids(proposals, *indexes):
    return {proposals[i].id: 1 for i in indexes}


# --- the rules of each ballot type -------------------------------------------------------------


@pytest.mark.parametrize(
    ("ballot_type", "settings", "choice", "message"),
    [
        ("approval", {}, lambda p: ids(p, 0, 2), None),
        ("approval", {}, lambda p: ids(p, 0, 1, 2), "hoogstens 2"),
        ("approval", {"ballot_min_choices": 2}, lambda p: ids(p, 0), "minstens 2"),
        ("approval", {}, lambda p: {}, "minstens één voorstel"),
        ("approval", {}, lambda p: ids(p, 3), "staat niet op het stembiljet"),
        ("approval", {}, lambda p: {999999: 1}, "staat niet op het stembiljet"),
        ("approval", {}, lambda p: {p[0].id: 2}, "zonder punten"),
        ("knapsack", {}, lambda p: ids(p, 0, 2), None),
        ("knapsack", {}, lambda p: ids(p, 0, 1), "500,00 te veel"),
        ("knapsack", {"ballot_min_percent": 50}, lambda p: ids(p, 2), "minstens 50%"),
        ("cumulative", {"ballot_points": 5}, lambda p: {p[0].id: 3, p[1].id: 2}, None),
        (
            "cumulative",
            {"ballot_points": 5},
            lambda p: {p[0].id: 3, p[1].id: 1},
            "precies 5 punten",
        ),
        (
            "cumulative",
            {"ballot_points": 5, "ballot_max_points_each": 3},
            lambda p: {p[0].id: 5},
            "hoogstens 3 punten",
        ),
    ],
)
def test_ballot_rules(app, ballot_round, ballot_type, settings, choice, message):
    rnd, proposals = ballot_round
    rnd.ballot_type = BallotType(ballot_type)
    if ballot_type != "approval":
        rnd.ballot_max_choices = None
    for key, value in settings.items():
        setattr(rnd, key, value)
    found = operations.problems(rnd, choice(proposals), queries.ballot_proposals(rnd))
    if message is None:
        assert found == []
    else:
        assert any(message in f for f in found), found


@pytest.mark.parametrize("phase", [Phase.SUPPORT, Phase.RESULT])
def test_outside_voting_nothing_is_cast(ballot_round, voter, phase):
    rnd, proposals = ballot_round
    rnd.phase = phase
    with pytest.raises(VotingError, match="niet open"):
        operations.cast(rnd, ids(proposals, 0), user=voter, channel=Channel.ONLINE)
    assert db.session.scalar(select(func.count(SealedBallot.id))) == 0


# --- journeys through the web forms (no JavaScript) ---------------------------------------------


def test_resident_votes_with_account(west, ballot_round, voter, make_client, client):
    rnd, proposals = ballot_round
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    anonymous = client.get(url)
    assert anonymous.status_code == 303 and "/inloggen" in anonymous.headers["Location"]

    me = make_client()
    me.login(voter.email)
    page = me.get(url).get_data(as_text=True)
    assert "Speeltuin" in page and "Afgewezen" not in page
    # "bereken" without JavaScript: the same page with the count
    response = me.post(
        url,
        {
            "p": [str(proposals[0].id), str(proposals[1].id), str(proposals[2].id)],
            "action": "calculate",
        },
        page=url,
    )
    assert response.status_code == 200 and "3 voorstellen gekozen" in response.get_data(
        as_text=True
    )
    # the banner reminds the voter on every page until it is cast
    assert "Je stem is nog niet verstuurd" in me.get("/").get_data(as_text=True)
    response = me.post(
        url,
        {
            "p": [str(proposals[0].id), str(proposals[1].id), str(proposals[2].id)],
            "action": "review",
        },
        page=url,
    )
    assert response.status_code == 422 and "hoogstens 2" in response.get_data(as_text=True)
    assert f'value="{proposals[2].id}" checked' in response.get_data(as_text=True)  # kept
    response = me.post(
        url, {"p": [str(proposals[0].id), str(proposals[2].id)], "action": "review"}, page=url
    )
    assert response.status_code == 303
    review = me.get(response.headers["Location"]).get_data(as_text=True)
    assert "definitief" in review and "Speeltuin" in review and "Bankjes" not in review
    # not on the pages of that vote itself, which show the draft already
    assert "Je stem is nog niet verstuurd" not in review
    assert "Je stem is nog niet verstuurd" in me.get("/").get_data(as_text=True)
    response = me.post(f"{url}/versturen", {}, page=f"{url}/controleren")
    assert response.status_code == 303
    receipt_page = me.get(response.headers["Location"]).get_data(as_text=True)
    receipt = re.search(r'class="receipt"><strong>([A-Z0-9-]+)</strong>', receipt_page).group(1)
    assert "wordt maar één keer getoond" in receipt_page
    assert (
        re.search(r'class="receipt"', me.get(response.headers["Location"]).get_data(as_text=True))
        is None
    )
    assert "Je stem is nog niet verstuurd" not in me.get("/").get_data(as_text=True)

    # the receipt shows what is on the ballot, to whoever holds it
    checked = client.post("/controleer", {"receipt": receipt.lower()}, page="/controleer")
    body = checked.get_data(as_text=True)
    assert checked.status_code == 200 and "Deze stem telt mee" in body
    assert "Speeltuin" in body and "Bloembakken" in body and "Bankjes" not in body
    assert (
        client.post("/controleer", {"receipt": "AAAAA-BBBBB"}, page="/controleer").status_code
        == 404
    )

    # once is once
    again = me.post(f"{url}/versturen", {}, page=url)
    assert again.status_code == 409 and "al gestemd" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(SealedBallot.id))) == 1


def test_who_may_vote_with_an_account(west, ballot_round, make_user, oost, make_client):
    rnd, proposals = ballot_round
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    for user in (
        make_user("oost@example.org", wijk=oost),
        make_user("nieuw@example.org", wijk=west, verified=False),
        make_user("raad@example.org", roles=((Role.COUNCILLOR, None),)),
        make_user("beheer@example.org", roles=((Role.ADMIN, None),)),
    ):
        client = make_client()
        client.login(user.email)
        assert client.get(url).status_code == 403
        with pytest.raises(VotingError):
            operations.cast(rnd, ids(proposals, 0), user=user, channel=Channel.ONLINE)
    assert db.session.scalar(select(func.count(Participation.id))) == 0


@pytest.mark.parametrize(
    ("round_of", "workers_eligible", "message"),
    [
        ("West", True, None),
        (
            "West",
            False,
            "Alleen bevestigde bewoners van wijk West kunnen stemmen.",
        ),
        (
            "Oost",
            True,
            "Alleen bewoners van wijk Oost, en in deze ronde ook mensen die er werken, kunnen "
            "met een bevestigd account stemmen.",
        ),
    ],
)
def test_someone_who_works_in_the_wijk_votes_where_the_round_lets_them(
    west,
    oost,
    board,
    make_wijk,
    make_user,
    make_round,
    make_proposal,
    make_client,
    round_of,
    workers_eligible,
    message,
):
    wijk = {"West": west, "Oost": oost}[round_of]
    # lives in a third wijk, works in West
    noord = make_wijk("Noord", postcodes=((3551, 3555),), areas=("Zuilen",))
    worker = make_user("werk@example.org", wijk=noord, work_wijk=west)
    rnd = make_round(wijk, Phase.VOTING, workers_eligible=workers_eligible)
    assert rnd.eligibility.allows_accounts
    proposal = make_proposal(rnd, board, State.ADMITTED, cost=100_000)
    url = f"/wijk/{wijk.slug}/rondes/{rnd.id}/stemmen"
    me = make_client()
    me.login(worker.email)
    response = me.get(url)
    assert operations.account_refusal(rnd, worker) == message
    if message is None:
        assert response.status_code == 200
        assert (
            me.post(url, {"p": [str(proposal.id)], "action": "review"}, page=url).status_code == 303
        )
        response = me.post(f"{url}/versturen", {}, page=f"{url}/controleren")
        assert response.status_code == 303
        assert db.session.scalar(select(func.count(SealedBallot.id))) == 1
        participation = db.session.scalar(select(Participation))
        assert (participation.user_id, participation.channel) == (worker.id, Channel.ONLINE)
    else:
        assert response.status_code == 403 and message in response.get_data(as_text=True)
        with pytest.raises(VotingError, match=message):
            operations.cast(rnd, {proposal.id: 1}, user=worker, channel=Channel.ONLINE)
        assert db.session.scalar(select(func.count(Participation.id))) == 0


def test_a_worker_s_vote_counts_under_no_buurt_of_another_wijk(
    west, board, make_wijk, make_user, make_round, make_proposal
):
    noord = make_wijk("Noord", postcodes=((3551, 3555),), areas=("Zuilen",))
    worker = make_user("werk@example.org", wijk=noord, work_wijk=west)
    rnd = make_round(west, Phase.VOTING, workers_eligible=True)
    proposal = make_proposal(rnd, board, State.ADMITTED, cost=100_000)
    operations.cast(rnd, {proposal.id: 1}, user=worker, channel=Channel.ONLINE)
    db.session.commit()
    assert [name for name, _n in queries.turnout(rnd).by_area] == ["onbekende buurt"]


def test_vote_with_a_printed_code_and_no_account(west, ballot_round, board, client, make_client):
    rnd, proposals = ballot_round
    rnd.eligibility = Eligibility.CODES
    batch = operations.generate_codes(board, rnd, 3, area=west.areas[0], label="Lombok")
    db.session.commit()
    codes = operations.batch_codes(batch)
    assert all(
        re.fullmatch(r"[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}", c) for c in codes
    )
    assert db.session.scalar(select(VotingCode.code_hash)) not in {
        c.replace("-", "") for c in codes
    }

    url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    assert client.get(url).headers["Location"].endswith(f"/stem?ronde={rnd.id}")
    wrong = client.post("/stem", {"code": "AAAA-BBBB-CCCC"}, page="/stem")
    assert wrong.status_code == 422
    response = client.post("/stem", {"code": codes[0].lower().replace("-", " ")}, page="/stem")
    assert response.status_code == 303 and response.headers["Location"].endswith(url)
    assert (
        client.post(url, {"p": [str(proposals[1].id)], "action": "review"}, page=url).status_code
        == 303
    )
    response = client.post(f"{url}/versturen", {}, page=url)
    assert response.status_code == 303
    # used, revoked and wrong codes get the same answer
    used = client.post("/stem", {"code": codes[0]}, page="/stem")
    operations.revoke_code(board, rnd, codes[1])
    db.session.commit()
    revoked = client.post("/stem", {"code": codes[1]}, page="/stem")
    # the same page for each (the CSRF token carries a timestamp, so leave it out)
    texts = {
        re.sub(
            r'name="csrf_token" value="[^"]*"|<input id="code"[^>]*>|next=[^"]*',
            "",
            r.get_data(as_text=True).split('id="inhoud"')[1],
        )
        for r in (wrong, used, revoked)
    }
    assert used.status_code == revoked.status_code == 422 and len(texts) == 1
    participation = db.session.scalar(select(Participation))
    assert participation.channel == Channel.CODE and participation.area_id == west.areas[0].id
    # in codes mode, an account alone is not enough
    with pytest.raises(VotingError, match="code uit je brief"):
        operations.cast(rnd, ids(proposals, 0), user=board, channel=Channel.ONLINE)


def test_code_limits_per_address(app, west, ballot_round, client):
    app.config["RATELIMIT_CODES"] = "3 per hour"
    for _ in range(3):
        assert client.post("/stem", {"code": "AAAA-BBBB-CCCC"}, page="/stem").status_code == 422
    response = client.post("/stem", {"code": "AAAA-BBBB-CCCC"}, page="/stem")
    assert response.status_code == 429


def test_letters_and_csv_shown_until_printed(west, ballot_round, board, make_client):
    rnd, _p = ballot_round
    henk = make_client()
    henk.login(board.email)
    base = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/stemcodes"
    assert (
        henk.post(
            base, {"action": "generate", "count": "4", "label": "Brieven"}, page=base
        ).status_code
        == 303
    )
    batch_id = db.session.scalar(select(VotingCode.batch_id))
    # showing the codes is logged, so a form sends for them: a page that is only read (GET)
    # writes nothing
    assert henk.get(f"{base}/{batch_id}/brieven").status_code == 405
    assert henk.get(f"{base}/{batch_id}.csv").status_code == 405
    page = henk.get(base).get_data(as_text=True)
    assert (
        f'action="{base}/{batch_id}/brieven"' in page and f'action="{base}/{batch_id}.csv"' in page
    )
    letters = henk.post(f"{base}/{batch_id}/brieven", page=base).get_data(as_text=True)
    assert letters.count('class="letter"') == 4 and "/stem" in letters
    csv_text = henk.post(f"{base}/{batch_id}.csv", page=base).get_data(as_text=True)
    assert len(csv_text.strip().splitlines()) == 5
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["codes.generate", "codes.shown", "codes.shown"]
    printed = {"action": "printed", "batch": str(batch_id)}
    assert henk.post(base, printed, page=base).status_code == 303
    assert henk.post(f"{base}/{batch_id}/brieven", page=base).status_code == 410
    assert henk.post(f"{base}/{batch_id}.csv", page=base).status_code == 410
    # printed twice (a double click): nothing more happens
    assert henk.post(base, printed, page=base).status_code == 303
    assert db.session.scalars(select(AuditEvent.action)).all().count("codes.printed") == 1


# --- one ballot per person ------------------------------------------------------------------------


def test_online_voter_cannot_also_vote_on_paper(
    west, ballot_round, voter, board, board2, make_client
):
    rnd, proposals = ballot_round
    operations.cast(rnd, ids(proposals, 0), user=voter, channel=Channel.ONLINE)
    db.session.commit()
    henk = make_client()
    henk.login(board.email)
    base = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/papier"
    assert henk.post(base, {"label": "Buurthuis", "declared": "2"}, page=base).status_code == 303
    batch_url = henk.post(base, {"label": "Markt", "declared": "1"}, page=base).headers["Location"]
    response = henk.post(
        batch_url, {"identifier": voter.email, "p": str(proposals[1].id)}, page=batch_url
    )
    assert response.status_code == 409 and "al gestemd" in response.get_data(as_text=True)
    assert "1 conflict" in henk.get(batch_url).get_data(as_text=True)
    assert db.session.scalar(select(func.count(SealedBallot.id))) == 1


def test_paper_batch_counts_only_when_complete_and_confirmed_by_another(
    west, ballot_round, board, board2, make_user, make_client, client
):
    rnd, proposals = ballot_round
    rnd.eligibility = Eligibility.CODES
    codes = operations.batch_codes(operations.generate_codes(board, rnd, 3))
    db.session.commit()
    henk, ria = make_client(), make_client()
    henk.login(board.email)
    ria.login(board2.email)
    base = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/papier"
    batch_url = henk.post(base, {"label": "Buurthuis", "declared": "3"}, page=base).headers[
        "Location"
    ]
    for code, choice in ((codes[0], 0), (codes[1], 2)):
        assert (
            henk.post(
                batch_url, {"identifier": code, "p": str(proposals[choice].id)}, page=batch_url
            ).status_code
            == 303
        )
    bad = henk.post(
        batch_url, {"identifier": codes[2], "p": [str(p.id) for p in proposals[:3]]}, page=batch_url
    )
    assert bad.status_code == 422 and "hoogstens 2" in bad.get_data(as_text=True)
    # two of three entered: not yet
    response = ria.post(batch_url, {"action": "confirm"}, page=batch_url)
    assert response.status_code == 422 and "2 stembiljetten ingevoerd" in response.get_data(
        as_text=True
    )
    assert (
        henk.post(
            batch_url, {"identifier": codes[2], "p": str(proposals[1].id)}, page=batch_url
        ).status_code
        == 303
    )
    assert queries.turnout(db.session.get(Round, rnd.id)).total == 0  # nothing counts yet
    # the one who entered them cannot confirm
    response = henk.post(batch_url, {"action": "confirm"}, page=batch_url)
    assert response.status_code == 422 and "ander bestuurslid" in response.get_data(as_text=True)
    assert (
        db.session.scalar(select(func.count(SealedBallot.id)).where(SealedBallot.counted.is_(True)))
        == 0
    )
    assert ria.post(batch_url, {"action": "confirm"}, page=batch_url).status_code == 303
    db.session.expire_all()
    assert (
        db.session.scalar(select(func.count(SealedBallot.id)).where(SealedBallot.counted.is_(True)))
        == 3
    )
    turnout = queries.turnout(db.session.get(Round, rnd.id))
    assert turnout.total == 3 and turnout.by_channel == {"paper": 3}
    # the codes are spent: they cannot vote online too
    assert client.post("/stem", {"code": codes[0]}, page="/stem").status_code == 422
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"paper.open", "paper.confirm"} <= actions


def test_concurrent_casts_make_exactly_one_ballot(app, ballot_round, voter):
    rnd, proposals = ballot_round
    round_id, voter_id, choice = rnd.id, voter.id, ids(proposals, 0)
    threads_count = 50
    for _attempt in range(2):
        barrier = threading.Barrier(threads_count)
        outcomes: list[str] = []
        lock = threading.Lock()

        def vote(barrier=barrier, outcomes=outcomes, lock=lock) -> None:
            # wait first, then touch the database: the pool has fewer connections than threads,
            # and a thread holding one while it waits at the barrier would starve the others
            barrier.wait(timeout=60)
            with app.app_context():
                from wijkbudget.accounts.models import User

                try:
                    the_round = db.session.get(Round, round_id)
                    user = db.session.get(User, voter_id)
                    operations.cast(the_round, choice, user=user, channel=Channel.ONLINE)
                    db.session.commit()
                    result = "ok"
                except AlreadyVoted:
                    db.session.rollback()
                    result = "already"
                except Exception as error:  # noqa: BLE001 (any other outcome fails the test below)
                    db.session.rollback()
                    result = f"error: {error!r}"
                finally:
                    db.session.remove()
                with lock:
                    outcomes.append(result)

        threads = [threading.Thread(target=vote) for _ in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(outcomes) == threads_count
        assert all(o in ("ok", "already") for o in outcomes), [
            o for o in outcomes if o.startswith("error")
        ][:3]
        assert db.session.scalar(select(func.count(SealedBallot.id))) == 1
        assert db.session.scalar(select(func.count(Participation.id))) == 1
        assert db.session.scalar(select(func.count(Receipt.receipt_hash))) == 1


# --- secrecy --------------------------------------------------------------------------------------


def test_ballot_table_cannot_be_linked_to_a_voter(app):
    inspector = inspect(db.engine)
    columns = {c["name"]: c for c in inspector.get_columns("ballot")}
    assert set(columns) == {"id", "round_id"}
    sealed = {c["name"]: c for c in inspector.get_columns("sealed_ballot")}
    assert set(sealed) == {"id", "round_id", "counted", "paper_batch_id", "box"}
    receipts = {c["name"]: c for c in inspector.get_columns("receipt")}
    assert set(receipts) == {"receipt_hash", "round_id", "box"}
    for found in (columns, sealed, receipts):
        assert not any(isinstance(c["type"], DateTime | Date) for c in found.values())
    for table in ("ballot", "ballot_choice", "sealed_ballot", "receipt"):
        targets = {fk["referred_table"] for fk in inspector.get_foreign_keys(table)}
        assert not targets & {"user_account", "voting_code", "participation", "code_batch"}, table
    # the key is random, not a counter that follows the order of participations
    participation_columns = {c["name"] for c in inspector.get_columns("participation")}
    assert not participation_columns & {"ballot_id", "receipt_hash"}


def test_during_the_vote_ballots_are_sealed_and_receipts_stored_hashed(
    ballot_round, make_user, west, board
):
    """What a reader of the database sees during the vote: sealed boxes of one size that do not
    open without the round's private key, receipts only as hashes; at the close the ballots are
    opened into the ballot table, the sealed rows go and the private key is wiped."""
    from wijkbudget import sealing
    from wijkbudget.results import operations as results

    rnd, proposals = ballot_round
    receipts, chosen = [], []
    for i in range(3):
        user = make_user(f"v{i}@example.org", wijk=west)
        selection = ids(proposals, *((0,), (1,), (0, 2))[i])
        chosen.append(selection)
        receipts.append(operations.cast(rnd, selection, user=user, channel=Channel.ONLINE))
    db.session.commit()
    assert db.session.scalar(select(func.count(Ballot.id))) == 0
    stored = list(db.session.scalars(select(SealedBallot)))
    assert all(re.fullmatch(r"[0-9a-f-]{36}", b.id) for b in stored)
    assert len({len(b.box) for b in stored}) == 1  # one or two choices: the same length
    for ballot in stored:
        assert str(proposals[0].id).encode() + b":1" not in ballot.box
    assert len({b.box for b in stored}) == 3
    hashes = set(db.session.scalars(select(Receipt.receipt_hash)))
    assert hashes == {receipt_hash(r) for r in receipts}
    assert not set(receipts) & hashes
    # the public key seals, the stored private key opens only with the app's secret key
    rnd = db.session.get(Round, rnd.id)
    assert rnd.ballot_private_key and bytes.fromhex(rnd.ballot_public_key)
    open_one = sealing.opener(rnd.ballot_private_key)
    assert sorted(sorted(open_one(b.box).items()) for b in stored) == sorted(
        sorted(c.items()) for c in chosen
    )
    # each receipt opens its own copy, and only that
    for receipt, selection in zip(receipts, chosen, strict=True):
        assert queries.check_receipt(receipt).choices == selection
    assert queries.check_receipt("A" * 16) is None

    rnd.result_opens = None
    db.session.commit()
    results.close_voting(board, rnd, confirmed=True)
    rnd = db.session.get(Round, rnd.id)
    assert rnd.ballot_private_key is None
    assert db.session.scalar(select(func.count(SealedBallot.id))) == 0
    counted = {}
    for ballot_id, proposal_id in db.session.execute(
        select(BallotChoice.ballot_id, BallotChoice.proposal_id)
    ):
        counted.setdefault(ballot_id, set()).add(proposal_id)
    assert sorted(map(sorted, counted.values())) == sorted(sorted(c) for c in chosen)
    # the receipts still show their ballots after the close
    assert queries.check_receipt(receipts[2]).choices == chosen[2]


def test_a_close_with_a_changed_secret_key_stops_and_loses_nothing(app, ballot_round, voter, board):
    from wijkbudget.results import operations as results
    from wijkbudget.results.models import Result

    rnd, proposals = ballot_round
    operations.cast(rnd, ids(proposals, 0), user=voter, channel=Channel.ONLINE)
    db.session.commit()
    rnd.result_opens = None
    db.session.commit()
    app.config["SECRET_KEY"] = "een andere sleutel"
    with pytest.raises(VotingError, match="SECRET_KEY"):
        results.close_voting(board, rnd, confirmed=True)
    rnd = db.session.get(Round, rnd.id)
    assert rnd.phase == Phase.VOTING and rnd.ballot_private_key
    assert db.session.scalar(select(func.count(SealedBallot.id))) == 1
    assert db.session.scalar(select(func.count(Result.id))) == 0


def test_turnout_but_no_counts_during_voting_and_fingerprints_after(
    west, ballot_round, voter, client, make_user
):
    rnd, proposals = ballot_round
    receipt = operations.cast(rnd, ids(proposals, 0), user=voter, channel=Channel.ONLINE)
    db.session.commit()
    body = client.get(f"/wijk/{west.slug}/rondes/{rnd.id}").get_data(as_text=True)
    assert "1 persoon heeft gestemd" in body and "blijft geheim tot de uitslag" in body
    assert client.get(f"/wijk/{west.slug}/rondes/{rnd.id}/bewijzen").status_code == 404
    rnd.phase = Phase.RESULT
    db.session.commit()
    page = client.get(f"/wijk/{west.slug}/rondes/{rnd.id}/bewijzen").get_data(as_text=True)
    assert receipt_hash(receipt) in page and "Speeltuin" not in page


def test_knapsack_bar_with_htmx(west, ballot_round, voter, make_client):
    rnd, proposals = ballot_round
    rnd.ballot_type = BallotType.KNAPSACK
    rnd.ballot_max_choices = None
    db.session.commit()
    me = make_client()
    me.login(voter.email, PASSWORD)
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    bar = me.post(
        f"{url}/bereken",
        {"p": [str(proposals[0].id), str(proposals[1].id)]},
        page=url,
        headers={"HX-Request": "true"},
    )
    body = bar.get_data(as_text=True)
    assert bar.status_code == 200 and "<html" not in body
    assert "5.500,00 van" in body and "500,00 te veel" in body


@pytest.mark.parametrize(
    ("page", "data", "message"),
    [
        ("stemcodes", {"action": "generate", "count": "veel"}, "heel getal"),
        ("stemcodes", {"action": "generate", "count": "0"}, "tussen 1 en"),
        ("stemcodes", {"action": "generate", "count": "3", "label": "a\x00b"}, "onleesbare"),
        ("stemcodes", {"action": "generate", "count": "3", "area": "999"}, "mogelijkheden"),
        ("papier", {"label": "Markt", "declared": ""}, "telstaat"),
        ("papier", {"label": "x" * 121, "declared": "4"}, "120 tekens"),
    ],
)
def test_board_forms_refuse_bad_input_in_dutch(
    west, ballot_round, board, make_client, page, data, message
):
    rnd, _proposals = ballot_round
    henk = make_client()
    henk.login(board.email)
    url = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/{page}"
    response = henk.post(url, data, page=url)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(VotingCode.id))) == 0
    assert db.session.scalar(select(func.count(PaperBatch.id))) == 0


@pytest.mark.parametrize("odd", ["²", "99999999999", "-3", "1e3"])
def test_an_id_that_is_no_id_is_no_choice_and_no_server_error(
    west, ballot_round, board, voter, make_client, odd
):
    """What a form sends as a proposal or batch id may be anything: "²" (which str.isdigit
    accepts and int() does not) or a number too big for the column (PostgreSQL refuses it).
    It is no choice and no batch, never a 500; the ballot works on with what is left."""
    rnd, proposals = ballot_round
    rnd.eligibility = Eligibility.ACCOUNTS
    db.session.commit()
    kees = make_client()
    kees.login(voter.email)
    ballot = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    response = kees.post(ballot, {"p": odd, "action": "review"}, page=ballot)
    assert response.status_code == 422 and "Kies minstens" in response.get_data(as_text=True)
    assert kees.post(f"{ballot}/bereken", {"p": odd}, page=ballot).status_code == 200
    mixed = {"p": [odd, str(proposals[2].id)], "action": "review"}
    assert kees.post(ballot, mixed, page=ballot).status_code == 303
    review = kees.get(f"{ballot}/controleren")
    assert review.status_code == 200 and "Bloembakken" in review.get_data(as_text=True)
    rnd.ballot_type = BallotType.CUMULATIVE
    rnd.ballot_points = 3
    db.session.commit()
    points = {f"pts-{odd}": "3", f"pts-{proposals[0].id}": "", "action": "review"}
    assert kees.post(ballot, points, page=ballot).status_code == 422
    points = {f"pts-{proposals[0].id}": odd, "action": "review"}
    assert kees.post(ballot, points, page=ballot).status_code == 422

    henk = make_client()
    henk.login(board.email)
    codes = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/stemcodes"
    assert henk.post(codes, {"action": "printed", "batch": odd}, page=codes).status_code == 404


def test_a_code_that_stops_working_sends_the_voter_back_to_the_code_page(
    west, ballot_round, board, make_client
):
    """The ballot checks the code entered earlier on every visit: used elsewhere (another
    browser) or revoked by the board, it no longer opens the ballot."""
    rnd, proposals = ballot_round
    rnd.eligibility = Eligibility.CODES
    codes = operations.batch_codes(operations.generate_codes(board, rnd, 2))
    db.session.commit()
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    here, elsewhere, revoked = make_client(), make_client(), make_client()
    for browser, code in ((here, codes[0]), (elsewhere, codes[0]), (revoked, codes[1])):
        assert browser.post("/stem", {"code": code}, page="/stem").status_code == 303
        assert browser.get(url).status_code == 200
    # the same code cast in another browser
    assert elsewhere.post(url, {"p": [str(proposals[1].id)], "action": "review"}, page=url)
    assert elsewhere.post(f"{url}/versturen", {}, page=url).status_code == 303
    operations.revoke_code(board, rnd, codes[1])
    db.session.commit()
    for browser in (here, revoked):
        response = browser.get(url)
        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"/stem?ronde={rnd.id}")
        refused = browser.post(f"{url}/versturen", {}, page="/stem")
        assert refused.status_code == 303 and "/stem?ronde=" in refused.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Participation)) == 1


def test_ballot_page_and_cast_take_the_same_statements_for_any_number_of_proposals(
    west, ballot_round, board, make_client, make_proposal, count_queries
):
    rnd, proposals = ballot_round
    rnd.eligibility = Eligibility.CODES
    codes = operations.batch_codes(operations.generate_codes(board, rnd, 2))
    db.session.commit()
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"

    def vote(code):
        voter = make_client()
        assert voter.post("/stem", {"code": code}, page="/stem").status_code == 303
        with count_queries() as page:
            assert voter.get(url).status_code == 200
        chosen = {"p": [str(proposals[1].id)], "action": "review"}
        assert voter.post(url, chosen, page=url).status_code == 303
        token = voter.csrf("/stem")
        with count_queries() as cast:
            response = voter.post(f"{url}/versturen", {"csrf_token": token})
            assert response.status_code == 303
        return len(page), len(cast)

    few = vote(codes[0])
    for n in range(30):
        make_proposal(rnd, board, State.ADMITTED, title=f"Voorstel {n}", cost=1_000, commit=False)
    db.session.commit()
    many = vote(codes[1])
    # the ballot: the round with the code's check, and its proposals (the page cache is off
    # in tests, so they are read on every visit); the cast: the round, the code, the lock, the
    # costs, four writes
    assert few == many
    assert many == (2, 8), many


# --- issue 17: one use case per change, double clicks, the phase by the dates -------------------


def review_and_cast(client, url, choice):
    """Choose, review and send a ballot the way a browser does; the response of the cast."""
    assert client.post(url, {"p": choice, "action": "review"}, page=url).status_code == 303
    token = client.csrf(f"{url}/controleren")
    return lambda: client.post(f"{url}/versturen", {"csrf_token": token})


@contextmanager
def same_cookie_twice(client):
    """The browser sends a form twice (a double click) with the cookie it had before either
    answer came: restore that cookie after the first."""
    before = client.raw.get_cookie("session", domain="wijkbudget.test").value
    yield lambda: client.raw.set_cookie("session", before, domain="wijkbudget.test")


def test_a_double_click_on_cast_shows_the_receipt_of_the_one_ballot(
    west, ballot_round, voter, board, make_client
):
    """The second click of a double click arrives when the first one's ballot is in: the page
    says so and shows that ballot's receipt (the first response never reached the screen)."""
    rnd, proposals = ballot_round
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    me = make_client()
    me.login(voter.email)
    send = review_and_cast(me, url, [str(proposals[0].id)])
    with same_cookie_twice(me) as restore:
        first = send()
        restore()
        second = send()
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    shown = me.get(second.headers["Location"]).get_data(as_text=True)
    receipt = re.search(r'class="receipt"><strong>([A-Z0-9-]+)<', shown).group(1)
    assert queries.check_receipt(receipt) is not None
    assert db.session.scalar(select(func.count(SealedBallot.id))) == 1
    # a third attempt, later, from the same browser: one vote per person (409)
    assert me.get(url).status_code == 409
    again = me.post(f"{url}/versturen", {}, page="/stem")
    assert again.status_code == 409 and "al gestemd" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Participation.id))) == 1

    # with a code: the same
    rnd.eligibility = Eligibility.CODES
    code = operations.batch_codes(operations.generate_codes(board, rnd, 1))[0]
    visitor = make_client()
    assert visitor.post("/stem", {"code": code}, page="/stem").status_code == 303
    send = review_and_cast(visitor, url, [str(proposals[2].id)])
    with same_cookie_twice(visitor) as restore:
        first = send()
        restore()
        second = send()
    assert first.headers["Location"] == second.headers["Location"]
    assert second.headers["Location"].endswith("/stemmen/bewijs")
    assert db.session.scalar(select(func.count(SealedBallot.id))) == 2


def test_a_cast_judges_by_the_dates_whether_or_not_the_tick_ran(
    west, board, voter, make_round, make_proposal, make_client
):
    """Voting opened by date an hour ago, and nothing wrote that move yet: the ballot opens and
    the cast counts (it writes the move). Voting ended by date: the cast is refused, although
    the round is stored in voting until the board closes it."""
    rnd = make_round(west, Phase.SUPPORT)
    proposal = make_proposal(rnd, board, State.ADMITTED, cost=100_000)
    rnd.voting_opens = datetime.now(UTC) - timedelta(hours=1)
    db.session.commit()
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    me = make_client()
    me.login(voter.email)
    assert me.get(url).status_code == 200
    assert db.session.get(Round, rnd.id).phase == Phase.SUPPORT  # the page wrote nothing
    assert review_and_cast(me, url, [str(proposal.id)])().status_code == 303
    db.session.expire_all()
    assert db.session.get(Round, rnd.id).phase == Phase.VOTING
    assert db.session.scalar(select(func.count(SealedBallot.id))) == 1

    rnd.result_opens = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    late = make_client()
    late.login(board.email)
    late_url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    assert late.post(late_url, {"p": [str(proposal.id)], "action": "review"}, page=late_url)
    response = late.post(f"{late_url}/versturen", {}, page="/stem")
    assert response.status_code == 422 and "voorbij" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(SealedBallot.id))) == 1
    assert db.session.get(Round, rnd.id).phase == Phase.VOTING  # until the board closes it


def test_a_round_not_yet_open_by_its_dates_takes_no_ballot(
    west, board, voter, make_round, make_proposal
):
    rnd = make_round(west, Phase.SUPPORT)
    proposal = make_proposal(rnd, board, State.ADMITTED, cost=100_000)
    rnd.voting_opens = datetime.now(UTC) + timedelta(hours=1)
    db.session.commit()
    with pytest.raises(VotingError, match="niet open"):
        operations.cast(rnd, {proposal.id: 1}, user=voter, channel=Channel.ONLINE)
    db.session.expire_all()
    assert db.session.get(Round, rnd.id).phase == Phase.SUPPORT
    assert db.session.scalar(select(func.count(Participation.id))) == 0


def test_the_same_form_sent_twice_makes_one_batch(west, ballot_round, board, make_client):
    """A double click on "Codes maken" or "Stapel beginnen": the form carries a token, and the
    second request finds what the first made (one batch of codes, one paper batch)."""
    rnd, _p = ballot_round
    henk = make_client()
    henk.login(board.email)
    codes_url = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/stemcodes"
    page = henk.get(codes_url).get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    data = {"action": "generate", "count": "5", "label": "Brieven", "form_token": token}
    for _ in range(2):
        response = henk.post(codes_url, data, page=codes_url)
        assert response.status_code == 303
    assert db.session.scalar(select(func.count(CodeBatch.id))) == 1
    assert db.session.scalar(select(func.count(VotingCode.id))) == 5
    assert henk.get(codes_url).get_data(as_text=True).count("5 codes gemaakt") == 1
    # a new visit of the page is a new form: a new batch
    page = henk.get(codes_url).get_data(as_text=True)
    other = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    assert other != token
    assert henk.post(codes_url, {**data, "form_token": other}, page=codes_url).status_code == 303
    assert db.session.scalar(select(func.count(CodeBatch.id))) == 2

    paper_url = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/papier"
    page = henk.get(paper_url).get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    data = {"label": "Buurthuis", "declared": "3", "form_token": token}
    first = henk.post(paper_url, data, page=paper_url)
    second = henk.post(paper_url, data, page=paper_url)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count(PaperBatch.id))) == 1
    assert db.session.scalars(select(AuditEvent.action)).all().count("paper.open") == 1


def test_revoking_twice_or_a_used_code(west, ballot_round, board, voter, make_client):
    rnd, proposals = ballot_round
    rnd.eligibility = Eligibility.CODES
    batch = operations.generate_codes(board, rnd, 3)
    codes = operations.batch_codes(batch)
    operations.cast(rnd, ids(proposals, 0), code=operations.find_code(rnd, codes[0]),
                    channel=Channel.CODE)  # fmt: skip
    henk = make_client()
    henk.login(board.email)
    url = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/stemcodes"
    for flashed in ("De code is ingetrokken.", "Deze code was al ingetrokken."):
        response = henk.post(url, {"action": "revoke_code", "code": codes[1]}, page=url)
        assert response.status_code == 303
        assert flashed in henk.get(url).get_data(as_text=True)
    assert db.session.scalars(select(AuditEvent.action)).all().count("codes.revoke") == 1
    # a code that voted keeps its vote: it cannot be revoked any more
    response = henk.post(url, {"action": "revoke_code", "code": codes[0]}, page=url)
    assert response.status_code == 409 and "al gestemd" in response.get_data(as_text=True)
    used = db.session.scalar(select(VotingCode).where(VotingCode.used.is_(True)))
    assert used.revoked_at is None

    # the whole batch, twice: its unused codes are revoked (the used one keeps its vote), once
    for _ in range(2):
        data = {"action": "revoke_batch", "batch": str(batch.id)}
        assert henk.post(url, data, page=url).status_code == 303
    db.session.expire_all()
    states = db.session.execute(
        select(VotingCode.used, VotingCode.revoked_at.is_not(None)).order_by(VotingCode.id)
    ).all()
    assert sorted(states) == [(False, True), (False, True), (True, False)]
    assert db.session.scalars(select(AuditEvent.action)).all().count("codes.revoke_batch") == 1
    assert db.session.get(CodeBatch, batch.id).seed is None
    # a batch that is no number is not found (it was a 500)
    assert henk.post(url, {"action": "revoke_batch", "batch": "abc"}, page=url).status_code == 404


def test_a_walk_in_code_twice_gives_two_codes_and_no_error(west, ballot_round, board, make_client):
    rnd, _p = ballot_round
    henk = make_client()
    henk.login(board.email)
    url = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/stemcodes"
    shown = set()
    for _ in range(2):
        response = henk.post(url, {"action": "walk_in"}, page=url)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        shown.add(re.search(r'class="receipt"><strong>([A-Z0-9-]+)<', body).group(1))
    assert len(shown) == 2
    assert (
        db.session.scalar(select(func.count(CodeBatch.id)).where(CodeBatch.seed.is_not(None))) == 0
    )


def test_a_paper_batch_ends_once(west, ballot_round, board, board2, make_client):
    """Confirm twice, discard twice, confirm a discarded one, enter a sheet into a closed one:
    each a 409 with what happened; the batch ends either confirmed with its ballots or
    discarded with none."""
    rnd, proposals = ballot_round
    rnd.eligibility = Eligibility.CODES
    codes = operations.batch_codes(operations.generate_codes(board, rnd, 4))
    henk, ria = make_client(), make_client()
    henk.login(board.email)
    ria.login(board2.email)
    base = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/papier"

    def batch_with(sheets):
        url = henk.post(base, {"label": "Markt", "declared": str(len(sheets))}, page=base)
        url = url.headers["Location"]
        for code in sheets:
            data = {"identifier": code, "p": str(proposals[0].id)}
            assert henk.post(url, data, page=url).status_code == 303
        return url

    forms = {
        "confirm": {"action": "confirm"},
        "discard": {"action": "discard", "sure": "y", "reason": "Telstaat kwijtgeraakt"},
    }
    confirmed = batch_with(codes[:2])
    assert ria.post(confirmed, forms["confirm"], page=confirmed).status_code == 303
    for action, message in (
        ("confirm", "al bevestigd"),
        ("discard", "al bevestigd"),
    ):
        response = ria.post(confirmed, forms[action], page=confirmed)
        assert response.status_code == 409 and message in response.get_data(as_text=True)
    sheet = {"identifier": codes[2], "p": str(proposals[0].id)}
    response = henk.post(confirmed, {**sheet, "action": "sheet"}, page=confirmed)
    assert response.status_code == 409 and "al bevestigd" in response.get_data(as_text=True)

    discarded = batch_with(codes[2:4])
    assert ria.post(discarded, forms["discard"], page=discarded).status_code == 303
    for action in ("discard", "confirm"):
        response = ria.post(discarded, forms[action], page=discarded)
        assert response.status_code == 409 and "al weggegooid" in response.get_data(as_text=True)
    response = henk.post(discarded, {**sheet, "action": "sheet"}, page=discarded)
    assert response.status_code == 409

    db.session.expire_all()
    for batch in db.session.scalars(select(PaperBatch)):
        ballots = db.session.scalars(
            select(SealedBallot).where(SealedBallot.paper_batch_id == batch.id)
        ).all()
        if batch.confirmed_at is not None:
            assert batch.discarded_at is None
            assert len(ballots) == batch.declared_count and all(b.counted for b in ballots)
        else:
            assert batch.discarded_at is not None and ballots == []
    # the discarded batch's codes can vote again; the confirmed batch's cannot
    assert operations.find_code(rnd, codes[2]) is not None
    assert operations.find_code(rnd, codes[0]) is None
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("paper.confirm") == 1 and actions.count("paper.discard") == 1


@pytest.mark.parametrize(
    ("change", "constraint"),
    [
        ({"confirmed_at": True, "discarded_at": True}, "closed_once"),
        ({"confirmed_at": True, "confirmed_by": "creator"}, "four_eyes"),
        ({"declared_count": 0}, "declared"),
    ],
)
def test_the_database_keeps_the_rules_of_a_paper_batch(ballot_round, board, change, constraint):
    from sqlalchemy.exc import IntegrityError

    from wijkbudget.extensions import utcnow

    rnd, _p = ballot_round
    batch = PaperBatch(
        round_id=rnd.id, label="Markt", declared_count=change.get("declared_count", 2),
        created_by_id=board.id,
    )  # fmt: skip
    if change.get("confirmed_at"):
        batch.confirmed_at = utcnow()
    if change.get("discarded_at"):
        batch.discarded_at = utcnow()
    if change.get("confirmed_by"):
        batch.confirmed_by_id = board.id
    db.session.add(batch)
    with pytest.raises(IntegrityError, match=constraint):
        db.session.commit()
    db.session.rollback()


def test_the_database_keeps_paper_ballots_with_their_batch(ballot_round):
    from sqlalchemy.exc import IntegrityError

    rnd, _p = ballot_round
    db.session.add(SealedBallot(round_id=rnd.id, counted=False, box=b"x"))  # online, not counted
    with pytest.raises(IntegrityError, match="online_counted"):
        db.session.commit()
    db.session.rollback()
    db.session.add(Participation(round_id=rnd.id, user_id=None, code_id=None,
                                 channel=Channel.PAPER))  # fmt: skip
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


# --- the limits on voting codes count guesses only ----------------------------------------------


def test_only_unknown_codes_count_against_the_limits(app, west, ballot_round, board, client):
    app.config["RATELIMIT_CODES"] = "3 per hour"
    app.config["RATELIMIT_CODES_GLOBAL"] = "1000 per hour"
    rnd, proposals = ballot_round
    rnd.eligibility = Eligibility.CODES
    codes = operations.batch_codes(operations.generate_codes(board, rnd, 3))
    operations.cast(rnd, ids(proposals, 0), code=operations.find_code(rnd, codes[0]),
                    channel=Channel.CODE)  # fmt: skip
    operations.revoke_code(board, rnd, codes[1])
    # a used code, a revoked one, an empty field, an expired form: refused, and not counted
    for _ in range(3):
        assert client.post("/stem", {"code": codes[0]}, page="/stem").status_code == 422
        assert client.post("/stem", {"code": codes[1]}, page="/stem").status_code == 422
        assert client.post("/stem", {"code": "  "}, page="/stem").status_code == 422
        assert client.post("/stem", {"code": codes[2], "csrf_token": "oud"}).status_code == 400
    assert client.post("/stem", {"code": codes[2]}, page="/stem").status_code == 303
    # three guesses, and then the door closes for this address
    for _ in range(3):
        assert client.post("/stem", {"code": "AAAA-BBBB-CCCC"}, page="/stem").status_code == 422
    assert client.post("/stem", {"code": codes[2]}, page="/stem").status_code == 429


def test_many_guesses_from_everywhere_are_logged_once_and_block_nobody(
    app, west, ballot_round, board, client
):
    """Issue 18: a few hundred wrong codes an hour from a handful of addresses used to block
    every valid code for everyone. Now they are logged (once), and a real code still votes."""
    app.config["RATELIMIT_CODES"] = "10 per 15 minutes"
    app.config["RATELIMIT_CODES_GLOBAL"] = "50 per hour"
    rnd, _proposals = ballot_round
    rnd.eligibility = Eligibility.CODES
    db.session.commit()
    [code] = operations.batch_codes(operations.generate_codes(board, rnd, 1))
    token = client.csrf("/stem")
    refused = 0
    for attacker in range(30):  # 30 addresses, 12 guesses each: 360 wrong codes
        address = {"REMOTE_ADDR": f"198.51.100.{attacker}"}
        for guess in range(12):
            response = client.raw.post(
                "/stem",
                data={"code": f"AAAA-BBBB-{attacker:02d}{guess:02d}", "csrf_token": token},
                environ_base=address,
            )
            assert response.status_code in (422, 429)
            refused += response.status_code == 429
    assert refused == 30 * 2  # each address slowed after its own ten
    # a voter at home, after all of it: the code from the letter opens the ballot
    voter = client.raw.post(
        "/stem",
        data={"code": code, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    )
    assert voter.status_code == 303
    assert db.session.scalars(select(AuditEvent.action)).all().count("codes.many_failures") == 1


def test_an_ipv6_guesser_is_counted_by_its_64(app, client):
    """One household or phone holds a whole /64: rotating through it does not reset the count."""
    app.config["RATELIMIT_CODES"] = "3 per 15 minutes"
    token = client.csrf("/stem")
    codes = []
    for host in range(4):
        response = client.raw.post(
            "/stem",
            data={"code": "AAAA-BBBB-CCCC", "csrf_token": token},
            environ_base={"REMOTE_ADDR": f"2001:db8:1:2::{host + 1:x}"},
        )
        codes.append(response.status_code)
    assert codes == [422, 422, 422, 429]
    other = client.raw.post(
        "/stem",
        data={"code": "AAAA-BBBB-CCCC", "csrf_token": token},
        environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"},
    )
    assert other.status_code == 422  # another /64: another household


def test_a_database_outage_during_code_entries_locks_no_code_out(
    app, west, ballot_round, board, make_client
):
    """Issue 17: twelve seconds without a database during code entries locked every valid code
    out for an hour, and the audit log blamed guessing. Now an attempt during an outage gets a
    503 (try again), counts against no limit, and afterwards every code votes."""
    app.config["RATELIMIT_CODES"] = "3 per 15 minutes"
    app.config["RATELIMIT_CODES_GLOBAL"] = "5 per hour"
    rnd, proposals = ballot_round
    rnd.eligibility = Eligibility.CODES
    codes = operations.batch_codes(operations.generate_codes(board, rnd, 4))
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    # four voters at one address (a community centre), their forms open before the outage
    voters = [make_client() for _ in codes]
    tokens = [voter.csrf("/stem") for voter in voters]
    with database_outage(db.engine):
        for _attempt in range(5):
            for voter, token, code in zip(voters, tokens, codes, strict=True):
                response = voter.post("/stem", {"code": code, "csrf_token": token})
                assert response.status_code == 503, response.status_code
                assert "niets verloren" in response.get_data(as_text=True)
                assert response.headers["Retry-After"]
                wrong = voter.post("/stem", {"code": "AAAA-BBBB-CCCC", "csrf_token": token})
                assert wrong.status_code == 503
    # the database is back: every code opens its ballot and casts
    for voter, token, code in zip(voters, tokens, codes, strict=True):
        entered = voter.post("/stem", {"code": code, "csrf_token": token})
        assert entered.status_code == 303, entered.status_code
        assert voter.get(url).status_code == 200
        assert review_and_cast(voter, url, [str(proposals[0].id)])().status_code == 303
    assert db.session.scalar(select(func.count(SealedBallot.id))) == 4
    assert db.session.scalar(select(func.count(VotingCode.id)).where(VotingCode.used)) == 4
    assert "codes.many_failures" not in db.session.scalars(select(AuditEvent.action)).all()


def test_a_cast_during_an_outage_is_a_503_and_nothing_is_lost(
    west, ballot_round, voter, make_client
):
    rnd, proposals = ballot_round
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    me = make_client()
    me.login(voter.email)
    send = review_and_cast(me, url, [str(proposals[0].id)])
    with database_outage(db.engine):
        response = send()
    assert response.status_code == 503
    assert send().status_code == 303  # the draft was kept: the same click again
    assert db.session.scalar(select(func.count(SealedBallot.id))) == 1


def test_the_migration_revokes_the_codes_of_revoked_batches_and_stops_at_a_broken_batch(
    tmp_path,
):
    """c17a0003votes: codes of a batch revoked before keep not working (now marked revoked
    themselves, as a revocation does today); a paper batch both confirmed and discarded stops
    the migration with the batch named (the board decides, not a migration)."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from wijkbudget import create_app
    from wijkbudget.extensions import utcnow
    from wijkbudget.neighbourhoods.models import Neighbourhood

    url = f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    migrated = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "x"})
    with migrated.app_context():
        upgrade()
        wijk = Neighbourhood(name="Zuid", slug="zuid", description="")
        rnd = Round(neighbourhood=wijk, title="R", introduction="", budget_cents=100,
                    min_cost_cents=1, max_cost_cents=100, phase=Phase.VOTING)  # fmt: skip
        batch = CodeBatch(label="Brieven", size=2, seed="ab" * 32)
        db.session.add_all([wijk, rnd])
        db.session.flush()
        batch.round_id = rnd.id
        db.session.add(batch)
        db.session.flush()
        for i, used in enumerate((True, False)):
            db.session.add(VotingCode(batch_id=batch.id, round_id=rnd.id, code_hash=f"h{i}",
                                      used=used))  # fmt: skip
        # a cast ballot: the migration rebuilds tables that ballots and their choices refer to
        # (on SQLite), and must not take them along
        from wijkbudget.accounts.models import User
        from wijkbudget.proposals.models import Proposal

        author = User(email="a@example.org", display_name="A", password_hash="x")
        proposal = Proposal(round=rnd, neighbourhood_id=wijk.id, submitter=author, title="P",
                            summary="S", state=State.ADMITTED, cost_cents=10)  # fmt: skip
        db.session.add_all([author, proposal])
        db.session.flush()
        ballot = Ballot(round_id=rnd.id)
        ballot.choices = [BallotChoice(proposal_id=proposal.id, points=1)]
        db.session.add(ballot)
        db.session.flush()
        code_id = db.session.scalar(select(VotingCode.id).where(VotingCode.used.is_(True)))
        db.session.add(Participation(round_id=rnd.id, code_id=code_id, channel=Channel.CODE))
        db.session.commit()
        round_id = rnd.id
        db.session.remove()
        downgrade(revision="c17a0002props")
        with db.engine.begin() as connection:
            # as revoking a batch left it before: the batch revoked, its codes not
            connection.execute(text("UPDATE code_batch SET revoked_at = :t"), {"t": utcnow()})
            connection.execute(
                text(
                    "INSERT INTO paper_batch (round_id, label, declared_count, created_at, "
                    "confirmed_at, discarded_at) VALUES (:r, 'Markt', 2, :t, :t, :t)"
                ),
                {"r": round_id, "t": utcnow()},
            )
        with pytest.raises(SystemExit):  # (Flask-Migrate logs the message and exits)
            upgrade(revision="c17a0003votes")
        with db.engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            assert version.scalar() == "c17a0002props"
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE paper_batch SET discarded_at = NULL"))
        upgrade()
        with db.engine.connect() as connection:
            codes = connection.execute(
                text("SELECT used, revoked_at IS NOT NULL FROM voting_code ORDER BY code_hash")
            ).all()
            seed = connection.execute(text("SELECT seed FROM code_batch")).scalar()
        assert [tuple(map(bool, row)) for row in codes] == [(True, False), (False, True)]
        assert seed is None
        with db.engine.connect() as connection:
            # the plain ballot of a round still voting was sealed by c19a0001secrecy
            expected = {"ballot": 0, "ballot_choice": 0, "sealed_ballot": 1, "participation": 1,
                        "voting_code": 2}  # fmt: skip
            for table, expect in expected.items():
                count = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
                assert count == expect, table
            box = connection.execute(text("SELECT box FROM sealed_ballot")).scalar()
            key = connection.execute(text("SELECT ballot_private_key FROM budget_round")).scalar()
            proposal_id = connection.execute(text("SELECT id FROM proposal")).scalar()
            assert sealing.opener(key)(box) == {proposal_id: 1}
            assert (
                connection.execute(text("SELECT code_id FROM participation")).scalar() is not None
            )
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.engine.dispose()


# --- receipts: kept from caches, and not lost with a lost answer ----------------------------------


def test_a_cast_whose_answer_got_lost_shows_its_receipt_on_the_next_visit(
    west, ballot_round, voter, make_client, make_user
):
    """The ballot is in but the answer never reached the browser (the connection broke after
    the commit): the next visit to the ballot, in the same browser, shows the receipt; nobody
    else's browser does. Receipt pages are never kept by a browser or a proxy."""
    from wijkbudget.voting.codes import group

    rnd, proposals = ballot_round
    url = f"/wijk/{west.slug}/rondes/{rnd.id}/stemmen"
    me = make_client()
    me.login(voter.email)
    response = me.post(url, {"p": [str(proposals[0].id)], "action": "review"}, page=url)
    assert response.status_code == 303
    assert me.get(f"{url}/controleren").status_code == 200
    with me.raw.session_transaction() as session:
        pending = session["pending_receipts"][str(rnd.id)]
    # the cast as the "versturen" request made it, whose answer was lost
    operations.cast(rnd, ids(proposals, 0), user=voter, channel=Channel.ONLINE, receipt=pending)
    db.session.commit()

    other = make_client()
    other.login(make_user("buur@example.org", wijk=west).email)
    assert other.get(url).status_code == 200  # someone else: their own empty ballot
    again = me.get(url)
    assert again.status_code == 303 and again.headers["Location"].endswith("/stemmen/bewijs")
    shown = me.get(f"{url}/bewijs")
    assert group(pending, 4) in shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"] == "no-store"
    # once shown, it is gone from the session: the next visit is the usual "al gestemd"
    assert me.get(url).status_code == 409
    assert group(pending, 4) not in me.get(f"{url}/bewijs").get_data(as_text=True)
    # the receipt check shows the ballot to whoever holds the code, and is never cached either
    checked = make_client().post("/controleer", {"receipt": pending}, page="/controleer")
    assert "Speeltuin" in checked.get_data(as_text=True)
    assert checked.headers["Cache-Control"] == "no-store"
    assert make_client().raw.get("/controleer").headers["Cache-Control"] == "no-store"


def test_the_prebuilt_cast_writes_what_the_orm_would(app, ballot_round, board):
    """The cast writes its rows with prebuilt Core statements (voting/fast.py): read back
    through the ORM they are the rows a plain ORM cast would have made — the participation with
    its channel and buurt, the code used, the sealed ballot and the receipt's copy, each opening
    to the choices."""
    rnd, proposals = ballot_round
    batch = operations.generate_codes(board, rnd, 1, area=rnd.neighbourhood.areas[0])
    code = operations.find_code(rnd, operations.batch_codes(batch)[0])
    code_id, round_id, area_id = code.id, rnd.id, batch.area_id
    chosen = ids(proposals, 0, 2)
    receipt = operations.cast(rnd, chosen, code=code, channel=Channel.CODE)
    db.session.expire_all()
    (participation,) = db.session.scalars(
        db.select(Participation).where(Participation.round_id == round_id)
    ).all()
    assert (
        participation.code_id,
        participation.user_id,
        participation.channel,
        participation.area_id,
        participation.paper_batch_id,
        participation.address_id,
    ) == (code_id, None, Channel.CODE, area_id, None, None)
    assert db.session.get(VotingCode, code_id).used is True
    (sealed,) = db.session.scalars(
        db.select(SealedBallot).where(SealedBallot.round_id == round_id)
    ).all()
    rnd = db.session.get(Round, round_id)
    assert sealed.counted is True and sealed.paper_batch_id is None
    assert sealing.opener(rnd.ballot_private_key)(sealed.box) == chosen
    stored = db.session.get(Receipt, receipt_hash(receipt))
    assert stored.round_id == round_id
    assert sealing.open_with_receipt(normalise_code(receipt), stored.box) == chosen
