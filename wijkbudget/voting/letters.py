"""The address list of the letters with voting codes (issue 21, "van deur tot deur"): the board's
CSV file of the addresses that get a letter. Pure: no database, no request (the operations in
voting/operations/letters.py store what this reads; voting/letters_pdf.py prints the letters).

The file: one address per line, with the street, the house number (the addition in the same
cell: ``12A``, ``12-2``), the postcode and, if you like, the place and the number of voters at
the address (default 1: one letter per voter). No names. A first line with column names is
recommended (``straat;huisnummer;postcode;plaats;aantal``, in any order; ``huisletter`` and
``toevoeging`` may be columns of their own, as in a BAG export); without one the columns are in
that order. Excel's ``;``, a ``,`` or a tab; UTF-8 with or without a byte-order mark, else
Windows-1252. At most :data:`~.addresses.MAX_BYTES` (5 MB), :data:`~.addresses.MAX_ROWS`
addresses, :data:`~.addresses.MAX_CAPACITY` voters per address and :data:`MAX_LETTERS` letters
in all; an address twice is a mistake. A file with any mistake is refused as a whole, with the
first problems named by line; a cell that looks like a formula (``=HYPERLINK(…)``) is refused
as any other wrong value, never evaluated.

The lines are read with the address register's pieces (voting/addresses.py): the same postcodes,
house numbers, numbers of voters and the same limits on hostile files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _

from .addresses import (
    MAX_CAPACITY,
    AddressLine,
    Problems,
    address_rows,
    read_address,
    refuse_duplicate,
    shown,
)

#: the most letters (codes) one list makes: the largest batch of codes
#: (``operations.codes.MAX_BATCH``; a test keeps the two equal)
MAX_LETTERS = 20_000

#: the columns of a file without a header line
DEFAULT_COLUMNS = {"street": 0, "number": 1, "postcode": 2, "city": 3, "capacity": 4}


@dataclass
class ParsedLetters(Problems):
    """The addresses of a list (each with its street; its place when the file has one), and
    the problems."""

    lines: list[AddressLine] = field(default_factory=list)

    @property
    def letters(self) -> int:
        """One letter per voter of every address."""
        return sum(line.capacity for line in self.lines)


def parse_letters(data: bytes) -> ParsedLetters:
    """Read the board's address list (see the module). Returns the addresses and the problems;
    the caller makes no letter while there is a problem."""
    parsed = ParsedLetters()
    seen: dict[tuple[str, str], int] = {}
    rows = address_rows(
        data,
        parsed,
        DEFAULT_COLUMNS,
        {"street", "number", "postcode"},
        lambda number: _(
            "Regel %(n)d: noem de kolommen 'straat', 'huisnummer' en 'postcode' "
            "(en als je wilt 'plaats' en 'aantal').",
            n=number,
        ),
    )
    for number, cells, columns in rows:
        if columns is DEFAULT_COLUMNS and not _numbers_in_place(cells, number, parsed):
            continue
        line = read_address(cells, columns, number, parsed)
        if line is None:
            continue
        if line.street is None:
            parsed.refuse(
                _(
                    "Regel %(n)d: de straat ontbreekt. Een brief heeft het hele adres nodig.",
                    n=number,
                )
            )
            continue
        if not refuse_duplicate(seen, line, number, parsed):
            parsed.lines.append(line)
    if parsed.given_up:
        return parsed
    if not parsed.lines and not parsed.problem_count:
        parsed.refuse(_("Het bestand heeft geen adressen."))
    elif parsed.letters > MAX_LETTERS:
        parsed.refuse(
            _(
                "Samen zijn dat %(n)d brieven; dat mogen er hoogstens %(max)d tegelijk zijn. "
                "Verdeel de lijst over twee bestanden.",
                n=parsed.letters,
                max=MAX_LETTERS,
            )
        )
    return parsed


def _numbers_in_place(cells: list[str], number: int, parsed: Problems) -> bool:
    """Without a header line the fourth column is the place: a number there is most likely the
    number of voters of a file without places, which would be read wrong. Say so."""
    place = cells[3] if len(cells) > 3 else ""
    if place.isascii() and place.isdigit():
        parsed.refuse(
            _(
                "Regel %(n)d: '%(cell)s' staat in de kolom van de plaats. Is het het aantal "
                "stemmers? Zet dan een eerste regel met de namen van de kolommen boven de lijst, "
                "bijvoorbeeld: straat;huisnummer;postcode;aantal (hoogstens %(max)d per adres).",
                n=number,
                cell=shown(place),
                max=MAX_CAPACITY,
            )
        )
        return False
    return True
