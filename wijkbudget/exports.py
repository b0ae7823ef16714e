"""Spreadsheet files the site writes: CSV (RFC 4180) and XLSX (openpyxl), every text cell passed
through ``neutralise`` so a title such as ``=HYPERLINK("http://evil","klik")`` arrives as text,
never as a live formula (OWASP, "CSV Injection").

Every CSV and XLSX download goes through ``to_csv``/``to_xlsx`` here: the spending exports, the
official result and the board's voting codes. Not the pabulib ``.pb`` file (tally/pabulib.py): that
is a data format for researchers and their tools, read by programs rather than spreadsheets, and
it must keep the titles exactly as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

# what starts a formula in Excel, LibreOffice and Google Sheets (OWASP): also after leading
# spaces or line breaks, which some of them skip
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def _plain_number(value: str) -> bool:
    """ "12", "-12.50": a number, which a spreadsheet reads as a number and never runs."""
    whole, dot, fraction = value.removeprefix("-").partition(".")
    if not (whole.isascii() and whole.isdigit()):
        return False
    return not dot or (fraction.isascii() and fraction.isdigit())


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe, which
    makes it text; anything else (numbers, dates, plain text, "-12.50") is left as it is."""
    if not isinstance(value, str) or _plain_number(value):
        return value
    if value.startswith(FORMULA_START) or value.lstrip().startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()


def to_xlsx(title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    from openpyxl import Workbook  # loaded for an export, not at start-up

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([neutralise(cell) for cell in header])
    for row in rows:
        sheet.append([neutralise(cell) for cell in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
