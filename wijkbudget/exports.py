"""Spreadsheet files the site writes: CSV (RFC 4180) and XLSX (openpyxl), every text cell passed
through ``neutralise`` so a title such as ``=HYPERLINK("http://evil","klik")`` arrives as text,
never as a live formula (OWASP, "CSV Injection").

For people (issue 22) two more: ``to_people_csv``, a CSV that Dutch Excel opens in columns
(semicolons, a UTF-8 byte order mark, decimal commas, dates as 31-12-2026), and
``to_typed_xlsx``, a workbook whose amounts are numbers in euros (shown as "€ 1.234,56") and
whose dates are dates. Their amounts come in as :class:`Euros` and are written by the writer,
so they are never mistaken for a formula ("-12,50"); every text cell is neutralised as above.

Every CSV and XLSX download goes through ``to_csv``/``to_xlsx`` here: the spending exports, the
official result and the board's voting codes. Not the pabulib ``.pb`` file (tally/pabulib.py): that
is a data format for researchers and their tools, read by programs rather than spreadsheets, and
it must keep the titles exactly as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
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


@dataclass(frozen=True)
class Euros:
    """An amount in cents for a spreadsheet for people: a number in euros, not text."""

    cents: int

    @property
    def value(self) -> Decimal:
        return Decimal(self.cents).scaleb(-2)

    def dutch(self) -> str:
        """-123456 → "-1234,56": what Dutch Excel reads as a number (no thousands dots)."""
        sign = "-" if self.cents < 0 else ""
        return f"{sign}{abs(self.cents) // 100},{abs(self.cents) % 100:02d}"


#: how a spreadsheet shows an amount: "€ 1.234,56" in Dutch (the code itself is locale-neutral)
EURO_FORMAT = '"€" #,##0.00;"€" -#,##0.00'
DATE_FORMAT = "dd-mm-yyyy"
DATETIME_FORMAT = "dd-mm-yyyy hh:mm"


def _people_cell(value: Any) -> Any:
    if isinstance(value, Euros):
        return value.dutch()
    if isinstance(value, datetime):
        return f"{value:%d-%m-%Y %H:%M}"
    if isinstance(value, date):
        return f"{value:%d-%m-%Y}"
    if value is None:
        return ""
    return neutralise(value)


def to_people_csv(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV for Dutch Excel: semicolons, a byte order mark (so é and € arrive), amounts with a
    decimal comma, dates as 31-12-2026; text cells neutralised."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow([_people_cell(cell) for cell in row])
    return out.getvalue()


def to_typed_xlsx(title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """A workbook whose amounts are numbers shown as euros and whose dates are dates; text cells
    neutralised; the header row bold and frozen."""
    from openpyxl import Workbook  # loaded for an export, not at start-up
    from openpyxl.styles import Font  # (with it)

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([neutralise(cell) for cell in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in rows:
        values: list[Any] = []
        for value in row:
            if isinstance(value, Euros):
                values.append(value.value)
            elif isinstance(value, datetime):
                values.append(value.replace(tzinfo=None))  # (Excel has no time zones)
            else:
                values.append(neutralise(value))
        sheet.append(values)
        for cell, value in zip(sheet[sheet.max_row], row, strict=False):
            if isinstance(value, Euros):
                cell.number_format = EURO_FORMAT
            elif isinstance(value, datetime):
                cell.number_format = DATETIME_FORMAT
            elif isinstance(value, date):
                cell.number_format = DATE_FORMAT
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
