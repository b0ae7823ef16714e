"""The PDF of letters with voting codes (issue 21): print-ready A4, one page per letter
(ReportLab). What the letters say is made in voting/letter_content.py (with the print shop's CSV).

**The page.** What every letter of a round shares (the heading, the text, the dates, the
proposals, the voting places, voting on paper) is drawn once, as a PDF form (an XObject) that
every page places; a page adds only its own address, code and QR code. So 20,000 letters are
one small file made in seconds (``benchmarks/letters.py`` measures it).

**The window.** For a Dutch window envelope with the window on the left (the common C5/6 and
EA5/6 envelopes, A4 folded in three): the address block is 22 mm from the left edge and 50 mm
from the top of the page, at most 85 × 35 mm; the sender's line is just above it, 45–49 mm from
the top, inside the window too. Nothing else is printed from 40 to 95 mm from the top in the
left 125 mm, so the code never shows through the window, also when the letter shifts a few mm
in the envelope. The code and its QR code sit in the middle third of the folded letter.

**The QR code** opens the code page with the code filled in (``/stem?code=…``, built from
``PUBLIC_URL``); the code page keeps it out of every log (docs/door-to-door.md). It is made by
segno with error correction M and one fixed mask pattern (:data:`QR_MASK`): choosing the best of
the eight patterns for every code takes eight times as long, and any pattern reads.

What the board or a proposer wrote is user text: everything that goes into a ReportLab
``Paragraph`` (which reads ``<b>`` and ``&amp;`` as markup) is escaped first. The fonts are
DejaVu Sans when the system has it (every script a street name may be in), else ReportLab's own
Helvetica (Western European letters; others print as a box).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import segno
from flask_babel import gettext as _
from reportlab import rl_config
from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from .letter_content import LetterText, qr_url
from .operations.letters import Letter
from .pdf_fonts import font_names

PAGE_WIDTH, PAGE_HEIGHT = A4

# --- where things are on the page (mm from the left edge and from the top) ---------------------

#: the address block for the envelope's window: 22 mm from the left, 50 mm from the top,
#: at most 85 × 35 mm (the sender's line sits just above it, from 45 mm)
WINDOW_LEFT = 22
WINDOW_TOP = 50
WINDOW_WIDTH = 85
WINDOW_HEIGHT = 35
SENDER_TOP = 45
#: the text of the letter starts below the window, with room for the envelope's play
BODY_TOP = 97
MARGIN_LEFT = 22
MARGIN_RIGHT = 20
BOTTOM = 14
BODY_WIDTH = 210 - MARGIN_LEFT - MARGIN_RIGHT
#: the box with the code and the QR code (its top follows the opening text)
CODE_BOX_HEIGHT = 46
QR_SIZE = 36
QR_LEFT = 210 - MARGIN_RIGHT - 5 - QR_SIZE
#: right of the window: when the vote is (not in the window, whatever the envelope's play)
WHEN_LEFT = 128

#: segno's mask pattern for every QR code (see the module's docstring)
QR_MASK = 2
#: at most this many proposals are named on a letter (then "en nog …"), fewer if the page is full
MAX_PROPOSALS = 10
#: at most this many voting places are named on a letter (then "en nog …")
MAX_PLACES = 6

_GREY = Color(0.93, 0.93, 0.93)
_binary_streams = threading.Lock()


def qr_matrix(url: str) -> tuple[bytearray, ...]:
    """The QR code of ``url``, as rows of dark (1) and light (0) modules, without its quiet
    zone."""
    return segno.make(url, error="m", micro=False, mask=QR_MASK, boost_error=False).matrix


# --- the PDF ------------------------------------------------------------------------------------


def _y(top: float) -> float:
    """A distance from the top of the page (mm) as ReportLab's y (points from the bottom)."""
    return PAGE_HEIGHT - top * mm


@dataclass(frozen=True)
class _Styles:
    heading: ParagraphStyle
    subheading: ParagraphStyle
    body: ParagraphStyle
    item: ParagraphStyle
    small: ParagraphStyle


def _styles() -> _Styles:
    regular, bold = font_names()
    body = ParagraphStyle("letter-body", fontName=regular, fontSize=10, leading=13)
    return _Styles(
        heading=ParagraphStyle("letter-h1", parent=body, fontName=bold, fontSize=16, leading=20),
        subheading=ParagraphStyle(
            "letter-h2", parent=body, fontName=bold, fontSize=11, leading=14, spaceBefore=4
        ),
        body=body,
        item=ParagraphStyle("letter-item", parent=body, leftIndent=9, bulletIndent=0),
        small=ParagraphStyle("letter-small", parent=body, fontSize=8.5, leading=11),
    )


def _para(text: str, style: ParagraphStyle, bullet: bool = False) -> Paragraph:
    """User text as a Paragraph: escaped (its markup is not ours)."""
    return Paragraph(escape(text), style, bulletText="•" if bullet else None)


def _stack(canvas: Canvas, parts: Sequence[Paragraph], left: float, top: float, width: float,
           bottom: float = BOTTOM + 12) -> float:  # fmt: skip
    """Draw ``parts`` one below the other from ``top`` (mm from the top), ``width`` mm wide;
    returns where they end (mm from the top). What would come below ``bottom`` is left out."""
    y = top * mm
    for part in parts:
        _width, height = part.wrap(width * mm, PAGE_HEIGHT)
        space = part.style.spaceBefore if y > top * mm else 0
        if y + space + height > PAGE_HEIGHT - bottom * mm:
            break  # (very long titles: the page ends here; the round's page has the rest)
        part.drawOn(canvas, left * mm, PAGE_HEIGHT - y - space - height)
        y += space + height + 1.5
    return y / mm


def _height(parts: Sequence[Paragraph], width: float) -> float:
    """How tall ``parts`` are one below the other (mm), as :func:`_stack` draws them."""
    total = 0.0
    for i, part in enumerate(parts):
        _width, height = part.wrap(width * mm, PAGE_HEIGHT)
        total += height + 1.5 + (part.style.spaceBefore if i else 0)
    return total / mm


def _below_code(text: LetterText, styles: _Styles, proposals: int, places: int) -> list[Paragraph]:
    """What follows the code box: the first ``proposals`` proposals, the first ``places``
    voting places, and voting on paper."""
    parts = [_para(_("Waar kun je op stemmen?"), styles.subheading)]
    for title, cost in text.proposals[:proposals]:
        parts.append(_para(f"{title} ({cost})", styles.item, bullet=True))
    more = len(text.proposals) - proposals
    if not text.proposals:
        parts.append(_para(_("De plannen staan op %(url)s", url=text.round_address), styles.body))
    elif more > 0:
        parts.append(
            _para(
                _("En nog %(n)d voorstellen: zie %(url)s", n=more, url=text.round_address),
                styles.body,
            )
        )
    if text.places:
        parts.append(_para(_("Stemmen op een stemlocatie"), styles.subheading))
        parts.append(
            _para(
                _("Kom langs met deze brief: daar kun je op papier stemmen of hulp krijgen."),
                styles.body,
            )
        )
        for place in text.places[:places]:
            parts.append(_para(place, styles.item, bullet=True))
        if len(text.places) > places:
            parts.append(
                _para(
                    _(
                        "En nog %(n)d stemlocaties: zie %(url)s",
                        n=len(text.places) - places,
                        url=text.round_address,
                    ),
                    styles.body,
                )
            )
    parts.append(_para(_("Liever op papier?"), styles.subheading))
    parts.append(_para(text.paper, styles.body))
    return parts


def _draw_shared(canvas: Canvas, text: LetterText) -> float:
    """Draw what every letter shares (into the form); returns the top of the code box (mm from
    the top of the page)."""
    styles = _styles()
    regular, bold = font_names()
    # at the top: who writes
    canvas.setFont(bold, 13)
    canvas.drawString(MARGIN_LEFT * mm, _y(20), text.wijk[:60])
    canvas.setFont(regular, 9)
    canvas.drawString(MARGIN_LEFT * mm, _y(25), text.site[:80])
    # the sender's line, small, in the window just above the address
    canvas.setFont(regular, 7)
    canvas.drawString(WINDOW_LEFT * mm, _y(SENDER_TOP + 2.5), text.sender[:100])
    # right of the window: when
    _stack(
        canvas,
        [_para(text.when_heading, styles.subheading)]
        + [_para(line, styles.body) for line in text.when],
        WHEN_LEFT,
        WINDOW_TOP - 4,
        210 - MARGIN_RIGHT - WHEN_LEFT,
        bottom=297 - BODY_TOP + 4,
    )
    # below the window: the heading and the opening text
    box_top = (
        _stack(
            canvas,
            [_para(text.heading, styles.heading), _para(text.intro, styles.body)],
            MARGIN_LEFT,
            BODY_TOP,
            BODY_WIDTH,
        )
        + 3
    )
    # the code box: its background, the QR code's white square, and what it says
    canvas.setFillColor(_GREY)
    canvas.roundRect(
        MARGIN_LEFT * mm,
        _y(box_top + CODE_BOX_HEIGHT),
        BODY_WIDTH * mm,
        CODE_BOX_HEIGHT * mm,
        3 * mm,
        stroke=0,
        fill=1,
    )
    canvas.setFillColor(white)
    canvas.rect(QR_LEFT * mm, _y(box_top + 5 + QR_SIZE), QR_SIZE * mm, QR_SIZE * mm, 0, 1)
    canvas.setFillColor(black)
    canvas.setFont(bold, 11)
    canvas.drawString((MARGIN_LEFT + 6) * mm, _y(box_top + 8), _("Jouw stemcode"))
    _stack(
        canvas,
        [_para(text.how, styles.small)],
        MARGIN_LEFT + 6,
        box_top + 30,
        QR_LEFT - MARGIN_LEFT - 12,
    )
    # below the box: as many proposals and places as fit above the footer
    top = box_top + CODE_BOX_HEIGHT + 4
    room = 297 - top - (BOTTOM + 12)
    proposals = min(MAX_PROPOSALS, len(text.proposals))
    places = min(MAX_PLACES, len(text.places))
    parts = _below_code(text, styles, proposals, places)
    while _height(parts, BODY_WIDTH) > room and (proposals > 3 or places > 2):
        if proposals > 3:
            proposals -= 1
        else:
            places -= 1
        parts = _below_code(text, styles, proposals, places)
    _stack(canvas, parts, MARGIN_LEFT, top, BODY_WIDTH)
    footer = _para(text.footer, styles.small)
    footer.wrap(BODY_WIDTH * mm, PAGE_HEIGHT)
    footer.drawOn(canvas, MARGIN_LEFT * mm, BOTTOM * mm)
    return box_top


def _draw_address(canvas: Canvas, letter: Letter, wijk: str) -> None:
    """The address block in the window: 'Aan de bewoners van', street and number, postcode and
    place (the place in capitals, as the post prefers); 'Aan de bewoners' without one."""
    regular, _bold = font_names()
    if letter.has_address:
        lines = [
            _("Aan de bewoners van"),
            f"{letter.street or ''} {letter.house_number or ''}".strip(),
            f"{letter.postcode}  {(letter.city or '').upper()}".rstrip(),
        ]
    else:
        lines = [_("Aan de bewoners"), wijk]
    width = WINDOW_WIDTH * mm
    y = _y(WINDOW_TOP) - 10
    for line in lines:
        size = 10.0
        if pdfmetrics.stringWidth(line, regular, size) > width:  # a very long street name
            size = 7.5
        for part in simpleSplit(line, regular, size, width)[:2]:
            canvas.setFont(regular, size)
            canvas.drawString(WINDOW_LEFT * mm, y, part)
            y -= size + 3


def _draw_code(canvas: Canvas, letter: Letter, box_top: float, vote_url: str) -> None:
    """The letter's own code (large, grouped) and its QR code, in the box."""
    regular, _bold = font_names()
    canvas.setFont("Courier-Bold", 24)
    canvas.drawString((MARGIN_LEFT + 6) * mm, _y(box_top + 18), letter.code)
    if letter.voters > 1:
        canvas.setFont(regular, 8.5)
        canvas.drawString(
            (MARGIN_LEFT + 6) * mm,
            _y(box_top + 25),
            _(
                "Brief %(n)d van %(of)d voor dit adres: iedereen stemt met een eigen code.",
                n=letter.voter,
                of=letter.voters,
            ),
        )
    matrix = qr_matrix(qr_url(vote_url, letter.code))
    module = QR_SIZE * mm / (len(matrix) + 8)  # with the quiet zone of 4 modules around it
    canvas.saveState()
    # one module is one unit, rows counted downwards from the QR code's top left corner
    canvas.transform(module, 0, 0, -module, QR_LEFT * mm + 4 * module, _y(box_top + 5) - 4 * module)
    canvas.addLiteral(_qr_operators(matrix))
    canvas.restoreState()


def _qr_operators(matrix: Sequence[bytearray]) -> str:
    """The dark modules as PDF rectangles, a run of them in a row as one, in module units
    (written directly: ReportLab's path API formats every number in Python, which for 20,000
    letters of some 300 rectangles each took minutes)."""
    parts = []
    for row, modules in enumerate(matrix):
        size = len(modules)
        column = 0
        while column < size:
            if modules[column]:
                start = column
                while column < size and modules[column]:
                    column += 1
                parts.append(f"{start} {row} {column - start} 1 re")
            else:
                column += 1
    parts.append("f")
    return "\n".join(parts)


def letters_pdf(letters: Sequence[Letter], text: LetterText) -> bytes:
    """The letters as one PDF: A4, one page per letter, in the order of ``letters``."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1, lang="nl")
    canvas.setTitle(text.title)
    canvas.setAuthor("wijkbudget")
    canvas.beginForm("shared")
    box_top = _draw_shared(canvas, text)
    canvas.endForm()
    for letter in letters:
        canvas.doForm("shared")
        _draw_address(canvas, letter, text.wijk)
        _draw_code(canvas, letter, box_top, text.vote_url)
        canvas.showPage()
    with _binary_streams:
        # the compressed pages as bytes, not ASCII85 text (which ReportLab encodes in Python:
        # a fifth of the time, and a quarter of the size); the setting is ReportLab's, for the
        # whole process, so it is changed only while this file is written (another PDF written
        # meanwhile is then binary too, which is as good)
        was, rl_config.useA85 = rl_config.useA85, 0
        try:
            canvas.save()
        finally:
            rl_config.useA85 = was
    return out.getvalue()
