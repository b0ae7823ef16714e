"""Input that cannot hold a worker: every pattern applied to user input runs in linear time
(checked on its structure, not by timing; the figures are in benchmarks/backtracking.py),
every text field has a maximum length, and a display name cannot hide characters or pose as a
role (issue 18, points 1 and 10)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import unicodedata
from pathlib import Path
from re import _constants as C  # noqa: N812
from re import _parser
from typing import Any

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.fields.core import UnboundField
from wtforms.validators import Length, Regexp

import wijkbudget
from tests.test_accounts import profile_data, register_data
from wijkbudget.accounts.models import User
from wijkbudget.accounts.names import display_name_problem, normalise_display_name
from wijkbudget.extensions import db
from wijkbudget.money import AMOUNT_MAX_LENGTH, MoneyError, parse_euros
from wijkbudget.neighbourhoods.models import normalise_postcode, postcode_digits
from wijkbudget.neighbourhoods.operations import NeighbourhoodError, parse_postcode_ranges
from wijkbudget.rounds.forms import EuroField

PACKAGE = Path(wijkbudget.__file__).parent


def _modules() -> list[Any]:
    return [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(wijkbudget.__path__, "wijkbudget.")
    ]


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def _form_classes() -> list[type]:
    _modules()
    return sorted(
        (form for form in _subclasses(FlaskForm) if form.__module__.startswith("wijkbudget.")),
        key=lambda form: (form.__module__, form.__name__),
    )


def _unbound_fields(form: type) -> list[tuple[str, UnboundField]]:
    return inspect.getmembers(form, lambda value: isinstance(value, UnboundField))


def _validators(unbound: UnboundField) -> list[Any]:
    return list(unbound.kwargs.get("validators") or [])


# --- a structural check for super-linear patterns ---------------------------------------------
#
# Python's re backtracks. A pattern takes more than linear time when, for one input, it can
# split a run of characters in many ways: a repeat inside a repeat ((a+)+, (\s*x?)*), two
# repeats next to each other (only optional things between them) that take the same characters
# (\s*\s*, \s*(AB)?\s*$: quadratic), alternatives in a repeat that start alike or may be
# empty ((a|aa)*), or,
# used with search(), sub() or split(), a pattern that starts with an unbounded repeat and can
# still fail after it (\s*-: every start position scans the whole run again).

_REPEATS = {C.MAX_REPEAT, C.MIN_REPEAT}
# characters to test sets against: ASCII and a few of each kind beyond it
_UNIVERSE = [chr(i) for i in range(128)] + list("\u00a0\u2003\u3000\u0663é\u0414\u00b2")
_CATEGORY_PATTERNS = {
    C.CATEGORY_DIGIT: r"\d",
    C.CATEGORY_NOT_DIGIT: r"\D",
    C.CATEGORY_SPACE: r"\s",
    C.CATEGORY_NOT_SPACE: r"\S",
    C.CATEGORY_WORD: r"\w",
    C.CATEGORY_NOT_WORD: r"\W",
}


class SuperLinear(Exception):
    pass


class _Checker:
    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.flags = pattern.flags
        self.tree = _parser.parse(pattern.pattern, pattern.flags)

    def _sub(self, items: list[Any]) -> _parser.SubPattern:
        return _parser.SubPattern(self.tree.state, items)

    def nullable(self, item: Any) -> bool:
        return self._sub([item]).getwidth()[0] == 0

    def charset(self, item: Any) -> set[str]:
        """The characters one item's first character can be."""
        op, av = item
        if op in (C.LITERAL, C.NOT_LITERAL):
            chars = {chr(av)}
            if self.flags & re.IGNORECASE:
                chars |= {chr(av).swapcase()}
            return set(_UNIVERSE) - chars if op is C.NOT_LITERAL else chars
        if op is C.ANY:
            return set(_UNIVERSE) - {"\n"}
        if op is C.IN:
            return self._in(av)
        if op in _REPEATS or op is C.POSSESSIVE_REPEAT:
            return self.first(av[2])
        if op is C.SUBPATTERN:
            return self.first(av[3])
        if op is C.ATOMIC_GROUP:
            return self.first(av)
        if op is C.BRANCH:
            return set().union(*(self.first(alt) for alt in av[1]))
        return set()

    def _in(self, items: list[Any]) -> set[str]:
        chars: set[str] = set()
        negate = False
        for op, av in items:
            if op is C.NEGATE:
                negate = True
            elif op is C.LITERAL:
                chars |= {chr(av), chr(av).swapcase()} if self.flags & re.I else {chr(av)}
            elif op is C.RANGE:
                chars |= {c for c in _UNIVERSE if av[0] <= ord(c) <= av[1]}
            elif op is C.CATEGORY:
                flags = self.flags & re.ASCII
                chars |= {c for c in _UNIVERSE if re.match(_CATEGORY_PATTERNS[av], c, flags)}
        return set(_UNIVERSE) - chars if negate else chars

    def first(self, seq: Any) -> set[str]:
        chars: set[str] = set()
        for item in seq:
            chars |= self.charset(item)
            if not self.nullable(item):
                break
        return chars

    @staticmethod
    def variable(item: Any) -> bool:
        op, av = item
        return op in _REPEATS and av[0] != av[1]

    def leading_repeats(self, item: Any) -> set[str]:
        """The characters a variable repeat at the start of this item can take."""
        op, av = item
        if self.variable(item):
            return self.first(av[2])
        if op is C.SUBPATTERN:
            return self._leading_of(av[3])
        if op is C.BRANCH:
            return set().union(*(self._leading_of(alt) for alt in av[1]))
        return set()

    def _leading_of(self, seq: Any) -> set[str]:
        chars: set[str] = set()
        for item in seq:
            chars |= self.leading_repeats(item)
            if not self.nullable(item):
                break
        return chars

    def trailing_repeats(self, item: Any) -> set[str]:
        """The characters a variable repeat at the end of this item can take."""
        op, av = item
        if self.variable(item):
            return self.first(av[2])
        if op is C.SUBPATTERN:
            return self._trailing_of(av[3])
        if op is C.BRANCH:
            return set().union(*(self._trailing_of(alt) for alt in av[1]))
        return set()

    def _trailing_of(self, seq: Any) -> set[str]:
        chars: set[str] = set()
        for item in reversed(list(seq)):
            chars |= self.trailing_repeats(item)
            if not self.nullable(item):
                break
        return chars

    def check(self) -> None:
        self._sequence(self.tree, inside_repeat=False)
        items = list(self.tree)
        anchored = (
            bool(items)
            and items[0] == (C.AT, C.AT_BEGINNING)
            or (bool(items) and items[0] == (C.AT, C.AT_BEGINNING_STRING))
        )
        if items and not anchored:
            op, av = items[0]
            rest = self._sub(items[1:])
            if op in _REPEATS and av[1] == C.MAXREPEAT and rest.getwidth()[0] > 0:
                raise SuperLinear("starts with an unbounded repeat that can fail after it")

    def _sequence(self, seq: Any, *, inside_repeat: bool) -> None:
        items = list(seq)
        for index, item in enumerate(items):
            self._item(item, inside_repeat=inside_repeat)
            taken = self.trailing_repeats(item)
            if not taken:
                continue
            for later in items[index + 1 :]:
                if taken & self.leading_repeats(later):
                    raise SuperLinear("two repeats side by side take the same characters")
                if not self.nullable(later):
                    break

    def _item(self, item: Any, *, inside_repeat: bool) -> None:
        op, av = item
        if op in _REPEATS:
            low, high, body = av
            repeats = high != low and (high == C.MAXREPEAT or high > 1)
            if inside_repeat and low != high:
                raise SuperLinear("a variable repeat inside a repeat")
            self._sequence(body, inside_repeat=inside_repeat or (repeats and high > 1))
        elif op is C.SUBPATTERN:
            self._sequence(av[3], inside_repeat=inside_repeat)
        elif op is C.BRANCH:
            alternatives = av[1]
            if inside_repeat:
                if any(self._sub(list(alt)).getwidth()[0] == 0 for alt in alternatives):
                    raise SuperLinear("an optional alternative inside a repeat")
                seen: set[str] = set()
                for alternative in alternatives:
                    first = self.first(alternative)
                    if first & seen:
                        raise SuperLinear("alternatives in a repeat start alike")
                    seen |= first
            for alternative in alternatives:
                self._sequence(alternative, inside_repeat=inside_repeat)
        elif op in (C.ASSERT, C.ASSERT_NOT):
            self._sequence(av[1], inside_repeat=inside_repeat)
        # possessive repeats and atomic groups never backtrack into themselves


def assert_linear(pattern: re.Pattern[str]) -> None:
    _Checker(pattern).check()


def patterns_on_user_input() -> list[tuple[str, re.Pattern[str]]]:
    """Every compiled pattern of the package (module constants) and every Regexp of a form."""
    found: dict[str, re.Pattern[str]] = {}
    for module in _modules():
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                found[f"{module.__name__}.{name}"] = value
    for form in _form_classes():
        for name, unbound in _unbound_fields(form):
            for validator in _validators(unbound):
                if isinstance(validator, Regexp):
                    found[f"{form.__module__}.{form.__name__}.{name}"] = validator.regex
    return sorted(found.items())


PATTERNS = patterns_on_user_input()


def test_the_registry_holds_the_patterns_on_user_input() -> None:
    names = {name for name, _pattern in PATTERNS}
    assert {
        "wijkbudget.money._AMOUNT",
        "wijkbudget.money._DOT_DECIMAL",
        "wijkbudget.neighbourhoods.operations.RANGE_RE",
        "wijkbudget.forms.CONTROL_CHARS",
        "wijkbudget.audit.forms.AuditFilterForm.subject",
    } <= names


@pytest.mark.parametrize(("name", "pattern"), PATTERNS, ids=[name for name, _p in PATTERNS])
def test_no_pattern_is_super_linear(name: str, pattern: re.Pattern[str]) -> None:
    assert_linear(pattern)


def test_every_pattern_is_a_module_constant_the_check_sees() -> None:
    """re.sub(r"...", …) in a function would escape the registry above: patterns are
    compiled once, as module constants (or a form's Regexp)."""
    calls = {"match", "search", "fullmatch", "sub", "subn", "split", "findall", "finditer"}
    hidden = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "re"
                    and node.func.attr in calls | {"compile"}
                ):
                    hidden.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert hidden == []


# the patterns this issue found or that are known to explode: the check must refuse each
BAD = [
    r"^\s*([1-9][0-9]{3})\s*([A-Za-z]{2})?\s*$",  # the old postcode: 40,000 spaces, 4 s
    r"\s*-\s*",  # the old postcode ranges (with sub): quadratic in a run of spaces
    r"^(a+)+$",
    r"^(\w+\s?)*$",
    r"^(a|aa)*c$",
    r"^(ab|ac|a)*$",
    r"^\d+\d*x$",
    r"^(\s*,)*\s*$",
    r"^(.*)*$",
    r"^([a-z]+\.?)+@",
]
GOOD = [
    r"^([1-9][0-9]{3})(?:-([1-9][0-9]{3}))?$",
    r"^(?P<int>\d{1,3}(?:\.\d{3})+|\d+)(?:,(?P<dec>\d{1,2}))?$",
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]",
    r"[,;\s]+",
    r"^\d+x\d+$",
    r"^(budget_round|funded_project|proposal):[0-9]{1,12}$",
]


@pytest.mark.parametrize("source", BAD)
def test_the_check_refuses_backtracking_patterns(source: str) -> None:
    with pytest.raises(SuperLinear):
        assert_linear(re.compile(source))


@pytest.mark.parametrize("source", GOOD)
def test_the_check_lets_linear_patterns_through(source: str) -> None:
    assert_linear(re.compile(source))


# --- the parsers that replaced patterns: same answers, and a cap before anything else ----------


@pytest.mark.parametrize(
    ("typed", "digits", "normal"),
    [
        ("3512 AB", 3512, "3512 AB"),
        (" 3512ab ", 3512, "3512 AB"),
        ("3512\u00a0ab", 3512, "3512 AB"),
        ("3512   AB", 3512, "3512 AB"),
        ("3512", 3512, "3512"),
        ("0512 AB", None, "0512 AB"),
        ("3512 SS", None, "3512 SS"),
        ("3512 A", None, "3512 A"),
        ("3512 ABC", None, "3512 ABC"),
        ("351 2AB", None, "351 2AB"),
        ("٣٥١٢ AB", None, "٣٥١٢ AB"),
        ("3512 ÄB", None, "3512 ÄB"),
        ("", None, ""),
        ("3512" + " " * 40_000 + "x", None, "3512"),
    ],
)
def test_postcodes_are_parsed_without_a_pattern(typed: str, digits: int | None, normal: str):
    assert postcode_digits(typed) == digits
    assert normalise_postcode(typed) == normal


def test_postcode_ranges_parse_as_before(app: Any) -> None:
    assert parse_postcode_ranges("3531 - 3533 ,3541;3542\n3550 -3551") == [
        (3531, 3533),
        (3541, 3541),
        (3542, 3542),
        (3550, 3551),
    ]
    with pytest.raises(NeighbourhoodError, match="geen postcodegebied"):
        parse_postcode_ranges("3531 -- 3533")
    with pytest.raises(NeighbourhoodError, match="te lang"):
        parse_postcode_ranges(" " * 100_000 + "x")


def test_an_amount_is_capped_before_it_is_parsed(app: Any) -> None:
    assert parse_euros("€ " + "1" + " " * (AMOUNT_MAX_LENGTH - 3)) == 100
    with pytest.raises(MoneyError, match="geen bedrag"):
        parse_euros("1" + " " * AMOUNT_MAX_LENGTH + "x")
    with pytest.raises(MoneyError, match="te groot"):
        parse_euros("9" * 5000)
    with pytest.raises(MoneyError, match="twee cijfers achter de komma"):
        parse_euros("1.250,505")
    with pytest.raises(MoneyError, match="geen bedrag"):
        parse_euros("abc,505")


# --- every text field has a maximum -----------------------------------------------------------

#: text fields whose length is capped elsewhere, with where
CAPPED_ELSEWHERE = {EuroField: "parse_euros refuses more than AMOUNT_MAX_LENGTH characters first"}


def test_every_text_field_of_every_form_has_a_maximum_length() -> None:
    forms = _form_classes()
    assert len(forms) > 20
    missing = []
    for form in forms:
        for name, unbound in _unbound_fields(form):
            if not issubclass(unbound.field_class, StringField):
                continue
            if unbound.field_class in CAPPED_ELSEWHERE:
                continue
            if not any(
                isinstance(validator, Length) and validator.max > 0
                for validator in _validators(unbound)
            ):
                missing.append(f"{form.__module__}.{form.__name__}.{name}")
    assert missing == []


def test_text_fields_fit_their_columns() -> None:
    """A free text field's maximum is at most the size of the column it is stored in."""
    from wijkbudget.accounts.forms import NAME_MAX, POSTCODE_MAX

    columns = User.__table__.columns
    assert columns["display_name"].type.length >= NAME_MAX
    assert columns["postcode"].type.length >= POSTCODE_MAX
    assert columns["work_postcode"].type.length >= POSTCODE_MAX


# --- a huge postcode is a 422 with a Dutch message, quickly -----------------------------------

HUGE = "3531" + " " * 100_000 + "x"
POSTCODE_MESSAGE = "Dit is geen Nederlandse postcode. Schrijf bijvoorbeeld 3531 AB."


@pytest.fixture
def west(make_wijk: Any) -> Any:
    return make_wijk("West", areas=("Lombok",))


def test_a_huge_postcode_on_registration_is_a_422(client: Any, west: Any) -> None:
    response = client.post(
        "/registreren",
        register_data(place=f"w{west.id}", postcode=HUGE),
        page="/registreren",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert POSTCODE_MESSAGE in page
    assert HUGE not in page
    assert db.session.scalar(select(User).where(User.email == "fatima@example.org")) is None


def test_a_huge_work_postcode_on_the_account_page_is_a_422(
    client: Any, west: Any, make_user: Any
) -> None:
    user = make_user("jan@example.org", wijk=west)
    client.login("jan@example.org")
    response = client.post(
        "/account/gegevens", profile_data(**{"profile-work_postcode": HUGE}), page="/account"
    )
    assert response.status_code == 422
    assert POSTCODE_MESSAGE in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).work_postcode is None


# --- display names ----------------------------------------------------------------------------

HIDDEN = [
    "Henk\u202eruuts",  # right-to-left override
    "Henk\u202a",
    "Henk\u2066West\u2069",  # isolates
    "Jan\u200bJansen",  # zero-width space
    "Jan\u200dJansen",  # zero-width joiner
    "Jan\u200eJansen",  # left-to-right mark
    "Jan\u2060Jansen",  # word joiner
    "Jan\u2062Jansen",  # invisible times
    "\ufeffJan",  # byte order mark
    "Jan\u00adJansen",  # soft hyphen
    "Jan\x07",  # a control character
    "Jan\u2028Jansen",  # line separator
    "Jan\u2029Jansen",  # paragraph separator
    "Jan\ue000",  # private use
    "Jan\u3164",  # Hangul filler
    "Jan\u2800",  # braille blank
    "Jan\u1680Jansen",  # Ogham space mark
    "Ja\u0301\u0301\u0301\u0301n",  # stacked accents (NFKC makes the first part of the á)
]
ROLES = [
    "Henk (bestuur West)",
    "Bestuur",
    "Bestüur",
    "ＢＥＳＴＵＵＲ",  # full-width letters
    "B3stuur",
    "b e s t u u r",
    "b.e.s.t.u.u.r",
    "Wijkbestuurslid Ans",
    "Raadslid Piet",
    "Raads1id Piet",
    "RAADSLID",
    "Beheer",
    "Jan de Beheerder",
    "Admin",
    "sysadmin",
    "Administratie",
    "@dmin",
    "Moderator",
    "Wijkbudget",
    "W1jkbudget",
    "Team Wijkbudget",
    "Gemeente",
    "Henk (board)",
    "Councillor Ann",
    "Henk Вestuur",  # a Cyrillic В: refused as mixed scripts
]
FINE = [
    "Henk",
    "Fatima",
    "Zoë",
    "José",
    "Ĳsbrand",
    "Jan B.",
    "Ad Minkes",
    "Badminton Bert",
    "Robbe Stuurman",
    "Mo Dekker",
    "Анна",
    "山田 花子",
    "Zoë 山田",
    "Ans van der Heer",
]


@pytest.mark.parametrize("name", HIDDEN)
def test_a_name_with_hidden_characters_is_refused(app: Any, name: str) -> None:
    problem = display_name_problem(name)
    assert problem is not None and "onzichtbare tekens" in problem


@pytest.mark.parametrize("name", ROLES)
def test_a_name_that_poses_as_a_role_is_refused(app: Any, name: str) -> None:
    problem = display_name_problem(name)
    assert problem is not None
    assert "lijken op een rol" in problem or "verschillende schriften" in problem


@pytest.mark.parametrize("name", FINE)
def test_ordinary_names_are_fine(app: Any, name: str) -> None:
    assert display_name_problem(name) is None


def test_names_are_stored_in_nfkc() -> None:
    assert normalise_display_name(" Ｈｅｎｋ ") == "Henk"
    assert normalise_display_name("Ĳ") == unicodedata.normalize("NFKC", "Ĳ")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Henk (bestuur West)", "lijken op een rol"),
        ("Henk\u202eruuts", "onzichtbare tekens"),
    ],
)
def test_registration_refuses_the_name(client: Any, west: Any, name: str, message: str) -> None:
    response = client.post(
        "/registreren", register_data(place=f"w{west.id}", display_name=name), page="/registreren"
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "fatima@example.org")) is None


def test_registration_stores_the_name_in_nfkc(client: Any, west: Any) -> None:
    response = client.post(
        "/registreren",
        register_data(place=f"w{west.id}", display_name="Ｆａｔｉｍａ"),
        page="/registreren",
    )
    assert response.status_code == 303
    user = db.session.scalar(select(User).where(User.email == "fatima@example.org"))
    assert user.display_name == "Fatima"


def test_the_account_page_refuses_a_new_name_but_keeps_an_old_one(
    client: Any, west: Any, make_user: Any
) -> None:
    user = make_user("jan@example.org", wijk=west, name="Jan (bestuur West)")  # from before
    client.login("jan@example.org")
    response = client.post(
        "/account/gegevens",
        profile_data(**{"profile-display_name": "Jan (beheer)"}),
        page="/account",
    )
    assert response.status_code == 422
    assert "lijken op een rol" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).display_name == "Jan (bestuur West)"

    # the old name, sent back unchanged with another change, is kept
    response = client.post(
        "/account/gegevens",
        profile_data(**{"profile-display_name": "Jan (bestuur West)", "profile-language": "en"}),
        page="/account",
    )
    assert response.status_code == 303
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.display_name, user.language) == ("Jan (bestuur West)", "en")


def test_the_operation_checks_the_name_too(app: Any, west: Any, make_user: Any) -> None:
    from wijkbudget.accounts.operations import AccountError, update_profile

    user = make_user("jan@example.org", wijk=west)
    with pytest.raises(AccountError, match="lijken op een rol"):
        update_profile(user, display_name="Moderator", language="nl", area=None)
    update_profile(user, display_name=" Jan ", language="nl", area=None)
    assert db.session.get(User, user.id).display_name == "Jan"
