"""Bounded uploads (issue 18, point 8): a decompression bomb is refused before it is decoded, a
broken or hostile PDF is a 422 (never a 500), normal photos and PDFs still go in, and every
form field has a size limit."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image
from pypdf import PdfWriter
from sqlalchemy import func, select

from tests.test_spending import last_expense, pdf_bytes, png_bytes, record, world  # noqa: F401
from wijkbudget import images
from wijkbudget.errors import DomainError
from wijkbudget.extensions import db
from wijkbudget.proposals.models import ProposalImage
from wijkbudget.proposals.models import State as ProposalState
from wijkbudget.spending import receipts
from wijkbudget.spending.models import Expense


def png(width: int, height: int, *, colour_type: int = 0) -> bytes:
    """A real, complete PNG of zeros (greyscale by default), compressed as far as zlib goes,
    written row by row so the test never holds its pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    channels = {0: 1, 2: 3}[colour_type]
    packer = zlib.compressobj(9)
    row = b"\0" * (1 + width * channels)  # filter byte + pixels
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def bomb() -> bytes:
    """About 40 KB that would decode to 40 million pixels (and ~160 MB once made RGB): under
    the old limit of 40 million pixels, so it was decoded in full before."""
    data = png(6300, 6300)
    assert len(data) < 60 * 1024
    return data


# --- the decompression bomb ------------------------------------------------------------------


@pytest.fixture
def proposal_of(make_wijk, make_user, make_round, make_proposal):
    west = make_wijk("West")
    fatima = make_user("fatima@example.org", wijk=west)
    rnd = make_round(west)
    return fatima, make_proposal(rnd, fatima, ProposalState.SUBMITTED)


def upload_photo(client, proposal, data: bytes):
    url = f"/voorstellen/{proposal.id}"
    return client.post(
        f"{url}/fotos",
        {"photo": (io.BytesIO(data), "foto.png"), "alt": "De straat nu"},
        page=url,
        content_type="multipart/form-data",
    )


def test_a_decompression_bomb_is_refused_as_a_proposal_photo(client, proposal_of):
    fatima, proposal = proposal_of
    client.login(fatima.email)
    response = upload_photo(client, proposal, bomb())
    assert response.status_code == 422
    assert "te veel pixels" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ProposalImage.id))) == 0
    # a normal photo still goes in
    ok = upload_photo(client, proposal, png(800, 600, colour_type=2))
    assert ok.status_code == 303


def test_a_decompression_bomb_is_refused_as_a_receipt(world, make_client):  # noqa: F811
    _wijk, _other, _rnd, _people, projects = world
    initiator = make_client()
    initiator.login("initiatief@example.org")
    response = record(initiator, projects["Bankjes"], receipt=(io.BytesIO(bomb()), "bon.png"))
    assert response.status_code == 422
    assert "te veel pixels" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Expense.id))) == 0
    ok = record(initiator, projects["Bankjes"], receipt=(io.BytesIO(png_bytes()), "bon.png"))
    assert ok.status_code == 303


def test_pillow_refuses_a_bomb_in_this_process_whoever_opens_it(app):
    assert Image.MAX_IMAGE_PIXELS == images.MAX_FILE_PIXELS
    with pytest.raises((Image.DecompressionBombError, Image.DecompressionBombWarning)):
        Image.open(io.BytesIO(png(9000, 8000)))


def test_a_big_camera_jpeg_is_decoded_at_a_smaller_scale(app):
    """More pixels than are ever decoded, but a JPEG: decoded at 1/2 (draft), so it goes in."""
    width, height = 4800, 3600  # 17.3 million pixels > MAX_DECODED_PIXELS
    assert width * height > images.MAX_DECODED_PIXELS
    out = io.BytesIO()
    Image.new("RGB", (width, height), "green").save(out, "JPEG", quality=50)
    processed = images.process_upload(io.BytesIO(out.getvalue()))
    assert (processed.width, processed.height) == (images.MAX_SIDE, 1500)


# --- hostile and broken PDFs -----------------------------------------------------------------


def pdf_of(objects: list[bytes]) -> bytes:
    """A PDF from its objects (numbered from 1, the first is the catalogue), classic xref."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"


def written(pages: int = 1, *, password: str | None = None, owner_only: bool = False) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    if password is not None:
        writer.encrypt("" if owner_only else password, owner_password=password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def many_pages(count: int) -> bytes:
    kids = b" ".join(b"%d 0 R" % (n + 3) for n in range(count))
    return pdf_of(
        [CATALOG, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count)] + [PAGE] * count
    )


def fan_out(levels: int = 40) -> bytes:
    """Each level of the page tree names the next one twice: 2**40 pages without a cycle."""
    nodes = [
        b"<< /Type /Pages /Kids [%d 0 R %d 0 R] /Count 2 >>" % (n + 3, n + 3) for n in range(levels)
    ]
    return pdf_of([CATALOG, *nodes, b"<< /Type /Page /MediaBox [0 0 1 1] >>"])


def reference_chain(length: int = 100) -> bytes:
    """A chain of references to references (pypdf answered this with an AttributeError)."""
    chain = [b"%d 0 R" % (n + 3) for n in range(length)]
    return pdf_of(
        [b"<< /Type /Catalog /Pages 2 0 R >>", *chain, b"<< /Type /Pages /Kids [] /Count 0 >>"]
    )


HOSTILE = {
    "truncated": lambda: written()[:300],
    "garbage after %PDF": lambda: b"%PDF-1.7\n" + bytes(range(256)) * 4000,
    "only a header": lambda: b"%PDF-1.4 not really",
    "a password to open it": lambda: written(password="geheim"),
    "no pages": lambda: pdf_of([CATALOG, b"<< /Type /Pages /Kids [] /Count 0 >>"]),
    "a huge page count": lambda: many_pages(5000),
    "a page count that lies": lambda: pdf_of(
        [CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 2000000000 >>", PAGE]
    ),
    "a page tree that fans out": fan_out,
    "a page tree in a cycle": lambda: pdf_of(
        [CATALOG, b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 1 >>", PAGE]
    ),
    "nested arrays": lambda: pdf_of(
        [b"<< /Type /Catalog /Pages 2 0 R /X " + b"[" * 100_000 + b"]" * 100_000 + b" >>"]
    ),
    "a chain of references": reference_chain,
}


@pytest.mark.parametrize("kind", [k for k in HOSTILE if k != "a page count that lies"])
def test_hostile_and_broken_pdfs_are_refused(app, kind):
    with pytest.raises(DomainError) as refused:
        receipts.check_upload(io.BytesIO(HOSTILE[kind]()))
    assert refused.value.status == 422


def test_the_messages_say_what_is_wrong(app):
    def message(data: bytes) -> str:
        with pytest.raises(DomainError) as refused:
            receipts.check_upload(io.BytesIO(data))
        return refused.value.message

    assert "wachtwoord" in message(written(password="geheim"))
    assert "te veel pagina's" in message(many_pages(receipts.MAX_PDF_PAGES + 1))
    assert "geen bon of factuur" in message(written()[:300])


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(written(), id="one page"),
        pytest.param(written(receipts.MAX_PDF_PAGES), id="the most pages"),
        pytest.param(written(password="eigenaar", owner_only=True), id="owner password only"),
    ],
)
def test_normal_pdfs_are_accepted(app, data):
    checked = receipts.check_upload(io.BytesIO(data))
    assert checked.content_type == "application/pdf" and checked.data == data


def test_a_hostile_pdf_through_the_form_is_a_422_and_a_normal_one_goes_in(
    world,  # noqa: F811
    make_client,
):
    _wijk, _other, _rnd, _people, projects = world
    initiator = make_client()
    initiator.login("initiatief@example.org")
    for kind in ("a chain of references", "a page tree that fans out", "a password to open it"):
        data = HOSTILE[kind]()
        response = record(initiator, projects["Bankjes"], receipt=(io.BytesIO(data), "bon.pdf"))
        assert response.status_code == 422, kind
    assert db.session.scalar(select(func.count(Expense.id))) == 0
    ok = record(initiator, projects["Bankjes"], receipt=(io.BytesIO(pdf_bytes()), "bon.pdf"))
    assert ok.status_code == 303
    assert last_expense().receipt_type == "application/pdf"


# --- every form field has a size limit -------------------------------------------------------


def test_a_form_without_a_file_is_capped_far_below_the_upload_limit(app, client):
    limit = app.config["FORM_MAX_BYTES"]
    assert limit < app.config["MAX_CONTENT_LENGTH"]
    token = client.csrf("/inloggen")
    response = client.raw.post(
        "/inloggen", data={"csrf_token": token, "email": "a@example.org", "password": "x" * limit}
    )
    assert response.status_code == 413
    fine = client.raw.post(
        "/inloggen", data={"csrf_token": token, "email": "a@example.org", "password": "x" * 500}
    )
    assert fine.status_code == 422  # an ordinary wrong password


def test_a_text_field_of_a_form_with_a_file_is_capped(app, client, make_user, make_wijk):
    resident = make_user("b@example.org", wijk=make_wijk("West"))
    client.login(resident.email)
    token = client.csrf("/account")
    response = client.raw.post(
        "/account/gegevens",
        data={
            "csrf_token": token,
            "profile-display_name": "x" * (app.config["MAX_FORM_MEMORY_SIZE"] + 1),
            "photo": (io.BytesIO(b"x"), "a.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
