"""Letters with voting codes from an address list (issue 21, "van deur tot deur"): the list's
reader against good and hostile files, the batch made from it (one code per voter, the same form
twice makes one), the letters of a register round and of a number of codes, the PDF read back
with pdftotext (one A4 per letter with its own code and address, the address where the
envelope's window is), the print shop's CSV, the board's pages (downloads are POSTs that the
audit log records, a GET writes nothing), printing and revoking (the addresses go), and who may
do it."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.test_get_writes_nothing import watching
from wijkbudget.accounts.models import Role
from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db
from wijkbudget.proposals.models import State
from wijkbudget.rounds.models import Eligibility, Phase
from wijkbudget.urls import external_url
from wijkbudget.voting import operations, register
from wijkbudget.voting.addresses import MAX_PROBLEMS, AddressLine, parse_register
from wijkbudget.voting.letter_content import letter_text, print_shop_csv, qr_url
from wijkbudget.voting.letters import MAX_LETTERS, parse_letters
from wijkbudget.voting.letters_pdf import (
    QR_MASK,
    WINDOW_HEIGHT,
    WINDOW_LEFT,
    WINDOW_TOP,
    WINDOW_WIDTH,
    letters_pdf,
    qr_matrix,
)
from wijkbudget.voting.models import (
    CodeBatch,
    LetterAddress,
    VotingCode,
    VotingError,
    VotingPlace,
)
from wijkbudget.voting.operations.codes import MAX_BATCH
from wijkbudget.voting.operations.letters import PART_SIZE, Letter, parts

PDFTOTEXT = shutil.which("pdftotext")
needs_pdftotext = pytest.mark.skipif(
    PDFTOTEXT is None, reason="pdftotext (poppler-utils) is not installed; .ci/run installs it"
)
HEADER = "straat;huisnummer;postcode;plaats;aantal"
STREETS = (("Kanaalstraat", "3531 AB"), ("Damstraat", "3531 AC"), ("Jan Pieterszstraat", "3531 AD"))


def address_list(count: int, *, voters: dict[int, int] | None = None) -> str:
    """``count`` addresses in three streets of Lombok (line i+2 is address i), with a header;
    ``voters``: address index → its number of voters."""
    lines = [HEADER]
    for i in range(count):
        street, postcode = STREETS[i % len(STREETS)]
        many = (voters or {}).get(i, "")
        lines.append(f"{street};{i // len(STREETS) + 1};{postcode};Utrecht;{many}")
    return "\r\n".join(lines) + "\r\n"


def pages_of(pdf: bytes) -> list[str]:
    """The PDF's text page by page, as pdftotext reads it (each run of spaces one space)."""
    text = subprocess.run(
        [PDFTOTEXT or "pdftotext", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [" ".join(page.split()) for page in text.split("\f") if page.strip()]


def words_with_boxes(pdf: bytes, page: int = 1) -> list[tuple[str, float, float, float, float]]:
    """The words of one page with their box in mm from the page's top left corner (x0, y0, x1,
    y1), from pdftotext's -bbox output."""
    html = subprocess.run(
        [PDFTOTEXT or "pdftotext", "-bbox", "-f", str(page), "-l", str(page), "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode()
    found = []
    for match in re.finditer(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
        html,
    ):
        x0, y0, x1, y1 = (float(match.group(i)) * 25.4 / 72 for i in range(1, 5))
        found.append((match.group(5), x0, y0, x1, y1))
    return found


@pytest.fixture
def letters_round(west, board, make_round, make_proposal):
    """West's round before the vote (accounts and codes), with three proposals on the ballot, a
    voting place, and voting dates."""
    rnd = make_round(west, Phase.REVIEW, title="Wijkbudget West 2027", budget=500_000)
    rnd.voting_opens = datetime(2027, 6, 1, 7, 0, tzinfo=UTC)  # 9:00 in Amsterdam
    rnd.result_opens = datetime(2027, 6, 15, 16, 0, tzinfo=UTC)
    for title, cost in (("Speeltuin", 300_000), ("Bankjes", 100_000), ("Bloembakken", 50_000)):
        make_proposal(rnd, board, State.ADMITTED, title=title, cost=cost, commit=False)
    db.session.add(
        VotingPlace(
            round_id=rnd.id,
            name="Buurthuis De Pijp",
            address="Tolstraat 10",
            opens_at=datetime(2027, 6, 5, 8, 0, tzinfo=UTC),
            closes_at=datetime(2027, 6, 5, 14, 0, tzinfo=UTC),
            note="rolstoeltoegankelijk",
        )
    )
    db.session.commit()
    assert rnd.eligibility == Eligibility.ACCOUNTS_AND_CODES
    return rnd


def letters_url(rnd) -> str:
    return f"/wijk/{rnd.neighbourhood.slug}/bestuur/rondes/{rnd.id}/brieven"


def upload(client, rnd, data: bytes | str, name: str = "adressen.csv", **fields: str) -> Any:
    """The board's upload form sent with ``data`` as the file. The body is encoded here, in
    memory (the test client spools a large one to a temporary file it never closes)."""
    raw = data.encode() if isinstance(data, str) else data
    url = letters_url(rnd)
    values = {"csrf_token": client.csrf(url), "action": "upload", **fields}
    sent = FileStorage(io.BytesIO(raw), filename=name, content_type="text/csv")
    boundary, body = encode_multipart({**values, "addresses": sent})
    return client.raw.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


@pytest.fixture
def henk(board, make_client):
    client = make_client()
    client.login(board.email)
    return client


# --- reading the list -------------------------------------------------------------------------


def test_an_excel_list_with_a_header_a_bom_and_additions(app):
    data = (
        "\ufeffStraat;Huisnummer;Postcode;Woonplaats;Aantal\r\n"
        "Kanaalstraat;12a;3531ab;Utrecht;2\r\n"
        "Kanaalstraat;12-2;3531 AB;;\r\n\r\n"
        "'s-Gravenstraat;7 hs;3531AC;Utrecht;1\r\n"
    )
    parsed = parse_letters(data.encode())
    assert parsed.problems == []
    assert [(x.street, x.house_number, x.postcode, x.city, x.capacity) for x in parsed.lines] == [
        ("Kanaalstraat", "12A", "3531 AB", "Utrecht", 2),
        ("Kanaalstraat", "12-2", "3531 AB", None, 1),
        ("'s-Gravenstraat", "7-HS", "3531 AC", "Utrecht", 1),
    ]
    assert parsed.letters == 4


def test_commas_windows_1252_columns_in_any_order_and_no_header(app):
    data = "postcode,plaats,huisnummer,straat\n3531 AB,Utrecht,3,Hoogstraat\n"
    parsed = parse_letters(data.encode("cp1252"))
    assert [(x.street, x.house_number) for x in parsed.lines] == [("Hoogstraat", "3")]
    # a BAG export: the letter and the addition in columns of their own; é in Windows-1252
    bag = (
        "straat\thuisnummer\thuisletter\ttoevoeging\tpostcode\n"
        "Rué\t12\tB\t\t3531AB\nRué\t12\t\t2\t3531AB\n"
    )
    parsed = parse_letters(bag.encode("cp1252"))
    assert [(x.street, x.house_number) for x in parsed.lines] == [("Rué", "12B"), ("Rué", "12-2")]
    # without a header: street, number, postcode, place, voters
    parsed = parse_letters(b"Kanaalstraat;12;3531AB;Utrecht;3\nKanaalstraat;14;3531AB\n")
    assert [(x.house_number, x.city, x.capacity) for x in parsed.lines] == [
        ("12", "Utrecht", 3),
        ("14", None, 1),
    ]


def test_a_number_where_the_place_goes_asks_for_a_header(app):
    parsed = parse_letters(b"Kanaalstraat;12;3531AB;3\n")
    assert not parsed.lines
    assert "kolom van de plaats" in parsed.problems[0] and "straat;huisnummer" in parsed.problems[0]


def test_mistakes_are_named_line_by_line_and_nothing_is_read(app):
    lines = [HEADER]
    lines += ['=HYPERLINK("http://evil.example","klik");1;3531 AB;Utrecht;']  # 2: formula
    lines += ["Kanaalstraat;=1+1;3531 AB;;"]  # 3: no number
    lines += ["Kanaalstraat;2;0531 AB;;"]  # 4: no postcode
    lines += ["Kanaalstraat;3;3531 AB;@SUM(A1);"]  # 5: a formula as the place
    lines += ["Kanaalstraat;4;3531 AB;;101"]  # 6: too many voters
    lines += ["Kanaalstraat;5;3531 AB;;0"]  # 7: no voters
    lines += ["Kanaalstraat;6;3531 AB;;", "Kanaalstraat;6;3531ab;;"]  # 9: twice
    lines += [";7;3531 AB;;"]  # 10: no street
    lines += ["Kanaalstraat;8;3531 AB;;"]  # fine
    parsed = parse_letters("\n".join(lines).encode())
    assert [x.house_number for x in parsed.lines] == ["6", "8"]
    assert parsed.problem_count == 8
    assert [p.split(":")[0] for p in parsed.problems] == [
        f"Regel {n}" for n in (2, 3, 4, 5, 6, 7, 9, 10)
    ]
    by_line = {int(p.split(":")[0].removeprefix("Regel ")): p for p in parsed.problems}
    assert "geen straatnaam" in by_line[2] and "=HYPERLINK" in by_line[2]
    assert "geen huisnummer" in by_line[3]
    assert "geen postcode" in by_line[4]
    assert "geen plaatsnaam" in by_line[5]
    assert "geen aantal stemmers" in by_line[6] and "geen aantal stemmers" in by_line[7]
    assert "staat al op regel 8" in by_line[9]
    assert "straat ontbreekt" in by_line[10]
    # many mistakes: the first twenty are named, all are counted
    many = parse_letters(("\n".join(f"Kanaalstraat;x{i};3531AB" for i in range(500))).encode())
    assert len(many.problems) == MAX_PROBLEMS and many.problem_count == 500


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "geen adressen"),
        (b"\n\n;;\n", "geen adressen"),
        (HEADER.encode() + b"\n", "geen adressen"),
        (b"\x00\x01\x02binary", "geen tekst"),
        (b"\x81\x8d\x8f\x90\x9d", "geen tekst"),  # neither UTF-8 nor Windows-1252
        (b"postcode;huisnummer\n3531 AB;12\n", "noem de kolommen 'straat'"),  # a register file
        (b'Kanaalstraat;"12;3531AB\n', "kan niet gelezen"),  # an unclosed quote
        (b"x" * (5 * 1024 * 1024 + 1), "groter dan 5 MB"),
        (b"a" * 1_000_000 + b"\n", "kan niet gelezen"),  # a line of a million characters
        (b"Kanaalstraat;1;3531AB;" + b"U" * 100_000 + b"\n", "geen plaatsnaam"),
        (b"a;" * 400_000 + b"\n", "geen postcode"),  # a line of 400,000 cells
    ],
)
def test_files_that_are_no_address_list(app, data, message):
    parsed = parse_letters(data)
    assert not parsed.lines and parsed.problem_count
    assert any(message in p for p in parsed.problems), parsed.problems


def test_the_caps_on_addresses_and_letters(app):
    rows = "\n".join(f"Kanaalstraat;{i};3531 AB" for i in range(1, 50_002))
    parsed = parse_letters(f"{HEADER}\n{rows}".encode())
    assert parsed.problem_count and "meer dan 50000 adressen" in parsed.problems[-1]
    rows = "\n".join(f"Kanaalstraat;{i};3531 AB;;100" for i in range(1, 202))
    parsed = parse_letters(f"{HEADER}\n{rows}".encode())
    assert "20100 brieven" in parsed.problems[-1] and "hoogstens 20000" in parsed.problems[-1]
    # the most letters one list makes is the largest batch of codes
    assert MAX_LETTERS == MAX_BATCH


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=2000))
def test_any_bytes_give_addresses_or_problems_and_never_an_error(app, data):
    parsed = parse_letters(data)
    assert parsed.lines or parsed.problem_count
    for line in parsed.lines:
        assert line.street and not line.street.startswith(("=", "+", "-", "@"))


def test_the_register_file_may_name_the_street_and_the_place(app):
    data = (
        "postcode;huisnummer;straat;plaats;aantal\n3531AB;12;Kanaalstraat;Utrecht;2\n3531AB;14;;;\n"
    )
    parsed = parse_register(data.encode())
    assert parsed.problems == []
    assert [(x.street, x.city, x.capacity) for x in parsed.lines] == [
        ("Kanaalstraat", "Utrecht", 2),
        (None, None, 1),
    ]
    # without a header the register's columns stay what they were
    parsed = parse_register(b"3531AB;12;2\n")
    assert [(x.house_number, x.capacity, x.street) for x in parsed.lines] == [("12", 2, None)]
    refused = parse_register(b"postcode;huisnummer;straat\n3531AB;12;=cmd|' /C calc'!A0\n")
    assert refused.problem_count == 1 and "geen straatnaam" in refused.problems[0]


# --- the batch ----------------------------------------------------------------------------------


def test_a_list_makes_one_code_per_voter_and_the_same_form_twice_makes_one_batch(
    letters_round, board
):
    parsed = parse_letters(address_list(5, voters={1: 3}).encode())
    batch = operations.make_letters(board, letters_round, parsed.lines, form_token="t1")
    assert batch.size == 7
    again = operations.make_letters(board, letters_round, parsed.lines, form_token="t1")
    assert again.id == batch.id
    assert db.session.scalar(select(func.count(CodeBatch.id))) == 1
    assert db.session.scalar(select(func.count(VotingCode.id))) == 7
    rows = db.session.scalars(select(LetterAddress).order_by(LetterAddress.position)).all()
    assert [(r.house_number, r.voters, r.first_code) for r in rows] == [
        ("1", 1, 0),
        ("1", 3, 1),
        ("1", 1, 4),
        ("2", 1, 5),
        ("2", 1, 6),
    ]
    letters = operations.show_letters(board, letters_round, batch, file="pdf")
    assert [letter.code for letter in letters] == operations.batch_codes(batch)
    assert [(x.street, x.voter, x.voters) for x in letters[1:4]] == [
        ("Damstraat", i, 3) for i in (1, 2, 3)
    ]
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["codes.generate", "letters.make", "letters.shown"]
    shown = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "letters.shown"))
    assert shown.after == "bestand=pdf, brieven=7"
    assert not any(letter.code in str(shown.after) for letter in letters)  # no code in the log


def test_printing_or_revoking_a_batch_deletes_its_addresses(letters_round, board):
    lines = parse_letters(address_list(3).encode()).lines
    printed = operations.make_letters(board, letters_round, lines)
    revoked = operations.make_letters(board, letters_round, lines)
    assert db.session.scalar(select(func.count(LetterAddress.id))) == 6
    assert operations.mark_printed(board, printed, letters_round)
    assert operations.revoke_batch(board, revoked, letters_round)
    assert db.session.scalar(select(func.count(LetterAddress.id))) == 0
    for batch in (printed, revoked):
        with pytest.raises(VotingError):
            operations.show_letters(board, letters_round, batch, file="pdf")
    assert (
        db.session.scalar(
            select(func.count(VotingCode.id)).where(VotingCode.revoked_at.is_not(None))
        )
        == 3
    )


def test_no_letters_from_a_list_where_the_rules_or_the_register_say_no(
    letters_round, board, make_round, west
):
    lines = [AddressLine("3531 AB", "1", 1, "Kanaalstraat")]
    letters_round.eligibility = Eligibility.ACCOUNTS
    db.session.commit()
    with pytest.raises(VotingError, match="alleen met een account"):
        operations.make_letters(board, letters_round, lines)
    letters_round.eligibility = Eligibility.CODES
    db.session.commit()
    register.upload_register(board, letters_round, b"3531 AB;1\n")
    with pytest.raises(VotingError, match="Maak de brieven uit de adressenlijst"):
        operations.make_letters(board, letters_round, lines)
    closed = make_round(west, Phase.RESULT)
    with pytest.raises(VotingError, match="voorbij"):
        operations.make_letters(board, closed, lines)
    assert db.session.scalar(select(func.count(CodeBatch.id))) == 0
    assert db.session.scalar(select(func.count(LetterAddress.id))) == 0


# --- the PDF ------------------------------------------------------------------------------------


@needs_pdftotext
def test_200_addresses_make_200_letters_each_with_its_own_code_and_address(
    app, letters_round, board
):
    lines = parse_letters(address_list(200).encode()).lines
    batch = operations.make_letters(board, letters_round, lines)
    letters = operations.show_letters(board, letters_round, batch, file="pdf")
    with app.test_request_context():
        pdf = letters_pdf(letters, letter_text(letters_round.neighbourhood, letters_round))
    pages = pages_of(pdf)
    assert len(pages) == 200
    codes = operations.batch_codes(batch)
    assert len(set(codes)) == 200
    for i, (page, code, line) in enumerate(zip(pages, codes, lines, strict=True)):
        assert code in page, i
        assert sum(c in page for c in codes) == 1  # its own code, no other
        assert f"{line.street} {line.house_number}" in page and "3531 A" in page
        assert "UTRECHT" in page
    first = pages[0]
    assert "Je stem telt: kies mee over Wijkbudget West 2027" in first
    assert "geen account nodig" in first
    assert "van dinsdag 1 juni 2027, 9:00 uur" in first  # Amsterdam time, Dutch words
    assert "tot dinsdag 15 juni 2027, 18:00 uur" in first
    assert "Speeltuin (€ 3.000)" in first and "Bloembakken (€ 500)" in first
    assert "Buurthuis De Pijp, Tolstraat 10: zaterdag 5 juni, van 10:00 tot 16:00 uur" in first
    assert "wijkbudget.test/stem" in first
    assert "Liever op papier?" in first


@needs_pdftotext
def test_the_address_sits_in_the_window_and_nothing_else_does(app, letters_round, board):
    lines = parse_letters(address_list(1).encode()).lines
    batch = operations.make_letters(board, letters_round, lines)
    letters = operations.show_letters(board, letters_round, batch, file="pdf")
    with app.test_request_context():
        pdf = letters_pdf(letters, letter_text(letters_round.neighbourhood, letters_round))
    words = words_with_boxes(pdf)
    address = [w for w in words if w[0] in {"Kanaalstraat", "3531", "UTRECHT", "bewoners"}]
    assert len(address) == 4
    for _word, x0, y0, x1, y1 in address:
        assert x0 >= WINDOW_LEFT - 0.5 and x1 <= WINDOW_LEFT + WINDOW_WIDTH
        assert y0 >= WINDOW_TOP - 0.5 and y1 <= WINDOW_TOP + WINDOW_HEIGHT
    # in the window's band and the left 125 mm only the sender's line and the address
    in_band = {w[0] for w in words if 40 <= w[2] <= 95 and w[1] < 125}
    assert in_band <= {"Afzender:", "het", "bestuur", "van", "wijk", "West", "Aan", "de",
                       "bewoners", "Kanaalstraat", "1", "3531", "AB", "UTRECHT"}  # fmt: skip
    code = letters[0].code
    [(_w, _x0, code_top, _x1, _y1)] = [w for w in words if w[0] == code]
    assert code_top > 100  # well below the window, in the folded letter's middle third


@needs_pdftotext
def test_several_voters_at_an_address_get_a_letter_each(app, letters_round, board):
    lines = parse_letters(address_list(2, voters={0: 3}).encode()).lines
    batch = operations.make_letters(board, letters_round, lines)
    letters = operations.show_letters(board, letters_round, batch, file="pdf")
    with app.test_request_context():
        pages = pages_of(
            letters_pdf(letters, letter_text(letters_round.neighbourhood, letters_round))
        )
    assert len(pages) == 4
    assert [("Kanaalstraat 1" in p, "Damstraat 1" in p) for p in pages] == [(True, False)] * 3 + [
        (False, True)
    ]
    for n in (1, 2, 3):
        assert f"Brief {n} van 3 voor dit adres" in pages[n - 1]
    assert "Brief" not in pages[3].split("Jouw stemcode")[1].split("Scan")[0]


@needs_pdftotext
def test_a_register_rounds_letters_come_from_the_register(app, letters_round, board, henk):
    data = (
        "postcode;huisnummer;straat;plaats;aantal\n"
        "3531AB;12;Kanaalstraat;Utrecht;2\n3531AB;14;;;1\n"
    )
    register.upload_register(board, letters_round, data.encode())
    url = letters_url(letters_round)
    page = henk.get(url).get_data(as_text=True)
    assert "Brieven maken uit de adressenlijst" in page and 'name="addresses"' not in page
    refused = upload(henk, letters_round, address_list(2))
    assert (
        refused.status_code == 422
        and "Maak de brieven uit de adressenlijst" in refused.get_data(as_text=True)
    )
    made = henk.post(url, {"action": "from_register"}, page=url)
    assert made.status_code == 303
    batch = db.session.scalar(select(CodeBatch))
    assert made.headers["Location"].endswith(f"/brieven/{batch.id}")
    assert "3 brieven voor 2 adressen uit de adressenlijst van de ronde" in henk.get(
        made.headers["Location"]
    ).get_data(as_text=True)
    pdf = henk.post(f"{url}/{batch.id}.pdf", page=url)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    pages = pages_of(pdf.data)
    assert len(pages) == 3
    codes = operations.batch_codes(batch)
    by_code = {c: next(p for p in pages if c in p) for c in codes}
    at_12 = [c for c, p in by_code.items() if "Kanaalstraat 12" in p and "3531 AB UTRECHT" in p]
    at_14 = [c for c, p in by_code.items() if "3531 AB" in p and "Kanaalstraat" not in p]
    assert len(at_12) == 2 and len(at_14) == 1
    # each code is the one of its address in the register
    address_12 = register.find_address(letters_round.id, "3531 AB", "12")
    assert {c for c in at_12} == {
        c for c in codes if register.batch_addresses(batch, [c]) == [("3531 AB", "12")]
    }
    assert address_12.street == "Kanaalstraat" and address_12.city == "Utrecht"


@needs_pdftotext
def test_letters_for_a_number_of_codes_go_to_the_residents(app, letters_round, henk):
    url = letters_url(letters_round)
    made = henk.post(url, {"action": "count", "count": "3", "label": ""}, page=url)
    assert made.status_code == 303
    batch = db.session.scalar(select(CodeBatch))
    assert batch.label == "Brieven aan de bewoners"
    pages = pages_of(henk.post(f"{url}/{batch.id}.pdf", page=url).data)
    assert len(pages) == 3
    assert all("Aan de bewoners Wijk West" in p for p in pages)


@needs_pdftotext
def test_many_proposals_and_places_are_cut_short_with_where_to_read_on(
    app, letters_round, board, make_proposal
):
    for i in range(20):
        make_proposal(letters_round, board, State.ADMITTED, title=f"Plan {i}", commit=False)
    for day in range(10):
        opens = datetime(2027, 6, 2 + day, 8, 0, tzinfo=UTC)
        db.session.add(
            VotingPlace(
                round_id=letters_round.id, name=f"Kraam {day}", address="Markt 1",
                opens_at=opens, closes_at=opens + timedelta(hours=2),
            )
        )  # fmt: skip
    db.session.commit()
    batch = operations.generate_codes(board, letters_round, 1)
    letters = operations.show_letters(board, letters_round, batch, file="pdf")
    with app.test_request_context():
        [page] = pages_of(
            letters_pdf(letters, letter_text(letters_round.neighbourhood, letters_round))
        )
    named = re.findall(r"• (?:Speeltuin|Bankjes|Bloembakken|Plan \d+) \(", page)
    more = re.search(r"En nog (\d+) voorstellen: zie wijkbudget.test/wijk/west/rondes/\d+", page)
    assert more and len(named) + int(more.group(1)) == 23
    places = re.search(r"En nog (\d+) stemlocaties", page)
    assert places and page.count("Markt 1") + int(places.group(1)) == 10


def test_the_qr_code_opens_the_code_page_with_the_code_filled_in(app):
    with app.test_request_context():
        url = qr_url(external_url("voting.enter_code"), "K7QF-2MXP-9TRA")
        assert url == external_url("voting.enter_code", code="K7QF-2MXP-9TRA")
    assert url == "http://wijkbudget.test/stem?code=K7QF-2MXP-9TRA"
    import segno

    reference = segno.make(url, error="m", micro=False, mask=QR_MASK)
    assert qr_matrix(url) == reference.matrix
    assert reference.error == "M" and reference.mask == QR_MASK


def test_the_print_shops_csv_has_a_row_per_letter_and_no_live_formula(app):
    letters = [
        Letter("K7QF-2MXP-9TRA", '=HYPERLINK("http://x")', "1", "3531 AB", "Utrecht", 1, 2),
        Letter("AAAA-BBBB-CCCC"),
    ]
    table = print_shop_csv(letters, "http://wijkbudget.test/stem").splitlines()
    assert (
        table[0] == "volgnummer,straat,huisnummer,postcode,plaats,stemcode,qr_adres,brief_van_adres"
    )
    assert table[1].startswith('1,"\'=HYPERLINK(""http://x"")",1,3531 AB,Utrecht,K7QF-2MXP-9TRA,')
    assert "http://wijkbudget.test/stem?code=K7QF-2MXP-9TRA,1 van 2" in table[1]
    assert (
        table[2] == "2,,,,,AAAA-BBBB-CCCC,http://wijkbudget.test/stem?code=AAAA-BBBB-CCCC,1 van 1"
    )


# --- the board's pages ----------------------------------------------------------------------------


@needs_pdftotext
def test_the_board_uploads_200_addresses_and_downloads_the_pdf_and_the_csv(letters_round, henk):
    url = letters_url(letters_round)
    made = upload(henk, letters_round, address_list(200), label="Lombok")
    assert made.status_code == 303
    batch = db.session.scalar(select(CodeBatch))
    assert batch.label == "Lombok" and batch.size == 200
    page = henk.get(made.headers["Location"]).get_data(as_text=True)
    assert "200 brieven gemaakt" in page and "200 brieven voor 200 adressen" in page
    assert "Kanaalstraat 1, 3531 AB Utrecht" in page  # the first addresses, to check the file
    codes = operations.batch_codes(batch)
    assert not any(code in page for code in codes)  # a GET shows no code
    # the downloads are forms: a GET is not allowed (showing codes is logged)
    assert henk.get(f"{url}/{batch.id}.pdf").status_code == 405
    assert henk.get(f"{url}/{batch.id}/drukker.csv").status_code == 405
    pdf = henk.post(f"{url}/{batch.id}.pdf", page=url)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Cache-Control"] == "no-store"
    assert (
        f'filename="brieven-west-{letters_round.id}-{batch.id}.pdf"'
        in pdf.headers["Content-Disposition"]
    )
    pages = pages_of(pdf.data)
    assert len(pages) == 200 and all(code in page for code, page in zip(codes, pages, strict=True))
    csv = henk.post(f"{url}/{batch.id}/drukker.csv", page=url)
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    rows = csv.get_data(as_text=True).splitlines()
    assert len(rows) == 201 and rows[1].split(",")[1:6] == [
        "Kanaalstraat", "1", "3531 AB", "Utrecht", codes[0],
    ]  # fmt: skip
    shown = db.session.scalars(
        select(AuditEvent.after).where(AuditEvent.action == "letters.shown").order_by(AuditEvent.id)
    ).all()
    assert shown == ["bestand=pdf, brieven=200", "bestand=csv, brieven=200"]


def test_a_list_with_mistakes_makes_nothing_and_says_what_line_by_line(letters_round, henk):
    data = (
        address_list(3) + '=HYPERLINK("http://evil.example");9;3531 AB;;\nKanaalstraat;1;3531AB;;\n'
    )
    refused = upload(henk, letters_round, data)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Er zijn geen brieven gemaakt: er staan fouten in het bestand." in body
    # each problem by its line; the formula only quoted, as text (escaped)
    assert "Regel 5: &#39;=HYPERLINK(&#34;http://e…&#39; is geen straatnaam" in body
    assert "Regel 6: 3531 AB 1 staat al op regel 2." in body
    assert db.session.scalar(select(func.count(CodeBatch.id))) == 0


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"\x00\xff\xfe" * 1000, 422, "geen tekst"),
        (b"Kanaalstraat;1;3531AB;" + b"x" * 1_000_000 + b"\n", 422, "kan niet gelezen"),
        (b"x" * (5 * 1024 * 1024 + 10), 422, "groter dan 5 MB"),
        (b"", 422, "Kies eerst het bestand"),
    ],
)
def test_hostile_uploads_get_a_dutch_4xx(letters_round, henk, data, status, message):
    response = upload(henk, letters_round, data, name="adressen.csv" if data else "")
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(CodeBatch.id))) == 0


def test_a_file_beyond_the_request_limit_is_refused_before_it_is_read(letters_round, henk):
    response = upload(henk, letters_round, b"x" * (17 * 1024 * 1024))
    assert response.status_code == 413


def test_a_double_click_on_make_letters_makes_one_batch(letters_round, henk):
    url = letters_url(letters_round)
    token = re.search(r'name="form_token" value="([^"]+)"', henk.get(url).get_data(as_text=True))
    first = upload(henk, letters_round, address_list(4), form_token=token.group(1))
    second = upload(henk, letters_round, address_list(4), form_token=token.group(1))
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count(CodeBatch.id))) == 1
    assert db.session.scalar(select(func.count(LetterAddress.id))) == 4


def test_printed_then_nothing_shows_the_codes_and_the_addresses_are_gone(letters_round, henk):
    url = letters_url(letters_round)
    assert upload(henk, letters_round, address_list(3)).status_code == 303
    batch = db.session.scalar(select(CodeBatch))
    here = f"{url}/{batch.id}"
    printed = henk.post(here, {"action": "printed"}, page=here)
    assert printed.status_code == 303
    assert db.session.scalar(select(func.count(LetterAddress.id))) == 0
    page = henk.get(here).get_data(as_text=True)
    assert "Deze brieven zijn gedrukt." in page and "Download PDF" not in page
    assert henk.post(f"{here}.pdf", page=url).status_code == 410
    assert henk.post(f"{here}/drukker.csv", page=url).status_code == 410
    assert henk.post(here, {"action": "printed"}, page=here).status_code == 303  # twice: no more
    assert db.session.scalars(select(AuditEvent.action)).all().count("codes.printed") == 1
    # still listed on the codes page, no longer on the letters page
    assert f"{url}/{batch.id}" not in henk.get(url).get_data(as_text=True)


def test_revoking_asks_first_then_the_codes_stop(letters_round, henk):
    url = letters_url(letters_round)
    assert upload(henk, letters_round, address_list(3)).status_code == 303
    batch = db.session.scalar(select(CodeBatch))
    confirm = henk.get(f"{url}/{batch.id}/intrekken")
    body = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Weet je het zeker?" in body and "3 codes" in body
    assert db.session.scalar(select(CodeBatch.revoked_at)) is None  # asking changed nothing
    done = henk.post(f"{url}/{batch.id}/intrekken", page=url)
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/brieven/{batch.id}")
    db.session.expire_all()
    assert db.session.scalar(select(CodeBatch.revoked_at)) is not None
    assert db.session.scalar(select(func.count(LetterAddress.id))) == 0
    assert "zijn ingetrokken op" in henk.get(done.headers["Location"]).get_data(as_text=True)
    assert henk.post(f"{url}/{batch.id}.pdf", page=url).status_code == 410


def test_a_large_batch_is_downloaded_in_parts(letters_round, board, henk):
    batch = operations.generate_codes(board, letters_round, PART_SIZE + 3)
    assert parts(batch) == 2
    url = letters_url(letters_round)
    page = henk.get(f"{url}/{batch.id}").get_data(as_text=True)
    assert f"Download PDF, deel 2 (brieven {PART_SIZE + 1} tot en met {PART_SIZE + 3})" in page
    response = henk.post(f"{url}/{batch.id}.pdf", {"part": "2"}, page=url)
    assert response.status_code == 200 and "-deel-2.pdf" in response.headers["Content-Disposition"]
    if PDFTOTEXT:
        pages = pages_of(response.data)
        assert len(pages) == 3 and operations.batch_codes(batch)[-1] in pages[-1]
    assert henk.post(f"{url}/{batch.id}.pdf", {"part": "3"}, page=url).status_code == 410


def test_an_accounts_round_says_its_rules_must_allow_codes_first(letters_round, henk):
    letters_round.eligibility = Eligibility.ACCOUNTS
    db.session.commit()
    url = letters_url(letters_round)
    page = henk.get(url).get_data(as_text=True)
    assert "In deze ronde stem je alleen met een account" in page
    assert 'name="addresses"' not in page and 'value="count"' not in page
    refused = henk.post(url, {"action": "count", "count": "3"}, page=url)
    assert refused.status_code == 422 and "met een account of met een stemcode" in refused.get_data(
        as_text=True
    )
    assert db.session.scalar(select(func.count(CodeBatch.id))) == 0


def test_the_pages_link_to_the_letters(letters_round, henk):
    url = letters_url(letters_round)
    wijk = letters_round.neighbourhood.slug
    for page in (
        f"/wijk/{wijk}/rondes/{letters_round.id}",
        f"/wijk/{wijk}/bestuur/rondes/{letters_round.id}/stemcodes",
    ):
        assert f'href="{url}"' in henk.get(page).get_data(as_text=True), page


def test_a_get_writes_nothing(letters_round, board, henk):
    lines = parse_letters(address_list(3).encode()).lines
    batch = operations.make_letters(board, letters_round, lines)
    url = letters_url(letters_round)
    for page in (url, f"{url}/{batch.id}", f"{url}/{batch.id}/intrekken"):
        with watching() as watch:
            assert henk.get(page).status_code == 200
        assert watch.writes() == [] and watch.flushes == [], page


def test_who_may_make_and_see_letters(
    letters_round, board, oost, make_user, make_round, make_client, henk
):
    lines = parse_letters(address_list(2).encode()).lines
    batch = operations.make_letters(board, letters_round, lines)
    url = letters_url(letters_round)
    other_board = make_user("bestuur.oost@example.org", wijk=oost, roles=((Role.BOARD, oost),))
    resident = make_user("bewoner@example.org", wijk=letters_round.neighbourhood)
    for person in (other_board, resident):
        client = make_client()
        client.login(person.email)
        for page in (url, f"{url}/{batch.id}", f"{url}/{batch.id}/intrekken"):
            assert client.get(page).status_code == 403, (person.email, page)
        for action in (f"{url}/{batch.id}.pdf", f"{url}/{batch.id}/drukker.csv", url):
            assert (
                client.post(action, {"action": "count", "count": "1"}, page="/").status_code == 403
            )
    anonymous = make_client()
    assert "/inloggen" in anonymous.get(url).headers["Location"]
    # Oost's board under its own wijk's address: West's round is not found there
    client = make_client()
    client.login(other_board.email)
    foreign = f"/wijk/{oost.slug}/bestuur/rondes/{letters_round.id}/brieven"
    assert client.get(foreign).status_code == 404
    assert client.post(f"{foreign}/{batch.id}.pdf", page="/").status_code == 404
    # a batch of another round of West's under this round: not found
    other = operations.generate_codes(board, make_round(letters_round.neighbourhood), 1)
    assert henk.get(f"{url}/{other.id}").status_code == 404
    assert henk.post(f"{url}/{other.id}.pdf", page=url).status_code == 404
    assert db.session.scalars(select(AuditEvent.action)).all().count("letters.shown") == 0
