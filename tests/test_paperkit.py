"""The paper kit (issue 21, part 3): the ballot sheet and the proposal booklet, as PDFs (read
back with pdftotext: every proposal's title and cost is on the sheet, the booklet has each
proposal) and as pages with a print stylesheet; public during the vote, for the board before
it; proposal texts are the residents' own and never markup, in the PDF or on the page."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from pypdf import PdfReader

from wijkbudget import images
from wijkbudget.accounts.models import Role
from wijkbudget.extensions import db
from wijkbudget.paths import ROOT
from wijkbudget.proposals.models import ProposalImage, State
from wijkbudget.rounds.models import BallotType, Eligibility, Phase
from wijkbudget.voting.models import VotingPlace

PDFTOTEXT = shutil.which("pdftotext")
needs_pdftotext = pytest.mark.skipif(
    PDFTOTEXT is None, reason="pdftotext (poppler-utils) is not installed; .ci/run installs it"
)

HOSTILE = "<b>Vet</b> & <font size=40>groot</font> > <para>"
LONG_WORD = "Speeltuin" * 40


@pytest.fixture
def noord(make_wijk):
    return make_wijk("Noord", postcodes=((3551, 3555),), areas=("Zuilen",))


@pytest.fixture
def bestuur(noord, make_user):
    return make_user("bestuur@noord.example", wijk=noord, name="Bep", roles=((Role.BOARD, noord),))


@pytest.fixture
def kit_round(noord, bestuur, make_round, make_proposal):
    """A round in voting with three proposals on the ballot (one rejected, not on it)."""
    rnd = make_round(noord, Phase.VOTING, title="Noord kiest 2027", budget=500_000,
                     max_cost=400_000)  # fmt: skip
    rnd.ballot_max_choices = 2
    rnd.result_opens = datetime.now(UTC) + timedelta(days=10)
    proposals = [
        make_proposal(rnd, bestuur, State.ADMITTED, title="Speeltuin Zuilen", cost=300_000,
                      summary="Een speeltuin bij de school.", commit=False),
        make_proposal(rnd, bestuur, State.ADMITTED, title="Bankjes langs de Vecht",
                      cost=125_050, summary="Tien bankjes om uit te rusten.", commit=False),
        make_proposal(rnd, bestuur, State.ADMITTED, title="Bloembakken", cost=100_000,
                      summary="Bloemen op het plein.", commit=False),
        make_proposal(rnd, bestuur, State.REJECTED, title="Afgewezen plan", cost=50_000,
                      commit=False),
    ]  # fmt: skip
    db.session.commit()
    return rnd, proposals


def url(rnd, what: str) -> str:
    return f"/wijk/{rnd.neighbourhood.slug}/rondes/{rnd.id}/{what}"


def text_of(pdf: bytes) -> str:
    """The PDF's text as pdftotext reads it, each run of white space (line breaks, the
    non-breaking space of an amount) as one space."""
    assert pdf.startswith(b"%PDF-")
    out = subprocess.run(
        [PDFTOTEXT or "pdftotext", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return " ".join(out.split())


def flat(text: str) -> str:
    return " ".join(text.split())


# --- the ballot sheet ---------------------------------------------------------------------------


@needs_pdftotext
def test_the_ballot_sheet_pdf_has_every_proposal_with_its_cost_and_a_field_for_the_code(
    kit_round, client
):
    rnd, _proposals = kit_round
    rnd.eligibility = Eligibility.CODES
    db.session.add(
        VotingPlace(
            round_id=rnd.id,
            name="Buurthuis De Klop",
            address="Kloosterstraat 5",
            opens_at=datetime(2027, 3, 6, 9, tzinfo=UTC),
            closes_at=datetime(2027, 3, 6, 16, tzinfo=UTC),
            note="rolstoeltoegankelijk",
        )
    )
    db.session.commit()
    response = client.get(url(rnd, "papieren-stembiljet.pdf"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="stembiljet-noord-{rnd.id}.pdf"'
    )
    text = text_of(response.data)
    for title, cost in (
        ("Speeltuin Zuilen", "€ 3.000,00"),
        ("Bankjes langs de Vecht", "€ 1.250,50"),
        ("Bloembakken", "€ 1.000,00"),
    ):
        assert re.search(re.escape(title) + r".{0,40}" + re.escape(cost), text), (title, text)
    assert "Afgewezen plan" not in text
    assert "Noord kiest 2027" in text
    assert "Je mag er hoogstens 2 kiezen." in text
    assert "Je stemcode (van je brief)" in text and "e-mailadres" not in text
    assert "Buurthuis De Klop, Kloosterstraat 5" in text and "rolstoeltoegankelijk" in text


@needs_pdftotext
@pytest.mark.parametrize(
    ("ballot_type", "settings", "eligibility", "expected"),
    [
        (
            BallotType.KNAPSACK,
            {"ballot_max_choices": None},
            Eligibility.ACCOUNTS_AND_CODES,
            ["niet meer kosten dan het budget van € 5.000,00",
             "Je stemcode (van je brief), of je e-mailadres als je een account hebt"],
        ),
        (
            BallotType.CUMULATIVE,
            {"ballot_points": 10, "ballot_max_points_each": 4, "ballot_max_choices": None},
            Eligibility.ACCOUNTS,
            ["Verdeel 10 punten", "Samen niet meer dan 10 punten.",
             "Hoogstens 4 punten per voorstel.", "Punten", "Het e-mailadres van je account"],
        ),
        (
            BallotType.APPROVAL,
            {"ballot_max_choices": 2, "ballot_min_choices": 1},
            Eligibility.CODES,
            ["Zet een kruisje", "Je mag er hoogstens 2 kiezen.", "Kies er minstens 1.",
             "Kruisje"],
        ),
    ],
)  # fmt: skip
def test_the_sheet_says_how_to_fill_in_this_ballot_type(
    kit_round, client, ballot_type, settings, eligibility, expected
):
    rnd, _proposals = kit_round
    rnd.ballot_type, rnd.eligibility = ballot_type, eligibility
    for name, value in settings.items():
        setattr(rnd, name, value)
    db.session.commit()
    text = text_of(client.get(url(rnd, "papieren-stembiljet.pdf")).data)
    page = flat(client.get(url(rnd, "papieren-stembiljet")).get_data(as_text=True))
    for words in expected:
        assert words in text, (words, text)
        assert words in page, words
    # without voting places: hand it to the board, before the end
    assert "Lever je stembiljet in bij het bestuur van wijk Noord." in text


@needs_pdftotext
def test_hostile_titles_and_long_words_do_not_break_the_pdfs(
    kit_round, bestuur, make_proposal, client
):
    rnd, proposals = kit_round
    make_proposal(rnd, bestuur, State.ADMITTED, title=HOSTILE, cost=200_000,
                  summary=f"{LONG_WORD[:200]} <br/> & <i>schuin</i>", commit=False)  # fmt: skip
    proposals[2].title = LONG_WORD[:120]
    db.session.commit()
    for what in ("papieren-stembiljet.pdf", "voorstellenboekje.pdf"):
        response = client.get(url(rnd, what))
        assert response.status_code == 200, what
        text = text_of(response.data)
        assert HOSTILE in text, what  # the markup printed as the letters it is
        assert LONG_WORD[:120] in text.replace(" ", ""), what  # broken over lines, all there
    booklet = text_of(client.get(url(rnd, "voorstellenboekje.pdf")).data)
    assert "<br/> & <i>schuin</i>" in booklet
    # and the pages escape them as every page does
    for what in ("papieren-stembiljet", "voorstellenboekje"):
        html = client.get(url(rnd, what)).get_data(as_text=True)
        assert "<b>Vet</b>" not in html and "&lt;b&gt;Vet&lt;/b&gt; &amp;" in html


# --- the booklet --------------------------------------------------------------------------------


def photo_for(proposal, app) -> ProposalImage:
    """A stored photo of the proposal, as an upload leaves it."""
    raw = io.BytesIO()
    Image.new("RGB", (400, 300), (20, 120, 60)).save(raw, "PNG")
    raw.seek(0)
    processed = images.process_upload(raw)
    name = images.store(processed, images.upload_dir(app))
    image = ProposalImage(
        proposal_id=proposal.id,
        position=0,
        filename=name,
        content_type=processed.content_type,
        width=processed.width,
        height=processed.height,
        alt="Het plein met de school",
    )
    db.session.add(image)
    db.session.commit()
    return image


@needs_pdftotext
def test_the_booklet_has_each_proposal_with_photo_cost_and_summary(kit_round, client, app):
    rnd, proposals = kit_round
    photo = photo_for(proposals[0], app)
    response = client.get(url(rnd, "voorstellenboekje.pdf"))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="voorstellenboekje-noord-{rnd.id}.pdf"'
    )
    text = text_of(response.data)
    for p, cost in zip(proposals[:3], ("€ 3.000,00", "€ 1.250,50", "€ 1.000,00"), strict=True):
        assert f"{p.id}. {p.title}" in text
        assert f"Kosten: {cost}" in text and p.summary in text
    assert "Afgewezen plan" not in text
    reader = PdfReader(io.BytesIO(response.data))
    # a cover and a page per proposal; the photo on the first proposal's page only
    assert len(reader.pages) == 4
    assert [len(page.images) for page in reader.pages] == [0, 1, 0, 0]
    # the page shows the same photo with its description
    html = client.get(url(rnd, "voorstellenboekje")).get_data(as_text=True)
    assert f"/voorstellen/{proposals[0].id}/fotos/{photo.id}" in html
    assert 'alt="Het plein met de school"' in html


def test_a_photo_whose_file_is_gone_leaves_it_out(kit_round, client, app):
    rnd, proposals = kit_round
    photo = photo_for(proposals[1], app)
    (images.upload_dir(app) / photo.filename).unlink()
    response = client.get(url(rnd, "voorstellenboekje.pdf"))
    assert response.status_code == 200
    assert [len(p.images) for p in PdfReader(io.BytesIO(response.data)).pages] == [0, 0, 0, 0]


# --- the pages and who sees them ----------------------------------------------------------------


def test_the_pages_are_made_to_print(kit_round, client):
    rnd, proposals = kit_round
    for what, pdf in (
        ("papieren-stembiljet", "papieren-stembiljet.pdf"),
        ("voorstellenboekje", "voorstellenboekje.pdf"),
    ):
        response = client.get(url(rnd, what))
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "/static/css/paperkit.css" in html  # the print stylesheet
        assert 'class="no-print kit-tools"' in html and "data-print" in html
        assert url(rnd, pdf) in html
        for p in proposals[:3]:
            assert p.title in html
        assert "Afgewezen plan" not in html
    booklet = client.get(url(rnd, "voorstellenboekje")).get_data(as_text=True)
    assert booklet.count('<article class="kit-proposal"') == 3
    css = (ROOT / "static" / "css" / "paperkit.css").read_text()
    assert "@media print" in css and "break-after: page" in css


@pytest.mark.parametrize("phase", [Phase.SUPPORT, Phase.RESULT])
def test_outside_the_vote_only_the_board_sees_the_kit(
    kit_round, client, make_client, bestuur, make_user, noord, phase
):
    rnd, _proposals = kit_round
    rnd.phase = phase
    rnd.result_opens = None
    db.session.commit()
    resident = make_client()
    resident.login(make_user("bewoner@noord.example", wijk=noord).email)
    board = make_client()
    board.login(bestuur.email)
    for what in (
        "papieren-stembiljet",
        "papieren-stembiljet.pdf",
        "voorstellenboekje",
        "voorstellenboekje.pdf",
    ):
        assert client.get(url(rnd, what)).status_code == 404, what
        assert resident.get(url(rnd, what)).status_code == 404, what
        assert board.get(url(rnd, what)).status_code == 200, what
    page = board.get(url(rnd, "papieren-stembiljet")).get_data(as_text=True)
    assert "Alleen het bestuur ziet deze pagina nu" in page


def test_the_board_s_paper_page_links_the_kit(kit_round, bestuur, make_client):
    rnd, _proposals = kit_round
    board = make_client()
    board.login(bestuur.email)
    page = board.get(f"/wijk/noord/bestuur/rondes/{rnd.id}/papier").get_data(as_text=True)
    for what in (
        "papieren-stembiljet",
        "papieren-stembiljet.pdf",
        "voorstellenboekje",
        "voorstellenboekje.pdf",
    ):
        assert f'href="{url(rnd, what)}"' in page
