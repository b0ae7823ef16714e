"""Issue 19 attacked: what a visitor, a voter at a shared computer, someone with two mailboxes,
a board member, the holder of the runtime role's password and the operator of a restore can do
against ballot secrecy, one person one vote, the append-only tables and restores.

Each test is one attempt. A test marked ``xfail(strict=True)`` is an attack that still works;
its reason names the fix (see the report of the review, and docs/trust.md)."""

# ruff: noqa: F811 (the fixtures of test_trust_ledger, imported and then asked for by name)

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from tests.test_restore_live import run_restore, scene, take_backup  # noqa: F401 (fixture)
from tests.test_trust_ledger import (  # noqa: F401 (fixtures)
    Database,
    book,
    closed_round,
    database,
    migrated_app,
    postgresql_only,
    signed_wijk,
    verify,
)
from wijkbudget import sealing
from wijkbudget.accounts.models import Role
from wijkbudget.errors import DomainError
from wijkbudget.extensions import db
from wijkbudget.proposals.models import State
from wijkbudget.results import operations as results
from wijkbudget.results.models import Result
from wijkbudget.rounds.models import Eligibility, Phase
from wijkbudget.spending import checkpoints
from wijkbudget.voting import fingerprint as fp
from wijkbudget.voting import operations
from wijkbudget.voting import operations as voting
from wijkbudget.voting.addresses import MAX_ROWS, parse_register
from wijkbudget.voting.codes import code_hash, group, normalise_code
from wijkbudget.voting.models import (
    Channel,
    Participation,
    Receipt,
    SealedBallot,
    VotingCode,
)

# --- 1. ballot secrecy ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["approval", "cumulative"])
def test_a_ballot_with_many_choices_seals_to_the_length_of_a_short_one(
    kind, make_wijk, make_user, make_round, make_proposal
):
    """Boxes are padded: but to 256 bytes, about 36 choices with 4-digit proposal ids. A longer
    ballot sealed to a longer box, which a dump taken during the vote ties to its voter (the
    same xmin as the participation) and the .pb after the close to its content. Every ballot of
    a round is now padded to the longest the round allows."""
    wijk = make_wijk("West")
    board = make_user("bestuur@example.org", wijk=wijk, roles=((Role.BOARD, wijk),))
    rnd = make_round(wijk, Phase.VOTING, min_cost=1_000)
    rnd.eligibility = Eligibility.CODES
    if kind == "cumulative":
        rnd.ballot_type, rnd.ballot_points, rnd.ballot_max_points_each = kind, 100, 10
    proposals = [
        make_proposal(rnd, board, State.ADMITTED, title=f"Voorstel {i}", cost=1_000, commit=False)
        for i in range(60)  # (ids of two digits here; of four or five in a real site)
    ]
    db.session.commit()
    codes = operations.batch_codes(operations.generate_codes(board, rnd, 3))
    db.session.commit()
    if kind == "approval":
        ballots = [{proposals[0].id: 1}, {p.id: 1 for p in proposals}]
    else:  # all on one, spread thin, and ten on ten
        ballots = [
            {p.id: 10 for p in proposals[:10]},
            {p.id: (2 if i < 40 else 1) for i, p in enumerate(proposals)},
        ]
    receipts = []
    for text_, selection in zip(codes, ballots, strict=False):
        code = db.session.scalar(
            select(VotingCode).where(VotingCode.code_hash == code_hash(normalise_code(text_)))
        )
        receipts.append(operations.cast(rnd, selection, code=code, channel=Channel.CODE))
        db.session.commit()
    sealed = {len(box) for box in db.session.scalars(select(SealedBallot.box))}
    kept = {len(box) for box in db.session.scalars(select(Receipt.box))}
    assert len(sealed) == 1 and len(kept) == 1, (sealed, kept)
    # and they still open to what was cast
    open_one = sealing.opener(rnd.ballot_private_key)
    assert sorted(map(sorted, (open_one(b).items() for b in db.session.scalars(
        select(SealedBallot.box))))) == sorted(sorted(b.items()) for b in ballots)  # fmt: skip


@pytest.fixture
def code_round(make_wijk, make_user, make_round, make_proposal):
    wijk = make_wijk("West")
    board = make_user("bestuur@example.org", wijk=wijk, roles=((Role.BOARD, wijk),))
    rnd = make_round(wijk, Phase.VOTING, budget=500_000, max_cost=400_000)
    rnd.eligibility = Eligibility.CODES
    proposals = [
        make_proposal(rnd, board, State.ADMITTED, title="Speeltuin", cost=300_000, commit=False),
        make_proposal(rnd, board, State.ADMITTED, title="Bankjes", cost=100_000, commit=False),
    ]
    db.session.commit()
    codes = operations.batch_codes(operations.generate_codes(board, rnd, 2))
    db.session.commit()
    return wijk, rnd, proposals, codes


def test_the_next_voter_at_a_shared_computer_sees_nothing_of_the_last_one(code_round, make_client):
    """At the table in the buurthuis one laptop serves every walk-in voter. The first voter's
    answer got lost after the cast; the next voter enters their own code on the same laptop:
    they must not get the first voter's receipt (which opens that voter's choices at
    /controleer), nor the first voter's ticks on their ballot."""
    wijk, rnd, proposals, codes = code_round
    url = f"/wijk/{wijk.slug}/rondes/{rnd.id}/stemmen"
    laptop = make_client()
    assert laptop.post("/stem", {"code": codes[0]}, page="/stem").status_code == 303
    review = laptop.post(url, {"p": [str(proposals[0].id)], "action": "review"}, page=url)
    assert review.status_code == 303
    assert laptop.get(f"{url}/controleren").status_code == 200
    with laptop.raw.session_transaction() as session:
        pending = session["pending_receipts"][str(rnd.id)]
    first = db.session.scalar(
        select(VotingCode).where(VotingCode.code_hash == code_hash(normalise_code(codes[0])))
    )
    # the "versturen" of the first voter, whose answer never reached the laptop
    operations.cast(rnd, {proposals[0].id: 1}, code=first, channel=Channel.CODE, receipt=pending)
    db.session.commit()

    assert laptop.post("/stem", {"code": codes[1]}, page="/stem").status_code == 303
    ballot = laptop.get(url)
    assert ballot.status_code == 200, ballot.headers.get("Location")
    page = ballot.get_data(as_text=True)
    assert group(pending, 4) not in page and "checked" not in page.split("<form", 1)[-1]
    assert group(pending, 4) not in laptop.get(f"{url}/bewijs").get_data(as_text=True)
    with laptop.raw.session_transaction() as session:
        assert str(rnd.id) not in session.get("pending_receipts", {})
        assert str(rnd.id) not in session.get("ballots", {})
    # the second voter votes as usual and gets a receipt of their own
    laptop.post(url, {"p": [str(proposals[1].id)], "action": "review"}, page=url)
    cast = laptop.post(f"{url}/versturen", {}, page=f"{url}/controleren")
    assert cast.status_code == 303 and cast.headers["Location"].endswith("/stemmen/bewijs")
    shown = laptop.get(f"{url}/bewijs").get_data(as_text=True)
    assert group(pending, 4) not in shown


def test_a_public_key_swapped_in_the_database_seals_no_ballot_for_the_swapper(code_round):
    """Someone who can write the database (its administrator, the runtime role's password)
    puts a public key of their own on a round during the vote: every later ballot would be
    sealed for them, and linked to its voter by xmin. The cast checks the public key against
    the round's private key (which only the app's secret key opens) and refuses."""
    wijk, rnd, proposals, codes = code_round
    swapper = PrivateKey.generate()
    db.session.execute(
        text("UPDATE budget_round SET ballot_public_key = :key WHERE id = :id"),
        {"key": swapper.public_key.encode().hex(), "id": rnd.id},
    )
    db.session.commit()
    db.session.expire_all()
    code = db.session.scalar(
        select(VotingCode).where(VotingCode.code_hash == code_hash(normalise_code(codes[0])))
    )
    with pytest.raises(DomainError):
        operations.cast(rnd, {proposals[0].id: 1}, code=code, channel=Channel.CODE)
    db.session.rollback()
    assert db.session.scalars(select(SealedBallot.box)).all() == []
    assert db.session.scalar(select(func.count(Participation.id))) == 0


# --- 2. one person, one vote ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("one", "other"),
    [
        # an internationalised domain in its two spellings (IDNA): one mailbox
        ("jan@bücher.nl", "jan@xn--bcher-kva.nl"),
        ("Jan@XN--BCHER-KVA.NL", "jan@Bücher.nl"),
        # Fastmail's subdomain addressing: iets@naam.fastmail.com is naam@fastmail.com
        ("krant@jan.fastmail.com", "jan@fastmail.com"),
        ("krant@jan.fastmail.fm", "jan+winkel@fastmail.fm"),
        # Yahoo's disposable addresses: basis-iets@ all go to the owner of the base name
        ("jan-krant@yahoo.com", "jan-winkel@yahoo.com"),
        ("Jan-Krant@YMail.com", "jan-stem@ymail.com"),
        # one provider's domains whose names are one namespace
        ("jan@protonmail.com", "jan+x@proton.me"),
        ("jan@pm.me", "jan@protonmail.ch"),
        ("jan@me.com", "jan@icloud.com"),
        ("jan@mac.com", "jan+stem@icloud.com"),
    ],
)
def test_another_spelling_of_one_mailbox_has_the_same_fingerprint(app, one, other):
    assert fp.normalise_email(one) == fp.normalise_email(other)
    assert fp.fingerprint(one) == fp.fingerprint(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("jan@student.uva.nl", "jan@uva.nl"),  # a subdomain elsewhere is another mail server
        ("krant@jan.fastmail.com", "krant@piet.fastmail.com"),
        ("jan-krant@yahoo.com", "jan@yahoo.com"),  # the base name is not the mailbox "jan"
        ("jan-krant@example.org", "jan@example.org"),  # a dash elsewhere is part of the name
        ("jan@straße.de", "jan@strasse.de"),  # IDNA 2008: two domains
    ],
)
def test_two_mailboxes_stay_two(app, one, other):
    assert fp.normalise_email(one) != fp.normalise_email(other)


def test_a_register_file_of_many_bad_lines_stops_at_the_row_limit(app):
    """Lines with a problem (here: the same address again and again) count as lines: a board
    member's 5 MB of them is refused at the limit, not read to the end (seconds of a worker)."""
    parsed = parse_register(b"3531 AB;1\n" * (MAX_ROWS + 10))
    assert parsed.problem_count <= MAX_ROWS + 1  # (the 20 first are shown, the rest counted)
    assert not parsed.lines[1:]
    started = time.perf_counter()
    parse_register(b"3531 AB;1\n" * 500_000)
    assert time.perf_counter() - started < 5


# --- 3. the append-only tables and the checkpoints --------------------------------------------


def _anchors_file(signed: Path) -> dict[str, Any]:
    return json.loads(signed.read_text())


def test_a_file_re_signed_with_another_key_is_refused(app, signed_wijk, tmp_path):
    """Someone who rewrote the chain makes a councillors' file of their own: every checkpoint
    re-signed with their key, and their public key in the file. Only the site's key counts."""
    wijk_id, path = signed_wijk
    document = _anchors_file(path)
    forger = SigningKey.generate()
    for item in document["checkpoints"]:
        item["key_id"] = checkpoints.key_id(forger.verify_key)
        item["signature"] = forger.sign(item["signed_text"].encode()).signature.hex()
    document["public_key"] = bytes(forger.verify_key).hex()
    document["key_id"] = checkpoints.key_id(forger.verify_key)
    forged = tmp_path / "vals.json"
    forged.write_text(json.dumps(document))
    result = verify(app, "--checkpoints", str(forged))
    assert result.exit_code == 1 and "checkpoint west:" in result.output


def test_a_checkpoint_moved_to_another_wijk_is_refused(app, signed_wijk, make_wijk, tmp_path):
    wijk_id, path = signed_wijk
    oost = make_wijk("Oost", postcodes=((3581, 3585),))
    book(oost.id, 100_000, 50_000, 25_000)
    document = _anchors_file(path)
    for item in document["checkpoints"]:
        item["wijk_id"], item["wijk"] = oost.id, oost.slug
    moved = tmp_path / "verhuisd.json"
    moved.write_text(json.dumps(document))
    result = verify(app, "--checkpoints", str(moved))
    assert result.exit_code == 1 and "checkpoint oost:" in result.output


@pytest.mark.parametrize(
    "content",
    [
        '{"checkpoints": [{"wijk_id": 1, "wijk": "west", "length": 1e400, "head": "x", '
        '"signed_at": "x", "key_id": "x", "signature": "x"}]}',
        "[" * 100_000 + "]" * 100_000,
        '{"checkpoints": [{"wijk_id": 1e999}]}',
        '{"checkpoints": "geen lijst"}',
        "\x00\xff",
    ],
)
def test_a_file_with_odd_values_is_no_checkpoint_file(app, signed_wijk, tmp_path, content):
    odd = tmp_path / "raar.json"
    odd.write_text(content, encoding="latin-1")
    result = verify(app, "--checkpoints", str(odd))
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2 and "geen bestand met controlepunten" in result.output


def test_the_councillors_desk_does_not_call_a_cut_ledger_correct(
    app, signed_wijk, make_user, make_client
):
    """The public page says the chain no longer extends its checkpoint; the councillors, who
    hold the checkpoints, must not read "Het grootboek klopt" on their own desk meanwhile."""
    wijk_id, _path = signed_wijk
    make_user("raad@example.org", roles=((Role.COUNCILLOR, None),))
    # the tail cut back behind the signed checkpoint (three entries signed, one after it)
    db.session.execute(text("DELETE FROM ledger_entry WHERE seq >= 3"))
    db.session.commit()
    councillor = make_client()
    councillor.login("raad@example.org")
    desk = councillor.get("/wijk/west/controle").get_data(as_text=True)
    assert "Het grootboek klopt:" not in desk
    assert "er zijn boekingen verdwenen" in desk
    desks = councillor.get("/controle").get_data(as_text=True)
    assert "Grootboek klopt (" not in desks and "Het grootboek klopt niet!" in desks


def _as_runtime_role(statement: str, params: dict[str, Any]) -> None:
    """Run ``statement`` on the app's own connection (the runtime role on PostgreSQL)."""
    try:
        db.session.execute(text(statement), params)
        db.session.commit()
    finally:
        db.session.rollback()


class TestAsTheRuntimeRole:
    """On a migrated database, the app connected as the runtime role of `flask db roles`
    (tests/test_trust_ledger.py makes both; PostgreSQL only: SQLite has no roles)."""

    @pytest.fixture
    def app(self, migrated_app: Any) -> Any:
        return migrated_app

    def test_nothing_can_be_added_to_the_ballots_of_a_closed_round(
        self, database, closed_round, make_proposal
    ):
        """The runtime role keeps INSERT on ballot, ballot_choice and participation (the cast
        and the close need it); migration c19a0004closed refuses a row for a round whose result
        an earlier transaction stored (the close's own inserts pass)."""
        postgresql_only(database)
        rnd = closed_round["round"]
        round_id = rnd.id
        ballot_id = database.scalar("SELECT id FROM ballot WHERE round_id = :r", r=round_id)
        other = make_proposal(rnd, closed_round["voter"], State.ADMITTED, title="Nog een").id
        voter_id = closed_round["voter"].id
        db.session.remove()
        refusals = 0
        for statement, params in (
            (
                "INSERT INTO ballot (id, round_id) VALUES (:b, :r)",
                {"b": "00000000-0000-4000-8000-000000000000", "r": round_id},
            ),
            (
                "INSERT INTO ballot_choice (ballot_id, proposal_id, points) VALUES (:b, :p, 1)",
                {"b": ballot_id, "p": other},
            ),
            (
                "INSERT INTO participation (round_id, channel, user_id) VALUES (:r, 'online', :u)",
                {"r": round_id, "u": voter_id},
            ),
        ):
            try:
                _as_runtime_role(statement, params)
            except DBAPIError as error:
                assert "closed round" in str(error)
                refusals += 1
        assert refusals == 3
        assert database.scalar("SELECT count(*) FROM ballot_choice") == 1

    def test_receipts_cannot_be_changed_or_removed_by_the_runtime_role(
        self, database, closed_round
    ):
        """The receipt list is public after the close and a receipt shows its holder the ballot:
        the site never changes or deletes a receipt, so the role it runs as may not either."""
        postgresql_only(database)
        rnd = closed_round["round"]
        database.run(
            "INSERT INTO receipt (receipt_hash, round_id, box) VALUES (:h, :r, NULL)",
            h="a" * 64,
            r=rnd.id,
        )
        db.session.remove()
        for statement in ("UPDATE receipt SET box = 'x'", "DELETE FROM receipt"):
            with pytest.raises(DBAPIError, match="permission denied"):
                _as_runtime_role(statement, {})
        assert database.scalar("SELECT count(*) FROM receipt") == 1

    def test_the_restore_can_wait_for_the_sites_transactions(self, app, database):
        """`flask restore` runs as the owner; it waits for the transactions of the web app (the
        runtime role) that were open when maintenance began. PostgreSQL shows another role's
        transaction only to a member of it or of pg_read_all_stats: `db roles` must arrange that,
        or the restore only warns and waits the grace period (docs/restore.md)."""
        postgresql_only(database)
        db.session.execute(text("SELECT 1 FROM ledger_entry LIMIT 1"))  # a transaction, left open
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        try:
            with database.superuser.begin() as connection:
                connection.execute(text(f"SET ROLE {database.owner}"))
                seen = connection.execute(
                    text("SELECT xact_start FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                ).scalar()
            assert seen is not None
        finally:
            db.session.rollback()


# --- 4. maintenance -----------------------------------------------------------------------------


def test_a_vote_closed_after_the_backup_makes_the_restore_refuse(app, scene, tmp_path):
    """The vote was closed after the backup: its result is public (the page, the .pb people
    downloaded). A restore that takes the round back into voting, with its sealed ballots and
    its key, loses that result: it must say so and want --lose-votes, also when the operator
    allowed the grants' ledger entries to go (money is not votes)."""
    path = tmp_path / "site.backup"
    rnd = scene["round"]
    voting.cast(rnd, {scene["proposals"][0]: 1}, user=scene["voters"][0], channel=Channel.ONLINE)
    take_backup(app, path)
    rnd.result_opens = None
    db.session.commit()
    results.close_voting(scene["board"], rnd, confirmed=True)
    refused = run_restore(app, path, "--lose-ledger")
    assert refused.exit_code == 1, refused.output
    assert "Wijkbudget 2027 (Noord): de uitslag van een gesloten stemming" in refused.output
    assert "--lose-votes" in refused.output
    db.session.rollback()
    assert db.session.scalar(select(func.count(Result.id))) == 1
    done = run_restore(app, path, "--lose-ledger", "--lose-votes")
    assert done.exit_code == 0, done.output
    db.session.rollback()
    assert db.session.scalar(select(func.count(Result.id))) == 0


def test_health_tells_a_visitor_no_process_or_host(app, make_client):
    from wijkbudget import maintenance

    flag = maintenance.switch_on(app)
    try:
        text_ = make_client().get("/healthz").get_data(as_text=True)
    finally:
        maintenance.switch_off(app)
    assert text_.startswith("maintenance: on")
    assert str(flag.pid) not in text_ and flag.host not in text_
