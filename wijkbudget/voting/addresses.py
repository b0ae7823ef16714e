"""Addresses for a round's address register: how a house number is written, and reading the
board's CSV file. Pure: no database (voting/register.py stores what this reads).

The file: one address per line, a postcode and a house number (the addition in the same cell:
``12A``, ``12-2``, ``12 bis``), and optionally the number of voters at that address (default 1).
No names. The columns are separated by ``;`` (what Dutch Excel writes) or ``,`` (or a tab); a
first line with column names is optional (then ``huisletter`` and ``toevoeging`` may be columns
of their own, as in a BAG export, and ``straat`` and ``plaats`` too, for the letters' window).
A byte-order mark is skipped; a file that is not UTF-8 is read as Windows-1252 (older Excel).
Anything that is no postcode, house number or number is refused line by line, with the first
:data:`MAX_PROBLEMS` problems named; a cell that looks like a formula (``=…``) is only text,
never evaluated, and is refused as any other wrong value.

The letters' address list (voting/letters.py) is read with the same pieces: :func:`read_rows`
(the size, the text, the lines), :func:`header_columns`, :func:`read_address` (one line) and
:func:`refuse_duplicate`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from flask_babel import gettext as _

from ..neighbourhoods.models import normalise_postcode, postcode_digits

#: the largest file, and the most addresses and voter places, a register may have
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
MAX_PLACES = 100_000
#: the most voters one address may have
MAX_CAPACITY = 100
#: how many problems are named (the rest are counted)
MAX_PROBLEMS = 20
#: a cell longer than this is no postcode, house number or number
MAX_CELL = 40
#: the highest house number in the Netherlands is below this
MAX_HOUSE_NUMBER = 99_999
#: an addition ("toevoeging") has at most this many letters and digits (BAG: 4)
MAX_ADDITION = 6

POSTCODE_NAMES = {"postcode", "post code", "pc", "postcode6"}
NUMBER_NAMES = {"huisnummer", "huisnr", "huisnr.", "nummer", "nr", "nr.", "house number"}
LETTER_NAMES = {"huisletter", "letter"}
ADDITION_NAMES = {"toevoeging", "huisnummertoevoeging", "huisnr toevoeging", "addition"}
CAPACITY_NAMES = {"aantal", "stemmers", "kiezers", "aantal stemmers", "capacity", "plaatsen"}
STREET_NAMES = {"straat", "straatnaam", "openbare ruimte", "openbareruimtenaam", "street"}
CITY_NAMES = {"plaats", "woonplaats", "plaatsnaam", "woonplaatsnaam", "city"}
#: the longest street and place names kept (the columns of register_address, letter_address)
MAX_STREET = 120
MAX_CITY = 80
#: what starts a formula in a spreadsheet: no street or place name begins so
FORMULA_START = ("=", "+", "-", "@")


def normalise_house_number(text: str) -> str | None:
    """A house number with its addition as the register keeps it, or None when it is none:
    "12" → "12", "12a", "12 A", "12-a" → "12A", "12-2", "12 2" → "12-2", "12A-1", "12a1" →
    "12A-1", "12 hs", "12hs" → "12-HS", "012" → "12". Without a regular expression (one pass
    over at most MAX_CELL characters)."""
    if not text or len(text) > MAX_CELL:
        return None
    cleaned = text.strip().upper()
    digits = 0
    while digits < len(cleaned) and cleaned[digits].isascii() and cleaned[digits].isdigit():
        digits += 1
    number = cleaned[:digits].lstrip("0")
    if not number or len(number) > len(str(MAX_HOUSE_NUMBER)):
        return None
    rest = cleaned[digits:]
    for separator in (" ", "-", "/", "_", "."):
        rest = rest.replace(separator, " ")
    parts = rest.split()
    letter = ""
    if parts and len(parts[0]) >= 1 and parts[0][0].isascii() and parts[0][0].isalpha():
        first = parts[0]
        if len(first) == 1:  # "12 A", "12-A"
            letter = first
            parts = parts[1:]
        elif first[1].isdigit():  # "12A1": a letter and an addition
            letter, parts = first[0], [first[1:], *parts[1:]]
    addition = "".join(parts)
    if len(addition) > MAX_ADDITION:
        return None
    if addition and not (addition.isascii() and addition.isalnum()):
        return None
    return f"{number}{letter}" + (f"-{addition}" if addition else "")


def full_postcode(text: str) -> str | None:
    """ "3531ab" → "3531 AB"; None unless it is a whole Dutch postcode (4 digits, 2 letters)."""
    if postcode_digits(text or "") is None:
        return None
    postcode = normalise_postcode(text)
    return postcode if len(postcode) == 7 else None


def place_name(text: str, longest: int) -> str | None:
    """A street or place name as a letter prints it: its spaces tidied, at most ``longest``
    characters, printable, and not starting as a formula does (``=``, ``+``, ``-``, ``@``);
    None when it is none of that. Empty stays empty."""
    if len(text) > 4 * longest:  # (a hostile cell: not split into words first)
        return None
    tidy = " ".join(text.split())
    if len(tidy) > longest or not tidy.isprintable() or tidy.startswith(FORMULA_START):
        return None
    return tidy


@dataclass(frozen=True)
class AddressLine:
    """One line of an address file: the address, and how many voters live there."""

    postcode: str
    house_number: str
    capacity: int
    #: for the letters' window, when the file has the columns (else None)
    street: str | None = None
    city: str | None = None


@dataclass
class Problems:
    """What was wrong with a file, line by line."""

    #: the first MAX_PROBLEMS problems, in plain Dutch, each with its line number
    problems: list[str] = field(default_factory=list)
    #: how many problems there were in all
    problem_count: int = 0
    #: whether reading stopped before the end (a wrong header, too many lines): then no
    #: conclusion about the whole file is drawn
    given_up: bool = False

    def refuse(self, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)


@dataclass
class ParsedRegister(Problems):
    lines: list[AddressLine] = field(default_factory=list)

    @property
    def places(self) -> int:
        return sum(line.capacity for line in self.lines)


def shown(cell: str) -> str:
    """A cell as a message quotes it: short, one line (the page escapes it)."""
    flat = " ".join(cell.split())
    return flat if len(flat) <= 20 else flat[:20] + "…"


def _text(data: bytes) -> str | None:
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return None


def _delimiter(text: str) -> str:
    """The separator of the columns, judged by the first line with something on it."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: first.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ";"


def header_columns(header: list[str]) -> dict[str, int] | None:
    """The columns a header line names (keys ``postcode``, ``number``, ``letter``,
    ``addition``, ``capacity``, ``street``, ``city``), or None when the line is no header."""
    names = [" ".join(cell.strip().lower().replace("_", " ").split()) for cell in header]
    found: dict[str, int] = {}
    for index, name in enumerate(names):
        for key, known in (
            ("postcode", POSTCODE_NAMES),
            ("number", NUMBER_NAMES),
            ("letter", LETTER_NAMES),
            ("addition", ADDITION_NAMES),
            ("capacity", CAPACITY_NAMES),
            ("street", STREET_NAMES),
            ("city", CITY_NAMES),
        ):
            if name in known and key not in found:
                found[key] = index
    if "postcode" in found or "number" in found or "street" in found:
        return found
    return None


def read_rows(data: bytes, parsed: Problems) -> Iterator[tuple[int, list[str]]]:
    """The lines of an address file that have something on them, as (line number, cells with
    their spaces stripped). A file over :data:`MAX_BYTES`, one that is no text and a line that
    cannot be read (an unclosed quote, a cell of more than csv's 128 KB) are a problem in
    ``parsed``; then the lines end."""
    if len(data) > MAX_BYTES:
        parsed.refuse(
            _(
                "Het bestand is groter dan %(mb)d MB. Een adressenlijst is veel kleiner: kijk of "
                "je het goede bestand hebt gekozen.",
                mb=MAX_BYTES // (1024 * 1024),
            )
        )
        return
    text = _text(data)
    if text is None:
        parsed.refuse(
            _(
                "Dit bestand is geen tekst. Sla de lijst in Excel op als 'CSV (gescheiden door "
                "lijstscheidingsteken)' en probeer het opnieuw."
            )
        )
        return
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    try:
        for row in reader:
            cells = [cell.strip() for cell in row]
            if any(cells):
                yield reader.line_num, cells
    except csv.Error:
        parsed.refuse(
            _(
                "Regel %(n)d kan niet gelezen worden (een aanhalingsteken dat niet sluit, of een "
                "veel te lange regel).",
                n=reader.line_num,
            )
        )


def refuse_duplicate(
    seen: dict[tuple[str, str], int], line: AddressLine, number: int, parsed: Problems
) -> bool:
    """Whether ``line``'s address was on an earlier line (then it is a problem); else it is
    remembered as on line ``number``."""
    key = (line.postcode, line.house_number)
    if key in seen:
        parsed.refuse(
            _(
                "Regel %(n)d: %(pc)s %(nr)s staat al op regel %(m)d.",
                n=number,
                pc=line.postcode,
                nr=line.house_number,
                m=seen[key],
            )
        )
        return True
    seen[key] = number
    return False


def address_rows(
    data: bytes,
    parsed: Problems,
    columns: dict[str, int],
    required: set[str],
    missing: Callable[[int], str],
) -> Iterator[tuple[int, list[str], dict[str, int]]]:
    """The lines of an address list with the columns they are in: ``columns`` unless the first
    line names them (then it must name every one of ``required``, else ``missing(line)`` is the
    problem and the lines end). At most :data:`MAX_ROWS` lines, counting every line with
    something on it, also one with a problem. Shared by the register and the letters."""
    first = True
    rows = 0
    for number, cells in read_rows(data, parsed):
        if first:
            first = False
            named = header_columns(cells)
            if named is not None:
                if not required <= named.keys():
                    parsed.refuse(missing(number))
                    parsed.given_up = True
                    return
                columns = named
                continue
        rows += 1
        if rows > MAX_ROWS:
            parsed.refuse(
                _("De lijst heeft meer dan %(max)d adressen; dat kan niet.", max=MAX_ROWS)
            )
            parsed.given_up = True
            return
        yield number, cells, columns


def parse_register(data: bytes) -> ParsedRegister:
    """Read the board's file (see the module). Returns the addresses and the problems; the
    caller stores nothing while there is a problem."""
    parsed = ParsedRegister()
    seen: dict[tuple[str, str], int] = {}
    rows = address_rows(
        data,
        parsed,
        {"postcode": 0, "number": 1, "capacity": 2},
        {"postcode", "number"},
        lambda number: _(
            "Regel %(n)d: noem de kolommen 'postcode' en 'huisnummer' (en eventueel 'aantal').",
            n=number,
        ),
    )
    for number, cells, columns in rows:
        line = read_address(cells, columns, number, parsed)
        if line is not None and not refuse_duplicate(seen, line, number, parsed):
            parsed.lines.append(line)
    if parsed.given_up:
        return parsed
    if not parsed.lines and not parsed.problem_count:
        parsed.refuse(_("Het bestand heeft geen adressen."))
    elif parsed.places > MAX_PLACES:
        parsed.refuse(
            _(
                "Samen hebben de adressen %(n)d stemmers; dat mogen er hoogstens %(max)d zijn.",
                n=parsed.places,
                max=MAX_PLACES,
            )
        )
    return parsed


def _cell(cells: list[str], columns: dict[str, int], key: str) -> str:
    index = columns.get(key)
    return cells[index] if index is not None and index < len(cells) else ""


def read_address(
    cells: list[str], columns: dict[str, int], number: int, parsed: Problems
) -> AddressLine | None:
    """Line ``number`` of a file as an address (its cells in ``columns``), or None when
    something on it is wrong (then ``parsed`` says what)."""
    postcode_text = _cell(cells, columns, "postcode")
    postcode = full_postcode(postcode_text) if len(postcode_text) <= MAX_CELL else None
    if postcode is None:
        parsed.refuse(
            _(
                "Regel %(n)d: '%(cell)s' is geen postcode. Schrijf bijvoorbeeld 3531 AB.",
                n=number,
                cell=shown(postcode_text),
            )
        )
        return None
    number_text = " ".join(
        part
        for part in (
            _cell(cells, columns, "number"),
            _cell(cells, columns, "letter"),
            _cell(cells, columns, "addition"),
        )
        if part
    )
    house_number = normalise_house_number(number_text)
    if house_number is None:
        parsed.refuse(
            _(
                "Regel %(n)d: '%(cell)s' is geen huisnummer. Schrijf bijvoorbeeld 12, 12A of 12-2.",
                n=number,
                cell=shown(number_text),
            )
        )
        return None
    street_fine, street = _name(cells, columns, "street", number, parsed)
    city_fine, city = _name(cells, columns, "city", number, parsed)
    if not (street_fine and city_fine):
        return None
    capacity_text = _cell(cells, columns, "capacity")
    if not capacity_text:
        return AddressLine(postcode, house_number, 1, street, city)
    if not (
        len(capacity_text) <= 3
        and capacity_text.isascii()
        and capacity_text.isdigit()
        and 1 <= int(capacity_text) <= MAX_CAPACITY
    ):
        parsed.refuse(
            _(
                "Regel %(n)d: '%(cell)s' is geen aantal stemmers. Vul een heel getal van 1 tot "
                "en met %(max)d in, of laat het leeg (dan is het 1).",
                n=number,
                cell=shown(capacity_text),
                max=MAX_CAPACITY,
            )
        )
        return None
    return AddressLine(postcode, house_number, int(capacity_text), street, city)


def _name(
    cells: list[str], columns: dict[str, int], key: str, number: int, parsed: Problems
) -> tuple[bool, str | None]:
    """Whether the street (``key`` "street") or place ("city") of a line is fine (else
    ``parsed`` says what is wrong), and the name: None when the file has no such column or the
    cell is empty."""
    if key not in columns:
        return True, None
    text = _cell(cells, columns, key)
    name = place_name(text, MAX_STREET if key == "street" else MAX_CITY)
    if name is None:
        if key == "street":
            message = _(
                "Regel %(n)d: '%(cell)s' is geen straatnaam. Een straatnaam heeft hoogstens "
                "%(max)d tekens en begint niet met =, +, - of @.",
                n=number,
                cell=shown(text),
                max=MAX_STREET,
            )
        else:
            message = _(
                "Regel %(n)d: '%(cell)s' is geen plaatsnaam. Een plaatsnaam heeft hoogstens "
                "%(max)d tekens en begint niet met =, +, - of @.",
                n=number,
                cell=shown(text),
                max=MAX_CITY,
            )
        parsed.refuse(message)
        return False, None
    return True, name or None
