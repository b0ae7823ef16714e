"""The paper kit of a round (issue 21, "van deur tot deur"): a ballot sheet to print and fill in
by hand, and a booklet of the proposals on the ballot, each as a PDF (ReportLab) and as a page
with a print stylesheet (templates/voting/kit_*.html, static/css/paperkit.css).

The texts both forms share are made here (:func:`instructions`, :func:`identifier_label`,
:func:`hand_in`), so the page and the PDF say the same. The proposals on the sheet are those of
the online ballot (``queries.ballot_proposals``), in the order of their numbers (the number is
the proposal's id, as on the board's entry form for paper sheets).

What a proposal says is user text: everything that goes into a ReportLab ``Paragraph`` (which
reads ``<b>``, ``<font>``, ``&amp;`` as markup) is escaped first (:func:`_text`). The fonts are
DejaVu Sans when the system has it (every script a neighbour may write in), else ReportLab's own
Helvetica (Western European letters; others print as a box)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from flask_babel import format_datetime
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ..money import format_cents
from ..neighbourhoods.models import Neighbourhood
from ..proposals.models import Proposal, ProposalImage
from ..rounds.models import BallotType, Eligibility, Round
from .models import VotingPlace
from .pdf_fonts import font_names

# --- the texts the page and the PDF share ---------------------------------------------------------


def instructions(rnd: Round) -> list[str]:
    """How to fill in this round's ballot sheet, in plain words, one sentence a line."""
    lines: list[str] = []
    if rnd.ballot_type == BallotType.KNAPSACK:
        lines.append(
            _(
                "Zet een kruisje in het vakje bij de voorstellen die jij wilt. Samen mogen ze "
                "niet meer kosten dan het budget van %(budget)s.",
                budget=format_cents(rnd.budget_cents),
            )
        )
        lines.append(_("Tel de bedragen van je kruisjes op voordat je het stembiljet inlevert."))
    elif rnd.ballot_type == BallotType.CUMULATIVE:
        lines.append(
            _(
                "Verdeel %(n)d punten over de voorstellen: schrijf in het vak hoeveel punten je "
                "een voorstel geeft. Meer punten betekent: dit vind je belangrijker.",
                n=rnd.ballot_points or 0,
            )
        )
        lines.append(
            _("Samen niet meer dan %(n)d punten.", n=rnd.ballot_points or 0)
            + (
                " " + _("Hoogstens %(m)d punten per voorstel.", m=rnd.ballot_max_points_each)
                if rnd.ballot_max_points_each
                else ""
            )
        )
    else:
        lines.append(_("Zet een kruisje in het vakje bij de voorstellen die jij wilt."))
        if rnd.ballot_max_choices:
            lines.append(_("Je mag er hoogstens %(k)d kiezen.", k=rnd.ballot_max_choices))
        if rnd.ballot_min_choices:
            lines.append(_("Kies er minstens %(k)d.", k=rnd.ballot_min_choices))
    lines.append(
        _(
            "Een stembiljet dat niet klopt (te veel gekozen, geen stemcode) telt niet. Twijfel "
            "je? Vraag een nieuw stembiljet."
        )
    )
    return lines


def identifier_label(rnd: Round) -> str:
    """What the voter writes on the sheet so that the board can enter it: the code from their
    letter, or in a round with accounts the e-mail address of their account."""
    if rnd.eligibility == Eligibility.CODES:
        return str(_("Je stemcode (van je brief)"))
    if rnd.eligibility == Eligibility.ACCOUNTS_AND_CODES:
        return str(_("Je stemcode (van je brief), of je e-mailadres als je een account hebt"))
    return str(_("Het e-mailadres van je account"))


@dataclass(frozen=True)
class Place:
    """A voting place as the sheet names it."""

    name: str
    address: str
    when: str
    note: str


def places(found: Sequence[VotingPlace]) -> list[Place]:
    return [
        Place(
            p.name,
            p.address,
            _(
                "%(day)s, van %(opens)s tot %(closes)s uur",
                day=format_datetime(p.opens_at, "EEEE d MMMM yyyy"),
                opens=format_datetime(p.opens_at, "HH:mm"),
                closes=format_datetime(p.closes_at, "HH:mm"),
            ),
            p.note,
        )
        for p in found
    ]


def hand_in(rnd: Round, wijk: Neighbourhood, has_places: bool) -> str:
    """Where and until when the sheet is handed in (the voting places follow it, if any)."""
    if has_places:
        where = _("Lever je stembiljet in op een van deze plekken:")
    else:
        where = _("Lever je stembiljet in bij het bestuur van wijk %(wijk)s.", wijk=wijk.name)
    if rnd.result_opens:
        until = _(
            "Dat kan tot %(end)s.", end=format_datetime(rnd.result_opens, "EEEE d MMMM yyyy HH:mm")
        )
        return f"{until} {where}"
    return str(where)


def file_name(kind: str, wijk: Neighbourhood, rnd: Round) -> str:
    """A download's name: ``stembiljet-west-3.pdf`` (the slug is letters, digits and ``-``)."""
    return f"{kind}-{wijk.slug}-{rnd.id}.pdf"


# --- the PDFs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Styles:
    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    cell_bold: ParagraphStyle


def _styles() -> _Styles:
    regular, bold = font_names()
    body = ParagraphStyle("body", fontName=regular, fontSize=11, leading=14, spaceAfter=4)
    return _Styles(
        title=ParagraphStyle("title", parent=body, fontName=bold, fontSize=18, leading=22),
        heading=ParagraphStyle(
            "heading", parent=body, fontName=bold, fontSize=14, leading=18, spaceBefore=6
        ),
        body=body,
        small=ParagraphStyle("small", parent=body, fontSize=9, leading=11),
        cell=ParagraphStyle("cell", parent=body, spaceAfter=0),
        cell_bold=ParagraphStyle("cell_bold", parent=body, fontName=bold, spaceAfter=0),
    )


def _text(text: str | None) -> str:
    """User text for a Paragraph: escaped (its markup is not ours), line breaks kept."""
    return escape(text or "").replace("\n", "<br/>")


def _document(out: io.BytesIO, title: str) -> SimpleDocTemplate:
    return SimpleDocTemplate(
        out,
        pagesize=A4,
        title=title,
        author="wijkbudget",
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=1.8 * cm,
        bottomMargin=1.8 * cm,
    )


class _Box(Flowable):
    """An empty box to put a cross or the points in."""

    def __init__(self, width: float, height: float) -> None:
        super().__init__()
        self.width, self.height = width, height

    def draw(self) -> None:
        self.canv.setLineWidth(1.2)
        self.canv.rect(0, 0, self.width, self.height)


def _places_flowables(found: list[Place], styles: _Styles) -> list[Flowable]:
    return [
        Paragraph(
            f"<b>{_text(p.name)}</b>, {_text(p.address)}<br/>{_text(p.when)}"
            + (f" · {_text(p.note)}" if p.note else ""),
            styles.body,
        )
        for p in found
    ]


def ballot_sheet_pdf(
    rnd: Round,
    wijk: Neighbourhood,
    proposals: Sequence[Proposal],
    voting_places: Sequence[VotingPlace],
) -> bytes:
    """The ballot sheet: the round, how to fill it in, each proposal with its number, title and
    cost and a box (a points field in a cumulative round), the field for the code (or e-mail
    address), and where to hand it in."""
    styles = _styles()
    out = io.BytesIO()
    title = _("Stembiljet") + " · " + rnd.title
    story: list[Flowable] = [
        Paragraph(_text(_("Stembiljet")), styles.title),
        Paragraph(_text(f"{rnd.title} · {_('wijk %(wijk)s', wijk=wijk.name)}"), styles.heading),
    ]
    story += [Paragraph(_text(line), styles.body) for line in instructions(rnd)]
    story.append(Spacer(1, 0.3 * cm))
    points = rnd.ballot_type == BallotType.CUMULATIVE
    box_head = _("Punten") if points else _("Kruisje")
    rows: list[list[object]] = [
        [
            Paragraph(_text(box_head), styles.cell_bold),
            Paragraph(_text(_("Nr.")), styles.cell_bold),
            Paragraph(_text(_("Voorstel")), styles.cell_bold),
            Paragraph(_text(_("Kosten")), styles.cell_bold),
        ]
    ]
    box_width = 1.6 * cm if points else 0.8 * cm
    rows += [
        [
            _Box(box_width, 0.8 * cm),
            Paragraph(str(p.id), styles.cell),
            Paragraph(_text(p.title), styles.cell),
            Paragraph(_text(format_cents(p.effective_cost_cents)), styles.cell),
        ]
        for p in proposals
    ]
    table = Table(rows, colWidths=[2.2 * cm, 1.3 * cm, None, 3.2 * cm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.5, colors.black),
                ("TOPPADDING", (0, 1), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 1), (-1, -1), 6),
            ]
        )
    )
    story.append(table)
    story.append(Spacer(1, 0.6 * cm))
    field = Table(
        [[Paragraph(_text(identifier_label(rnd)), styles.cell_bold)], [""]],
        colWidths=[None],
        rowHeights=[None, 1.4 * cm],
    )
    field.setStyle(TableStyle([("BOX", (0, 1), (0, 1), 1.2, colors.black)]))
    found = places(voting_places)
    story.append(KeepTogether([field]))
    story.append(Spacer(1, 0.4 * cm))
    story.append(
        KeepTogether(
            [
                Paragraph(_text(hand_in(rnd, wijk, bool(found))), styles.body),
                *_places_flowables(found, styles),
            ]
        )
    )
    story.append(
        Paragraph(
            _text(
                _(
                    "Je stem is geheim: het bestuur voert je keuzes in zonder je naam. Er telt "
                    "één stem per persoon, op papier of online."
                )
            ),
            styles.small,
        )
    )
    _document(out, title).build(story)
    return out.getvalue()


def _photo(image: ProposalImage | None, folder: Path, width: float, height: float) -> Image | None:
    """The proposal's first photo, scaled into width × height, or None (none, or its file is
    gone)."""
    if image is None or not image.width or not image.height:
        return None
    path = folder / image.filename
    if not path.is_file():
        return None
    scale = min(width / image.width, height / image.height)
    photo = Image(str(path), width=image.width * scale, height=image.height * scale)
    photo.hAlign = "LEFT"
    return photo


def booklet_pdf(
    rnd: Round, wijk: Neighbourhood, proposals: Sequence[Proposal], photos: Path
) -> bytes:
    """The proposal booklet: a cover, then per proposal (a page each) its number and title, its
    first photo if it has one, its cost and its summary. ``photos``: the folder of the
    uploaded photos (``images.upload_dir``)."""
    styles = _styles()
    out = io.BytesIO()
    story: list[Flowable] = [
        Paragraph(_text(_("De voorstellen")), styles.title),
        Paragraph(_text(f"{rnd.title} · {_('wijk %(wijk)s', wijk=wijk.name)}"), styles.heading),
        Paragraph(
            _text(
                _(
                    "Hierin staan alle voorstellen waarop je kunt stemmen, met wat ze kosten. "
                    "Het nummer staat ook op het stembiljet."
                )
            ),
            styles.body,
        ),
    ]
    if not proposals:
        story.append(
            Paragraph(_text(_("Er staan nog geen voorstellen op het stembiljet.")), styles.body)
        )
    for proposal in proposals:
        story.append(PageBreak())
        story.append(Paragraph(_text(f"{proposal.id}. {proposal.title}"), styles.title))
        photo = _photo(proposal.images[0] if proposal.images else None, photos, 17 * cm, 10 * cm)
        if photo is not None:
            story += [photo, Spacer(1, 0.3 * cm)]
        story.append(
            Paragraph(
                _text(_("Kosten: %(cost)s", cost=format_cents(proposal.effective_cost_cents))),
                styles.heading,
            )
        )
        story.append(Paragraph(_text(proposal.summary), styles.body))
    _document(out, _("De voorstellen") + " · " + rnd.title).build(story)
    return out.getvalue()
