"""Issue 19, one person one vote: a vote outlives the account as a keyed fingerprint of the
normalised mailbox (re-registering, plus-addresses and gmail's dots cannot vote again), and an
optional address register per round (each address votes at most its number of places, across
account, code, paper and walk-in codes). The CSV reader of the register against hostile files."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import PASSWORD, link_in
from wijkbudget import create_app
from wijkbudget.accounts.models import Role, User
from wijkbudget.audit.models import AuditEvent
from wijkbudget.config import ConfigError
from wijkbudget.extensions import db
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Eligibility, Phase, Round
from wijkbudget.voting import fingerprint as fp
from wijkbudget.voting import operations, register
from wijkbudget.voting.addresses import (
    MAX_PROBLEMS,
    full_postcode,
    normalise_house_number,
    parse_register,
)
from wijkbudget.voting.models import (
    AlreadyVoted,
    Channel,
    Participation,
    RegisterAddress,
    VoterFingerprint,
    VotingCode,
    VotingError,
)


def choice(proposals, i=0):
    return {proposals[i].id: 1}


def ballot_url(wijk, rnd) -> str:
    return f"/wijk/{wijk.slug}/rondes/{rnd.id}/stemmen"


def vote_online(client, url, proposal_id):
    """Choose, review, send: the response of the cast (or of the first step that refused)."""
    chosen = client.post(url, {"p": [str(proposal_id)], "action": "review"}, page=url)
    if chosen.status_code != 303 or not chosen.headers["Location"].endswith("/controleren"):
        return chosen
    return client.post(f"{url}/versturen", {}, page=f"{url}/controleren")


def participations(rnd) -> int:
    return db.session.scalar(
        select(func.count(Participation.id)).where(Participation.round_id == rnd.id)
    )


# --- normalising an address -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "mailbox"),
    [
        ("Jan@Example.org", "jan@example.org"),
        ("  jan@example.org \n", "jan@example.org"),
        ("jan+wijkbudget@example.org", "jan@example.org"),
        ("jan+a+b@outlook.com", "jan@outlook.com"),
        ("jan.de.vries@example.org", "jan.de.vries@example.org"),  # dots count elsewhere
        ("Jan.De.Vries+stem@gmail.com", "jandevries@gmail.com"),
        ("j.a.n@googlemail.com", "jan@gmail.com"),
        ("ｊａｎ@example.org", "jan@example.org"),  # full-width letters (NFKC)
        ("+iets@example.org", "+iets@example.org"),  # no name before the tag: nothing dropped
        ("geen-adres", "geen-adres"),
    ],
)
def test_the_mailbox_of_an_address(typed, mailbox):
    assert fp.normalise_email(typed) == mailbox


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.text(alphabet="abcxyz.+", max_size=10))
def test_normalising_twice_changes_nothing_and_tags_never_matter(local, tag):
    address = f"{local}@example.org"
    once = fp.normalise_email(address)
    assert fp.normalise_email(once) == once
    name = fp.normalise_email(f"jan{tag.replace('+', '')}@gmail.com")
    assert fp.normalise_email(f"jan{tag.replace('+', '')}+{tag}@gmail.com") == name


def test_the_fingerprint_is_keyed(app):
    plain = fp.fingerprint("jan@example.org")
    assert plain == fp.fingerprint("JAN+x@example.org") != fp.fingerprint("kees@example.org")
    assert len(plain) == 64 and "jan" not in plain
    # in tests the key is derived from SECRET_KEY, with a label of its own
    assert fp.fingerprint_key() != app.config["SECRET_KEY"].encode()
    app.config["FINGERPRINT_KEY"] = "x" * 40
    assert fp.fingerprint("jan@example.org") != plain


def test_production_needs_the_fingerprint_key(tmp_path, monkeypatch):
    monkeypatch.setenv("WIJKBUDGET_INSTANCE_PATH", str(tmp_path / "instance"))
    for key in ("FLASK_RUN_FROM_CLI", "FLASK_DEBUG", "WIJKBUDGET_FINGERPRINT_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("WIJKBUDGET_PUBLIC_URL", "https://wijkbudget.example.nl")
    monkeypatch.setenv("WIJKBUDGET_CHECKPOINT_PUBLIC_KEY", "ab" * 32)
    with pytest.raises(ConfigError, match="WIJKBUDGET_FINGERPRINT_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    monkeypatch.setenv("WIJKBUDGET_FINGERPRINT_KEY", "kort")
    with pytest.raises(ConfigError, match="too short"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    monkeypatch.setenv("WIJKBUDGET_FINGERPRINT_KEY", "k" * 64)
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["FINGERPRINT_KEY"]


# --- one vote per mailbox -------------------------------------------------------------------------


def test_deleting_the_account_and_registering_again_cannot_vote_again(
    west, voting_round, make_user, make_client, client, inbox
):
    rnd, proposals = voting_round
    make_user("fatima@example.org", wijk=west)
    url = ballot_url(west, rnd)
    first = make_client()
    first.login("fatima@example.org")
    assert vote_online(first, url, proposals[0].id).status_code == 303
    assert db.session.scalar(select(func.count()).select_from(VoterFingerprint)) == 1
    deleted = first.post(
        "/account/verwijderen", {"del-password": PASSWORD, "del-confirm": "y"}, page="/account"
    )
    assert deleted.status_code == 303
    # the account keeps no address; the participation's fingerprint stays, without a name
    db.session.expire_all()
    assert db.session.scalar(select(User.email).where(User.id == Participation.user_id)) is None

    # registering again, as anyone does
    registered = client.post(
        "/registreren",
        {
            "email": "Fatima@Example.org",
            "password": "lombok-is-de-mooiste-buurt",
            "display_name": "Fatima",
            "place": f"a{west.areas[0].id}",
            "postcode": "3531 AB",
            "birth_year": "1984",
            "language": "nl",
        },
        page="/registreren",
    )
    assert registered.status_code == 303
    link = re.sub(r"^https?://[^/]+", "", link_in(inbox.last_to("fatima@example.org")))
    client.login("fatima@example.org", "lombok-is-de-mooiste-buurt")
    assert client.post(link, {}, page=link).status_code == 303
    again = vote_online(client, url, proposals[1].id)
    assert again.status_code == 409
    assert "al gestemd" in again.get_data(as_text=True)
    assert participations(rnd) == 1


def test_a_second_account_for_the_same_mailbox_cannot_vote_on_paper_either(
    west, voting_round, board, board2, make_user
):
    rnd, proposals = voting_round
    jan = make_user("jan.jansen@gmail.com", wijk=west)
    operations.cast(rnd, choice(proposals), user=jan, channel=Channel.ONLINE)
    db.session.commit()
    other = make_user("janjansen+stem@googlemail.com", wijk=west)  # the same gmail mailbox
    batch = operations.open_paper_batch(board, rnd, "Buurthuis", 1)
    with pytest.raises(AlreadyVoted, match="al gestemd"):
        operations.enter_sheet(board, rnd, batch, other.email, choice(proposals, 1))
    assert participations(rnd) == 1
    # and the other way round: paper first, then online with a plus-address
    kees = make_user("kees@example.org", wijk=west)
    operations.enter_sheet(board, rnd, batch, kees.email, choice(proposals, 1))
    plus = make_user("kees+wijk@example.org", wijk=west)
    with pytest.raises(AlreadyVoted):
        operations.cast(rnd, choice(proposals), user=plus, channel=Channel.ONLINE)
    # a discarded batch takes the vote and its fingerprint with it: the mailbox may vote again
    operations.discard_paper_batch(
        board2, rnd, db.session.get(type(batch), batch.id), "Verkeerde stapel ingevoerd"
    )
    operations.cast(rnd, choice(proposals), user=plus, channel=Channel.ONLINE)
    db.session.commit()
    assert participations(rnd) == 2


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("piet@example.org", "piet+tweede@example.org"),
        ("piet.de.boer@gmail.com", "pietdeboer@gmail.com"),
        ("p.deboer@gmail.com", "pdeboer+x@googlemail.com"),
    ],
)
def test_another_spelling_of_the_same_mailbox_is_refused(
    west, voting_round, make_user, make_client, first, second
):
    rnd, proposals = voting_round
    make_user(first, wijk=west)
    make_user(second, wijk=west)
    url = ballot_url(west, rnd)
    one, two = make_client(), make_client()
    one.login(first)
    two.login(second)
    assert vote_online(one, url, proposals[0].id).status_code == 303
    refused = vote_online(two, url, proposals[1].id)
    assert refused.status_code == 409
    assert "andere schrijfwijze" in refused.get_data(as_text=True)
    assert participations(rnd) == 1


def test_a_dot_is_another_mailbox_outside_gmail(west, voting_round, make_user):
    rnd, proposals = voting_round
    for email in ("jan.de.vries@example.org", "jandevries@example.org"):
        operations.cast(
            rnd, choice(proposals), user=make_user(email, wijk=west), channel=Channel.ONLINE
        )
    db.session.commit()
    assert participations(rnd) == 2


def test_changing_the_address_then_deleting_and_registering_with_it_cannot_vote_again(
    west, voting_round, make_user
):
    """wijkbudget has no e-mail change yet; the use case that adds one calls
    fingerprint.carry_to_new_address in its transaction (as here)."""
    rnd, proposals = voting_round
    old_round = Round(
        neighbourhood=west, title="Vorig jaar", budget_cents=1, max_cost_cents=1, phase=Phase.CLOSED
    )
    db.session.add(old_round)
    db.session.commit()
    anna = make_user("anna@example.org", wijk=west)
    operations.cast(rnd, choice(proposals), user=anna, channel=Channel.ONLINE)
    db.session.add(Participation(round_id=old_round.id, user_id=anna.id, channel=Channel.ONLINE))
    db.session.commit()
    anna.email = "anna.nieuw@example.org"
    assert fp.carry_to_new_address(anna.id, anna.email) == 1  # only the round still in voting
    assert fp.carry_to_new_address(anna.id, anna.email) == 0  # once
    db.session.commit()
    anna.email = None  # the account deleted
    db.session.commit()
    again = make_user("anna.nieuw+x@example.org", wijk=west)
    with pytest.raises(AlreadyVoted):
        operations.cast(rnd, choice(proposals, 1), user=again, channel=Channel.ONLINE)
    # the old address is refused too
    with pytest.raises(AlreadyVoted):
        operations.cast(
            rnd,
            choice(proposals, 1),
            user=make_user("anna@example.org", wijk=west),
            channel=Channel.ONLINE,
        )


def test_a_code_vote_writes_no_fingerprint(west, voting_round, board, make_user):
    rnd, proposals = voting_round
    rnd.eligibility = Eligibility.CODES
    code = operations.find_code(
        rnd, operations.batch_codes(operations.generate_codes(board, rnd, 1))[0]
    )
    someone = make_user("iemand@example.org", wijk=west)
    operations.cast(rnd, choice(proposals), user=someone, code=code, channel=Channel.CODE)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(VoterFingerprint)) == 0


# --- house numbers, postcodes and the CSV file ----------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("12", "12"),
        ("012", "12"),
        ("12a", "12A"),
        ("12 A", "12A"),
        ("12-a", "12A"),
        ("12-2", "12-2"),
        ("12 2", "12-2"),
        ("12/2", "12-2"),
        ("12A-1", "12A-1"),
        ("12a1", "12A-1"),
        ("12 hs", "12-HS"),
        ("12HS", "12-HS"),
        ("12 bis", "12-BIS"),
        ("99999", "99999"),
        ("100000", None),
        ("0", None),
        ("A12", None),
        ("", None),
        ("12-ABCDEFG", None),
        ("１２", None),  # full-width digits
        ("12é", None),
        ("=1+1", None),
        ("1" * 100, None),
    ],
)
def test_house_numbers(typed, kept):
    assert normalise_house_number(typed) == kept


def test_full_postcodes():
    assert full_postcode("3531ab") == "3531 AB"
    assert full_postcode(" 3531 AB ") == "3531 AB"
    for wrong in ("3531", "0531 AB", "3531 SS", "=HYPERLINK(1)", "3531 ABC", "", "3" * 50):
        assert full_postcode(wrong) is None


def test_a_dutch_excel_file_with_a_header_and_a_bom(app):
    data = "\ufeffPostcode;Huisnummer;Aantal\r\n3531ab;12;2\r\n3531 AB;12a;\r\n\r\n3531AC;7-2;1\r\n"
    parsed = parse_register(data.encode("utf-8"))
    assert parsed.problems == []
    assert [(x.postcode, x.house_number, x.capacity) for x in parsed.lines] == [
        ("3531 AB", "12", 2),
        ("3531 AB", "12A", 1),
        ("3531 AC", "7-2", 1),
    ]
    assert parsed.places == 4


def test_commas_no_header_windows_1252_and_separate_addition_columns(app):
    parsed = parse_register("3531 AB,12\n3531 AB,14,3\n".encode("cp1252"))
    assert [(x.house_number, x.capacity) for x in parsed.lines] == [("12", 1), ("14", 3)]
    bag = "postcode\thuisnummer\thuisletter\ttoevoeging\n3531AB\t12\tB\t\n3531AB\t12\t\t2\n"
    parsed = parse_register(bag.encode())
    assert [x.house_number for x in parsed.lines] == ["12B", "12-2"]
    # a name in the file (Windows-1252) is one more column, and read as no number
    parsed = parse_register("3531 AB;12;Jos\xe9\n".encode("cp1252"))
    assert parsed.problem_count == 1 and "José" in parsed.problems[0]


def test_hostile_files_are_refused_line_by_line(app):
    lines = ["postcode;huisnummer;aantal"]
    lines += ['=HYPERLINK("http://x");12;1', "3531 AB;=1+1;1", "3531 AB;12;0", "3531 AB;13;+5"]
    lines += ["3531 AB;14;101", "3531 AB;15;1", "3531ab;15;", "@SUM(A1);1"]
    parsed = parse_register("\n".join(lines).encode())
    assert [x.house_number for x in parsed.lines] == ["15"]
    assert parsed.problem_count == 7
    assert parsed.problems[0].startswith("Regel 2:") and "geen postcode" in parsed.problems[0]
    assert "geen huisnummer" in parsed.problems[1] and "=1+1" in parsed.problems[1]
    assert "staat al op regel 7" in parsed.problems[5]
    # many problems: the first twenty are named, all are counted
    many = parse_register(("\n".join(f"{i};x" for i in range(1000))).encode())
    assert len(many.problems) == MAX_PROBLEMS and many.problem_count == 1000


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "geen adressen"),
        (b"\n\n;;\n", "geen adressen"),
        (b"postcode;huisnummer\n", "geen adressen"),
        (b"\x00\x01\x02binary", "geen tekst"),
        (b"\x81\x8d\x8f\x90\x9d", "geen tekst"),  # neither UTF-8 nor Windows-1252
        (b"postcode;straat\n3531 AB;Lange Nieuwstraat\n", "huisnummer"),
        (b'3531 AB;"12\n', "kan niet gelezen"),
        (b"x" * (5 * 1024 * 1024 + 1), "groter dan 5 MB"),
        (b'"' + b"a" * 200_000 + b'";12\n', "kan niet gelezen"),
    ],
)
def test_files_that_are_no_register(app, data, message):
    parsed = parse_register(data)
    assert parsed.lines == [] or parsed.problem_count
    assert any(message in p for p in parsed.problems), parsed.problems


def test_caps_on_rows_and_places(app):
    rows = "\n".join(f"3531 AB;{i}" for i in range(1, 50_002))
    parsed = parse_register(rows.encode())
    assert parsed.problem_count and "meer dan 50000 adressen" in parsed.problems[-1]
    places = "\n".join(f"3531 AB;{i};100" for i in range(1, 1_002))
    parsed = parse_register(places.encode())
    assert "hoogstens 100000" in parsed.problems[-1]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=2000))
def test_any_bytes_give_addresses_or_problems_and_never_an_error(app, data):
    parsed = parse_register(data)
    assert parsed.lines or parsed.problem_count
    for line in parsed.lines:
        assert full_postcode(line.postcode) == line.postcode
        assert normalise_house_number(line.house_number) == line.house_number


# --- the address register -------------------------------------------------------------------------


def register_round(west, board, make_round, make_proposal, csv: str):
    rnd = make_round(west, Phase.REVIEW, budget=500_000, max_cost=400_000)
    proposals = [
        make_proposal(rnd, board, State.ADMITTED, title="Speeltuin", cost=300_000, commit=False),
        make_proposal(rnd, board, State.ADMITTED, title="Bankjes", cost=100_000, commit=False),
    ]
    db.session.commit()
    register.upload_register(board, rnd, csv.encode())
    return rnd, proposals


def address(rnd, postcode, number) -> RegisterAddress:
    db.session.expire_all()
    return register.find_address(rnd.id, postcode, number)


def test_an_address_with_two_places_votes_twice_across_account_code_paper_and_walk_in(
    west, board, board2, make_round, make_proposal, make_user, make_client
):
    rnd, proposals = register_round(
        west,
        board,
        make_round,
        make_proposal,
        "postcode;huisnummer;aantal\n3531 AB;12;2\n3531 AB;14;1\n3531 AB;16;3\n",
    )
    henk = make_client()
    henk.login(board.email)
    codes_url = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/stemcodes"
    # plain codes cannot be made in a round with a register; codes from the register can
    plain = henk.post(codes_url, {"action": "generate", "count": "3"}, page=codes_url)
    assert plain.status_code == 422 and "adressenlijst" in plain.get_data(as_text=True)
    made = henk.post(codes_url, {"action": "from_register"}, page=codes_url)
    assert made.status_code == 303
    assert db.session.scalar(select(func.count(VotingCode.id))) == 6  # one per voter place
    again = henk.post(codes_url, {"action": "from_register"}, page=codes_url)
    assert again.status_code == 422 and "al zijn codes" in again.get_data(as_text=True)
    batch_id = db.session.scalar(select(VotingCode.batch_id))
    letters = henk.post(f"{codes_url}/{batch_id}/brieven", page=codes_url).get_data(as_text=True)
    assert letters.count("Voor het adres 3531 AB 12<") == 2
    assert letters.count("Voor het adres 3531 AB 16<") == 3
    csv = henk.post(f"{codes_url}/{batch_id}.csv", page=codes_url).get_data(as_text=True)
    assert csv.splitlines()[0] == "stemcode,postcode,huisnummer"
    lines = [line.split(",") for line in csv.splitlines()[1:]]
    codes_12 = [c for c, pc, nr in lines if nr == "12"]
    assert len(codes_12) == 2

    rnd.phase = Phase.VOTING
    db.session.commit()
    # the account: asked for its house number first (the postcode from the account)
    resident = make_user("bewoner@example.org", wijk=west)
    me = make_client()
    me.login(resident.email)
    url = ballot_url(west, rnd)
    step = me.get(url)
    assert step.status_code == 303 and step.headers["Location"].endswith("/stemmen/adres")
    step_url = step.headers["Location"]
    page = me.get(step_url).get_data(as_text=True)
    assert 'value="3531 AB"' in page
    wrong = me.post(step_url, {"postcode": "3531 AB", "house_number": "13"}, page=step_url)
    assert wrong.status_code == 422 and "staat niet op de adressenlijst" in wrong.get_data(
        as_text=True
    )
    assert me.post(step_url, {"postcode": "3531ab", "house_number": "12"}, page=step_url)
    assert vote_online(me, url, proposals[0].id).status_code == 303  # place 1 of 12

    # a code of the register for the same address: place 2
    voter = make_client()
    assert voter.post("/stem", {"code": codes_12[0]}, page="/stem").status_code == 303
    rnd.eligibility = Eligibility.CODES
    db.session.commit()
    assert vote_online(voter, url, proposals[1].id).status_code == 303
    assert address(rnd, "3531 AB", "12").used == 2
    # the second code of that address: full (409), and the code stays unused
    late = make_client()
    assert late.post("/stem", {"code": codes_12[1]}, page="/stem").status_code == 303
    refused = vote_online(late, url, proposals[1].id)
    assert refused.status_code == 409
    assert "zo vaak gestemd als de adressenlijst toestaat" in refused.get_data(as_text=True)
    assert operations.find_code(rnd, codes_12[1]) is not None

    # paper with that code: refused the same way
    batch = operations.open_paper_batch(board, rnd, "Buurthuis", 1)
    with pytest.raises(register.AddressFull):
        operations.enter_sheet(board, rnd, batch, codes_12[1], choice(proposals))
    # a walk-in code for the address: refused at the table (no place left) …
    walk = henk.post(
        codes_url,
        {"action": "walk_in", "postcode": "3531 AB", "house_number": "12"},
        page=codes_url,
    )
    assert walk.status_code == 409
    # … and for an address not on the register, or without one
    for data in ({"postcode": "3531 AB", "house_number": "99"}, {}):
        assert (
            henk.post(codes_url, {"action": "walk_in", **data}, page=codes_url).status_code == 422
        )
    # a walk-in code for 14 (one place), then a paper sheet for 14 is one too many
    walk = henk.post(
        codes_url,
        {"action": "walk_in", "postcode": "3531ab", "house_number": "14"},
        page=codes_url,
    )
    assert walk.status_code == 200
    walk_code = re.search(r'class="receipt"><strong>([A-Z0-9-]+)<', walk.get_data(as_text=True))
    visitor = make_client()
    assert visitor.post("/stem", {"code": walk_code.group(1)}, page="/stem").status_code == 303
    assert vote_online(visitor, url, proposals[0].id).status_code == 303
    code_14 = next(c for c, pc, nr in lines if nr == "14")
    with pytest.raises(register.AddressFull):
        operations.enter_sheet(board, rnd, batch, code_14, choice(proposals))
    # paper for 16: counts against 16, and a discarded batch gives the place back
    codes_16 = [c for c, pc, nr in lines if nr == "16"]
    operations.enter_sheet(board, rnd, batch, codes_16[0], choice(proposals))
    assert address(rnd, "3531 AB", "16").used == 1
    operations.discard_paper_batch(board2, rnd, batch, "Verkeerde stapel ingevoerd")
    assert address(rnd, "3531 AB", "16").used == 0
    db.session.expire_all()
    counted = {
        (a.house_number, a.used)
        for a in db.session.scalars(
            select(RegisterAddress).where(RegisterAddress.round_id == rnd.id)
        )
    }
    assert counted == {("12", 2), ("14", 1), ("16", 0)}
    rows = db.session.execute(
        select(Participation.address_id, func.count()).group_by(Participation.address_id)
    ).all()
    assert sorted(n for _a, n in rows) == [1, 2]


def test_an_account_on_paper_counts_against_its_address(
    west, board, make_round, make_proposal, make_user
):
    rnd, proposals = register_round(west, board, make_round, make_proposal, "3531 AB;20;1\n")
    rnd.phase = Phase.VOTING
    db.session.commit()
    batch = operations.open_paper_batch(board, rnd, "Markt", 2)
    nohouse = make_user("zonder@example.org", wijk=west)
    with pytest.raises(VotingError, match="postcode en huisnummer"):
        operations.enter_sheet(board, rnd, batch, nohouse.email, choice(proposals))
    one, two = make_user("een@example.org", wijk=west), make_user("twee@example.org", wijk=west)
    for user in (one, two):
        register.set_voting_address(user, rnd, "3531 AB", "20")
    operations.enter_sheet(board, rnd, batch, one.email, choice(proposals))
    with pytest.raises(register.AddressFull):
        operations.enter_sheet(board, rnd, batch, two.email, choice(proposals))
    with pytest.raises(register.AddressFull):
        operations.cast(rnd, choice(proposals), user=two, channel=Channel.ONLINE)
    assert participations(rnd) == 1


def test_the_register_changes_only_before_the_vote_and_is_erased_after_it(
    west, board, make_round, make_proposal, make_client
):
    rnd, _proposals = register_round(west, board, make_round, make_proposal, "3531 AB;1;2\n")
    henk = make_client()
    henk.login(board.email)
    page_url = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/adressen"
    page = henk.get(page_url).get_data(as_text=True)
    assert "1 adressen met samen 2 stemmers" in page
    # the rules page says what the rule is
    rules = henk.get(f"/wijk/{west.slug}/rondes/{rnd.id}").get_data(as_text=True)
    assert "hoogstens 2 keer" in rules
    # a file with problems: nothing changes, the problems are listed
    bad = henk.post(
        page_url,
        {"action": "upload", "register": (_file("3531 AB;1\n=cmd|calc;2\n"), "lijst.csv")},
        page=page_url,
        content_type="multipart/form-data",
    )
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Regel 2:" in body and "=cmd|calc" in body
    assert address(rnd, "3531 AB", "1").capacity == 2
    # replaced before the vote
    good = henk.post(
        page_url,
        {"action": "upload", "register": (_file("3531 AB;1\n3531 AB;3\n"), "lijst.csv")},
        page=page_url,
        content_type="multipart/form-data",
    )
    assert good.status_code == 303
    assert address(rnd, "3531 AB", "1").capacity == 1
    assert db.session.get(Round, rnd.id).register_max_votes == 1
    assert "één keer stemmen" in henk.get(f"/wijk/{west.slug}/rondes/{rnd.id}").get_data(
        as_text=True
    )
    # during the vote: neither replaced nor erased
    rnd = db.session.get(Round, rnd.id)
    rnd.phase = Phase.VOTING
    db.session.commit()
    with pytest.raises(VotingError, match="begonnen"):
        register.upload_register(board, rnd, b"3531 AB;5\n")
    late = henk.post(page_url, {"action": "erase"}, page=page_url)
    assert late.status_code == 422
    # after the count: erased, codes and participations keep no address
    operations.generate_codes(board, rnd, 1, addresses=[address(rnd, "3531 AB", "3").id], label="x")
    rnd = db.session.get(Round, rnd.id)
    rnd.phase = Phase.RESULT
    db.session.commit()
    assert henk.post(page_url, {"action": "erase"}, page=page_url).status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(RegisterAddress)) == 0
    assert db.session.scalar(select(VotingCode.address_id)) is None
    assert db.session.get(Round, rnd.id).register_max_votes == 1  # the rule it had
    assert "gewist" in henk.get(page_url).get_data(as_text=True)
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"register.upload", "register.erase"} <= actions


def test_codes_that_can_vote_stop_an_upload(west, board, make_round):
    rnd = make_round(west, Phase.REVIEW)
    operations.generate_codes(board, rnd, 2)
    with pytest.raises(VotingError, match="2 stemcodes"):
        register.upload_register(board, rnd, b"3531 AB;1\n")


def test_only_the_wijk_s_board_reaches_the_register(
    west, oost, board, make_round, make_user, make_client
):
    rnd = make_round(west, Phase.REVIEW)
    other_board = make_user("bestuur.oost@example.org", wijk=oost, roles=((Role.BOARD, oost),))
    resident = make_user("bewoner@example.org", wijk=west)
    for who, status in ((other_board, 403), (resident, 403)):
        client = make_client()
        client.login(who.email)
        url = f"/wijk/{west.slug}/bestuur/rondes/{rnd.id}/adressen"
        assert client.get(url).status_code == status
        assert client.post(url, {"action": "erase"}, page="/").status_code == status
    # the board of Oost, through its own wijk's address, finds no round of West
    client = make_client()
    client.login(other_board.email)
    assert client.get(f"/wijk/{oost.slug}/bestuur/rondes/{rnd.id}/adressen").status_code == 404
    with pytest.raises(VotingError, match="bestuur"):
        register.upload_register(other_board, rnd, b"3531 AB;1\n")


def _file(text: str):
    import io

    return io.BytesIO(text.encode())


def test_the_house_number_goes_with_the_account(west, board, make_round, make_proposal, make_user):
    rnd, _p = register_round(west, board, make_round, make_proposal, "3531 AB;12\n")
    user = make_user("weg@example.org", wijk=west)
    register.set_voting_address(user, rnd, "3531 AB", "12")
    assert db.session.get(User, user.id).house_number == "12"
    from wijkbudget.accounts.operations import delete_account

    delete_account(user, PASSWORD)
    db.session.expire_all()
    assert db.session.get(User, user.id).house_number is None
