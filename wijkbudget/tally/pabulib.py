"""Reading and writing the ``.pb`` files of pabulib.org.

A file has three sections, in this order: ``META`` (``key;value`` rows), ``PROJECTS`` (one row per
project: ``project_id;cost;...``) and ``VOTES`` (one row per voter: ``voter_id;vote;...``). Fields
are separated by ``;`` and may be quoted like CSV; every section starts with a header row.

What the reader accepts (real files do all of this):

- CRLF or LF line endings, a UTF-8 byte order mark, empty lines, quoted fields with ``;`` inside;
- decimal costs and budgets (``1234.50``): everything is scaled by ``scale = 10**d`` where ``d`` is
  the largest number of decimals written in any amount, so that the rules count in whole units
  (``1234.50`` and ``12.5`` in one file: scale 100). A fraction of only zeros does not count
  (``400000.0`` is whole), so whole-euro files stay at ``scale == 1``, and a file we write reads
  back at the scale it was written with (unless every amount in it is whole: then scale 1);
- any text as project id (``P17``, ``12a``); ids and values are stripped of surrounding spaces;
- a project named twice on one ballot counts once; with points the first mention counts and the
  later ones are ignored;
- ``points`` of 0 are dropped from the ballot (the voter gave that project nothing);
- a project dearer than the whole budget is kept (it simply cannot be funded);
- an empty ``vote`` field is an empty ballot: still a voter, who supports nothing;
- ``vote_type``: ``approval`` and ``choose-1`` are approval, ``cumulative`` and ``scoring`` are
  read as cumulative (points per project), ``ordinal`` keeps the ranking in the ballot's order and
  adds a note that the rules count it as approval of every ranked project;
- a ``selected`` column: the projects with value ``1`` become ``Election.selected`` (some Polish
  files also use ``2`` and ``3`` for projects funded outside the normal count; those are not
  counted as selected);
- ``name`` becomes ``Project.name``; other columns (votes, score, category, age, ...) are skipped.

Anything else that is wrong raises :class:`PabulibError` with the (1-based) line of the file and a
one-line Dutch message, e.g. ``regel 214: onbekend project 'P17'``.

The writer (:func:`dumps`) produces one canonical file for an election: same election, same bytes,
LF line endings, the META keys of the pabulib format in the format's order, and fresh counts
(``num_projects``, ``num_votes``, ``votes`` and ``score`` per project) so that pabulib's checker
accepts it.

Size: one module (over 500 lines) because the reader and the writer are the two halves of one
format: they share its tables (sections, vote types, META keys in order, rule names), and what
the writer produces must read back as the same election (tests/test_pabulib.py checks the round
trip); most of it is the reader's tolerance of real files, listed above.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from .model import BallotKind, Election, Project

__all__ = ["PabulibError", "dumps", "parse", "read", "write"]

SECTIONS = ("META", "PROJECTS", "VOTES")

VOTE_TYPES = {
    "approval": BallotKind.APPROVAL,
    "choose-1": BallotKind.APPROVAL,
    "cumulative": BallotKind.CUMULATIVE,
    "scoring": BallotKind.CUMULATIVE,
    "ordinal": BallotKind.ORDINAL,
}

ORDINAL_NOTE = (
    "Dit bestand bevat rangschikkingen (ordinal); ze zijn geteld als een stem voor elk project "
    "in de rangschikking (approval)."
)

#: META keys of the pabulib format, in the format's order; ``dumps`` writes only these.
META_ORDER = (
    "description",
    "country",
    "unit",
    "district",
    "subunit",
    "instance",
    "num_projects",
    "num_votes",
    "budget",
    "vote_type",
    "rule",
    "date_begin",
    "date_end",
    "min_length",
    "max_length",
    "min_sum_cost",
    "max_sum_cost",
    "min_points",
    "max_points",
    "min_sum_points",
    "max_sum_points",
    "default_score",
    "min_project_cost",
    "max_project_cost",
    "min_project_score_threshold",
    "edition",
    "language",
    "currency",
    "fully_funded",
    "experimental",
    "comment",
    "acknowledgments",
    "leftover_budget",
)
#: written from the election itself, never copied from ``meta``
COUNTED_META = {"num_projects", "num_votes", "budget", "vote_type", "rule"}

#: rule names of the pabulib format
PABULIB_RULES = {
    "greedy",
    "greedy-no-skip",
    "greedy-threshold",
    "greedy-exclusive",
    "greedy-custom",
    "equalshares",
    "equalshares-comparison",
    "equalshares/add1",
    "equalshares/add1-comparison",
    "unknown",
}
#: our rule names (``rules.run``) as pabulib writes them; equal shares completes with add1 unless
#: said otherwise, as in ``rules.run``
RULE_ALIASES = {
    "equal-shares": "equalshares/add1",
    "equal-shares/add1": "equalshares/add1",
    "equal-shares/none": "equalshares",
    "equal-shares/greedy": "unknown",  # pabulib has no name for this completion
}

_AMOUNT = re.compile(r"(\d*)(?:\.(\d*))?")
_INTEGER = re.compile(r"-?\d+")


class PabulibError(ValueError):
    """A file that cannot be read, with the 1-based line where the reader gave up."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"regel {line}: {message}")


# --- reading ----------------------------------------------------------------------------------


def read(path: str | os.PathLike[str]) -> Election:
    """Read a ``.pb`` file. A missing file raises ``OSError`` (``FileNotFoundError``)."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise PabulibError(line, "het bestand is geen UTF-8-tekst") from None
    return parse(text)


def parse(text: str) -> Election:
    """Parse the text of a ``.pb`` file."""
    return _Reader(text).run()


def _amount(text: str) -> tuple[int, int] | None:
    """``"1234.50"`` → ``(123450, 2)``: the digits and the decimals as written (none when they
    are all zeros: ``"400000.0"`` → ``(400000, 0)``); None when the text is not a non-negative
    decimal number."""
    match = _AMOUNT.fullmatch(text)
    if match is None:
        return None
    whole, fraction = match.group(1), match.group(2) or ""
    if not whole and not fraction:
        return None
    if not fraction.strip("0"):
        fraction = ""  # "400000.0" is whole
    return int(whole + fraction or "0"), len(fraction)


def _is_marker(row: list[str]) -> str | None:
    if not row or not row[0]:
        return None
    name = row[0].strip().upper()
    if name in SECTIONS and not any(cell.strip() for cell in row[1:]):
        return name
    return None


def _blank(row: list[str]) -> bool:
    return not any(cell.strip() for cell in row)


class _Reader:
    fast = True  # read VOTES with _fast_votes where it reads them as the csv reader does

    def __init__(self, text: str) -> None:
        if text.startswith("\ufeff"):
            text = text[1:]
        self.text = text
        self.stream = io.StringIO(text, newline="")
        self.reader = csv.reader(self.stream, delimiter=";")
        self.fast_line = 0  # the line being read by _fast_votes (0: the csv reader's line)
        self.meta: dict[str, str] = {}
        self.meta_line = 0
        self.meta_lines: dict[str, int] = {}
        # (id, cost text, name, selected text, line)
        self.raw_projects: list[tuple[str, str, str, str | None, int]] = []
        self.project_ids: dict[str, str] = {}  # id → the same string, to share one object
        self.has_selected = False
        self.kind = BallotKind.APPROVAL
        self.ballots: list[dict[str, int]] = []

    @property
    def line(self) -> int:
        return self.fast_line or self.reader.line_num

    def fail(self, message: str, line: int | None = None) -> PabulibError:
        return PabulibError(self.line if line is None else line, message)

    # the sections ---------------------------------------------------------------------------

    def run(self) -> Election:
        if not self.text.strip():
            raise PabulibError(1, "het bestand is leeg")
        seen: list[str] = []
        row = self._next_nonblank()
        while row is not None:
            name = _is_marker(row)
            expected = SECTIONS[len(seen)] if len(seen) < len(SECTIONS) else None
            if name is None:  # only at the start: each section reads up to the next one
                raise self.fail("het bestand begint niet met META")
            if name in seen:
                raise self.fail(f"het deel {name} staat twee keer in het bestand")
            if name != expected:
                raise self.fail(f"het deel {expected} ontbreekt (vóór {name})")
            seen.append(name)
            section = {"META": self._meta, "PROJECTS": self._projects, "VOTES": self._votes}
            row = section[name]()
            if name == "META":
                self._check_meta()
        if len(seen) < len(SECTIONS):
            raise PabulibError(self._end_line(), f"het deel {SECTIONS[len(seen)]} ontbreekt")
        return self._election()

    def _end_line(self) -> int:
        return max(1, self.text.count("\n") + (0 if self.text.endswith("\n") else 1))

    def _next_nonblank(self) -> list[str] | None:
        for row in self.reader:
            if not _blank(row):
                return row
        return None

    def _header(self, section: str, required: Iterable[str]) -> tuple[dict[str, int], int]:
        row = self._next_nonblank()
        if row is None or _is_marker(row):
            line = self.line if row is not None else self._end_line()
            raise PabulibError(line, f"de kopregel van {section} ontbreekt")
        columns: dict[str, int] = {}
        for index, cell in enumerate(row):
            columns.setdefault(cell.strip().lower(), index)
        for name in required:
            if name not in columns:
                raise self.fail(f"de kolom '{name}' ontbreekt in {section}")
        return columns, self.line

    def _meta(self) -> list[str] | None:
        self.meta_line = self.line
        first = True
        for row in self.reader:
            if _blank(row):
                continue
            if _is_marker(row):
                return row
            key = row[0].strip()
            if first and key.lower() == "key":  # the header row; some files leave it out
                first = False
                continue
            first = False
            self.meta[key] = row[1].strip() if len(row) > 1 else ""
            self.meta_lines[key] = self.line
        return None

    def _check_meta(self) -> None:
        if "budget" not in self.meta:
            raise PabulibError(self.meta_line, "het budget ontbreekt in META")
        self.kind = self._vote_type()

    def _projects(self) -> list[str] | None:
        columns, _line = self._header("PROJECTS", ("project_id", "cost"))
        id_at, cost_at = columns["project_id"], columns["cost"]
        name_at, selected_at = columns.get("name"), columns.get("selected")
        self.has_selected = selected_at is not None
        for row in self.reader:
            if _blank(row):
                continue
            if _is_marker(row):
                return row
            width = len(row)
            pid = row[id_at].strip() if id_at < width else ""
            if not pid:
                raise self.fail("project zonder project_id")
            if pid in self.project_ids:
                raise self.fail(f"project '{pid}' staat twee keer in PROJECTS")
            self.project_ids[pid] = pid
            cost = row[cost_at].strip() if cost_at < width else ""
            name = row[name_at].strip() if name_at is not None and name_at < width else ""
            selected = (
                row[selected_at].strip()
                if selected_at is not None and selected_at < width
                else None
            )
            self.raw_projects.append((pid, cost, name, selected, self.line))
        return None

    def _vote_type(self) -> BallotKind:
        vote_type = self.meta.get("vote_type", "approval").strip().lower() or "approval"
        if vote_type not in VOTE_TYPES:
            line = self.meta_lines.get("vote_type", self.meta_line)
            raise PabulibError(line, f"onbekend stemtype '{self.meta['vote_type']}'")
        return VOTE_TYPES[vote_type]

    def _votes(self) -> list[str] | None:
        kind = self.kind
        columns, header_line = self._header("VOTES", ("vote",))
        vote_at = columns["vote"]
        points_at = columns.get("points") if kind is BallotKind.CUMULATIVE else None
        if kind is BallotKind.CUMULATIVE and points_at is None:
            raise PabulibError(header_line, "de kolom 'points' ontbreekt in VOTES")
        rest = self.text[self.stream.tell() :]
        if (
            self.fast
            and '"' not in rest
            and "\x00" not in rest
            and rest.count("\r") == rest.count("\r\n")
        ):
            return self._fast_votes(rest, header_line + 1, vote_at, points_at)
        ids = self.project_ids
        cache: dict[object, dict[str, int]] = {}
        ballots = self.ballots
        for row in self.reader:
            width = len(row)
            if width <= 1:  # an empty line, a section, or a voter without a vote column
                if _blank(row):
                    continue
                if name := _is_marker(row):
                    raise self.fail(f"het deel {name} staat twee keer in het bestand")
            vote = row[vote_at] if vote_at < width else ""
            if points_at is None:
                ballot = cache.get(vote)
                if ballot is None:
                    ballot = cache[vote] = self._approval(vote, ids)
            else:
                points = row[points_at] if points_at < width else ""
                key = (vote, points)
                ballot = cache.get(key)
                if ballot is None:
                    ballot = cache[key] = self._points(vote, points, ids)
            ballots.append(ballot.copy())
        return None

    def _fast_votes(
        self, rest: str, first: int, vote_at: int, points_at: int | None
    ) -> list[str] | None:
        """``_votes`` for the rest of the file (``rest``, from line ``first`` on) when it has no
        quotes, no NUL and no line break but LF and CRLF (nearly always): a row is then its line
        split at ``;``, exactly as the csv reader would split it, and splitting lines with str
        methods is much faster. The rows are read as in ``_votes``."""
        if "\r" in rest:
            rest = rest.replace("\r\n", "\n")
        lines = rest.split("\n")
        if lines and not lines[-1]:
            lines.pop()  # the end of the last line
        keys = self._bulk_keys(lines, vote_at, points_at)
        if keys is not None:
            with contextlib.suppress(PabulibError):  # the loop below finds the error's line
                self._add_ballots(keys, self._bulk_ballots(keys, points_at is not None))
                return None
        ids = self.project_ids
        cache: dict[object, dict[str, int]] = {}
        keys = []
        for number, line in enumerate(lines, first):
            row = line.split(";")
            width = len(row)
            if width <= 1:  # an empty line, a section, or a voter without a vote column
                if _blank(row):
                    continue
                if name := _is_marker(row):
                    self.fast_line = number
                    raise self.fail(f"het deel {name} staat twee keer in het bestand")
            vote = row[vote_at] if vote_at < width else ""
            if points_at is None:
                key: object = vote
                if vote not in cache:
                    self.fast_line = number
                    cache[vote] = self._approval(vote, ids)
            else:
                key = (vote, row[points_at] if points_at < width else "")
                if key not in cache:
                    self.fast_line = number
                    cache[key] = self._points(vote, key[1], ids)
            keys.append(key)
        self.fast_line = 0
        self._add_ballots(keys, cache)
        return None

    @staticmethod
    def _bulk_keys(lines: list[str], vote_at: int, points_at: int | None) -> list[Any] | None:
        """The vote (approval) or (vote, points) of every line, when every line has both
        columns (nearly always): passes in C instead of a loop. None otherwise (then the loop
        reads the lines: short rows, and lines without ``;`` that may be empty or a section)."""
        last = vote_at if points_at is None else max(vote_at, points_at)
        if last == 0:
            return None  # a line without ";" would be read as a vote here
        cut = last + 1
        try:
            if points_at is None:
                return [line.split(";", cut)[vote_at] for line in lines]
            return [(row[vote_at], row[points_at]) for row in (x.split(";", cut) for x in lines)]
        except IndexError:
            return None

    def _bulk_ballots(self, keys: list[Any], points: bool) -> dict[object, dict[str, int]]:
        """The ballot of every distinct key of ``_bulk_keys``. A key in error raises, with a line
        that may be wrong (the caller reads the lines again)."""
        ids = self.project_ids
        if points:
            return {key: self._points(key[0], key[1], ids) for key in dict.fromkeys(keys)}
        get = ids.__getitem__
        try:  # as in _approval, without a call per ballot
            return {
                vote: dict.fromkeys(map(get, vote.split(",")), 1) for vote in dict.fromkeys(keys)
            }
        except KeyError:
            return {vote: self._approval(vote, ids) for vote in dict.fromkeys(keys)}

    def _add_ballots(self, keys: list[object], cache: dict[object, dict[str, int]]) -> None:
        self.ballots.extend([cache[key].copy() for key in keys])  # a dict per voter

    def _split(self, vote: str, ids: dict[str, str]) -> list[str]:
        found = []
        for item in vote.split(","):
            pid = item.strip()
            if not pid:
                continue
            known = ids.get(pid)
            if known is None:
                raise self.fail(f"onbekend project '{pid}'")
            found.append(known)
        return found

    def _approval(self, vote: str, ids: dict[str, str]) -> dict[str, int]:
        # keeps the first of a repeat: the rank
        try:  # the common case: known ids, no spaces, no empty items
            return dict.fromkeys(map(ids.__getitem__, vote.split(",")), 1)
        except KeyError:
            return dict.fromkeys(self._split(vote, ids), 1)

    def _points(self, vote: str, points: str, ids: dict[str, str]) -> dict[str, int]:
        projects = self._split(vote, ids)
        values = [p.strip() for p in points.split(",")] if points.strip() else []
        if len(values) != len(projects):
            raise self.fail(
                f"{len(projects)} project(en) in 'vote' maar {len(values)} getal(len) in 'points'"
            )
        ballot: dict[str, int] = {}
        for pid, value in zip(projects, values, strict=True):
            if _INTEGER.fullmatch(value):
                number = int(value)
            else:
                amount = _amount(value)  # "3.0" is 3
                if amount is None or amount[1]:
                    raise self.fail(f"punten '{value}' zijn geen geheel getal")
                number = amount[0]
            if number < 0:
                raise self.fail(f"negatieve punten ({value}) voor project '{pid}'")
            if number and pid not in ballot:
                ballot[pid] = number
        return ballot

    # the election ---------------------------------------------------------------------------

    def _parsed_amount(self, text: str, line: int, project: str | None) -> tuple[int, int]:
        amount = _amount(text)
        if amount is not None:
            return amount
        what = "het budget" if project is None else f"de kosten van project '{project}'"
        if not text:
            raise PabulibError(line, f"{what}: geen bedrag ingevuld")
        if text.startswith("-") and _amount(text[1:]) is not None:
            raise PabulibError(line, f"{what}: negatief bedrag ({text})")
        raise PabulibError(line, f"{what}: '{text}' is geen getal (schrijf bijvoorbeeld 1234.50)")

    def _election(self) -> Election:
        budget_line = self.meta_lines["budget"]
        budget = self._parsed_amount(self.meta["budget"], budget_line, None)
        costs = [
            self._parsed_amount(cost, line, pid)
            for pid, cost, _name, _selected, line in self.raw_projects
        ]
        decimals = max([budget[1], *(c[1] for c in costs)])
        scale = 10**decimals

        def scaled(amount: tuple[int, int]) -> int:
            factor: int = 10 ** (decimals - amount[1])  # (decimals is the largest: a whole number)
            return amount[0] * factor

        projects = {
            pid: Project(id=pid, cost=scaled(cost), name=name)
            for (pid, _c, name, _s, _l), cost in zip(self.raw_projects, costs, strict=True)
        }
        selected = None
        if self.has_selected:
            selected = {pid for pid, _c, _n, flag, _l in self.raw_projects if flag == "1"}
        notes = [ORDINAL_NOTE] if self.kind is BallotKind.ORDINAL else []
        return Election(
            projects=projects,
            budget=scaled(budget),
            kind=self.kind,
            ballots=self.ballots,
            scale=scale,
            meta=self.meta,
            selected=selected,
            notes=notes,
        )


# --- writing ----------------------------------------------------------------------------------


def money(value: int | Fraction, scale: int) -> str:
    """An amount in internal units as the file writes it, in units of the currency:
    ``money(123450, 100) == "1234.50"``; whole files (``scale == 1``) have no decimals."""
    decimals = len(str(scale)) - 1
    if scale < 1 or scale != 10**decimals:
        raise ValueError(f"scale must be a power of ten, not {scale}")
    value = Fraction(value)
    if value.denominator != 1:
        raise ValueError(f"{value} is not a whole number of internal units")
    whole, part = divmod(abs(int(value)), scale)
    sign = "-" if value < 0 else ""
    return f"{sign}{whole}.{part:0{decimals}d}" if decimals else f"{sign}{whole}"


def _pabulib_rule(rule: str) -> str:
    rule = rule.strip()
    if rule in PABULIB_RULES:
        return rule
    return RULE_ALIASES.get(rule, "unknown")


def _one_line(text: str) -> str:
    """Names on one line and without spaces around them (pabulib's checker reads lines)."""
    return " ".join(text.splitlines()).strip()


def _check_id(pid: str) -> None:
    if not pid or pid != pid.strip() or "," in pid or "\n" in pid or "\r" in pid:
        raise ValueError(f"project id {pid!r} cannot be written to a .pb file")


def dumps(election: Election) -> str:
    """The election as a ``.pb`` file (text with LF line endings)."""
    kind = BallotKind(election.kind)
    cumulative = kind is BallotKind.CUMULATIVE
    for pid in election.projects:
        _check_id(pid)
    votes = dict.fromkeys(election.projects, 0)
    scores = dict.fromkeys(election.projects, 0)
    for ballot in election.ballots:
        for pid, points in ballot.items():
            if pid not in votes:
                raise ValueError(f"a ballot names project {pid!r}, which is not in the election")
            votes[pid] += 1
            scores[pid] += points

    meta: dict[str, str] = {
        key: str(election.meta[key]).strip()
        for key in META_ORDER
        if key not in COUNTED_META and str(election.meta.get(key, "")).strip()
    }
    meta["num_projects"] = str(len(election.projects))
    meta["num_votes"] = str(len(election.ballots))
    meta["budget"] = money(election.budget, election.scale)
    meta["vote_type"] = kind.value
    if str(election.meta.get("rule", "")).strip():
        meta["rule"] = _pabulib_rule(str(election.meta["rule"]))
    order = {key: i for i, key in enumerate(META_ORDER)}

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    out.write("META\n")
    writer.writerow(["key", "value"])
    meta_rows = sorted(meta.items(), key=lambda item: order[item[0]])
    writer.writerows(meta_rows)

    out.write("PROJECTS\n")
    selected = election.selected
    header = ["project_id", "cost", "votes"]
    header += ["score"] if cumulative else []
    named = any(project.name.strip() for project in election.projects.values())
    header += ["name"] if named else []  # pabulib's checker refuses empty names
    header += ["selected"] if selected is not None else []
    writer.writerow(header)
    for pid, project in election.projects.items():
        row = [pid, money(project.cost, election.scale), str(votes[pid])]
        row += [str(scores[pid])] if cumulative else []
        row += [_one_line(project.name)] if named else []
        if selected is not None:
            row.append("1" if pid in selected else "0")
        writer.writerow(row)

    out.write("VOTES\n")
    writer.writerow(["voter_id", "vote", "points"] if cumulative else ["voter_id", "vote"])
    for number, ballot in enumerate(election.ballots, start=1):
        if cumulative:
            writer.writerow(
                [number, ",".join(ballot), ",".join(str(points) for points in ballot.values())]
            )
        else:
            writer.writerow([number, ",".join(ballot)])
    return out.getvalue()


def write(election: Election, path: str | os.PathLike[str]) -> None:
    """Write the election to ``path`` (UTF-8, LF line endings)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(dumps(election))
