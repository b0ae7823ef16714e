"""The audit log for people: amounts in euros ("€ 80,00", not "bedrag=8000"), the object by its
kind and title ("project 'Bankjes'", not "funded_project 1"), people by their display name
("penvoerder: Ria", not "penvoerder=13"), phase dates in Dutch time, and fixed values in Dutch
words. The log itself keeps what was recorded (``AuditEvent.before``/``after``, "key=value"
pairs written by ``audit.operations.summarise``); this only reads it.

Names and titles for a page of events are read in one query per kind (no query per event).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import User
from ..extensions import db
from ..money import format_cents
from ..permissions import role_name
from ..proposals.models import Proposal, state_label
from ..rounds.models import Round, phase_label
from ..spending.models import FundedProject
from .models import AuditEvent

#: keys whose value is an amount in cents
MONEY_KEYS = frozenset({"bedrag", "budget", "min", "max", "schatting", "terug", "btw"})
#: keys whose value is an account's id
PERSON_KEYS = frozenset({"penvoerder", "user"})
#: keys whose value is a moment in UTC (ISO 8601)
DATE_KEYS = frozenset(
    {
        "submission_opens", "review_opens", "support_opens", "voting_opens", "result_opens",
        "execution_opens", "closes_at",
    }
)  # fmt: skip

#: what each key is called
KEY_LABELS = {
    "bedrag": _l("bedrag"),
    "budget": _l("budget"),
    "min": _l("minimum per voorstel"),
    "max": _l("maximum per voorstel"),
    "schatting": _l("schatting"),
    "terug": _l("terug naar de wijk"),
    "btw": _l("btw"),
    "penvoerder": _l("penvoerder"),
    "user": _l("bewoner"),
    "uitgave": _l("uitgave"),
    "boeking": _l("boeking"),
    "reden": _l("reden"),
    "titel": _l("titel"),
    "fase": _l("fase"),
    "status": _l("status"),
    "stembiljet": _l("stembiljet"),
    "regel": _l("regel"),
    "stemmers": _l("wie stemt"),
    "steunen": _l("steunen"),
    "drempel": _l("drempel"),
    "leeftijd": _l("leeftijd"),
    "punten": _l("punten"),
    "k": _l("keuzes"),
    "role": _l("rol"),
    "wijk": _l("wijk"),
    "dagen": _l("dagen"),
    "submission_opens": _l("indienen begint"),
    "review_opens": _l("toetsing begint"),
    "support_opens": _l("steunen begint"),
    "voting_opens": _l("stemmen begint"),
    "result_opens": _l("einde van de stemming"),
    "execution_opens": _l("uitvoering begint"),
    "closes_at": _l("ronde sluit"),
}

#: what each kind of object is called
OBJECT_LABELS = {
    "funded_project": _l("project"),
    "budget_round": _l("ronde"),
    "proposal": _l("voorstel"),
    "neighbourhood": _l("wijk"),
    "user_account": _l("account"),
    "expense": _l("uitgave"),
    "comment": _l("reactie"),
    "thread": _l("gesprek"),
}

#: fixed values in words
VALUE_WORDS = {
    "True": _l("ja"),
    "False": _l("nee"),
    "approval": _l("kiezen"),
    "knapsack": _l("binnen het budget kiezen"),
    "cumulative": _l("punten verdelen"),
    "greedy": _l("meeste stemmen eerst"),
    "equal_shares": _l("evenredig"),
    "accounts": _l("met een account"),
    "codes": _l("met een stemcode"),
    "accounts_and_codes": _l("met een account of een stemcode"),
    "not_started": _l("nog niet gestart"),
    "in_progress": _l("bezig"),
    "done": _l("afgerond"),
    "stopped": _l("gestopt"),
}

# a pair starts after ", " with a key of lower-case letters and "=": a reason may hold ", "
_PAIR = re.compile(r"(?:^|, )([a-z_]+)=")
#: an amount in cents as the log holds it
_CENTS = re.compile(r"-?[0-9]{1,15}")


def pairs(summary: str) -> list[tuple[str, str]]:
    """ "bedrag=8000, reden=Te duur, echt" → [("bedrag", "8000"), ("reden", "Te duur, echt")]."""
    found = list(_PAIR.finditer(summary or ""))
    if not found:
        return []
    result = []
    for match, following in zip(found, [*found[1:], None], strict=True):
        end = following.start() if following is not None else len(summary)
        result.append((match.group(1), summary[match.end() : end]))
    return result


def _value(key: str, value: str, people: dict[int, str]) -> str:
    if key in MONEY_KEYS and _CENTS.fullmatch(value):
        return format_cents(int(value))
    if key in PERSON_KEYS and value.isdigit():
        return people.get(int(value), str(_l("account %(id)s", id=value)))
    if key in DATE_KEYS:
        try:
            return format_datetime(datetime.fromisoformat(value), "d MMM yyyy HH:mm")
        except ValueError:
            return value
    if key == "fase":
        try:
            return phase_label(value)
        except ValueError:
            return value
    if key == "status":
        try:
            return state_label(value)
        except ValueError:
            pass
    if key == "role":
        return role_name(value)
    word = VALUE_WORDS.get(value)
    return str(word) if word is not None else value


def readable(summary: str, people: dict[int, str], only: set[str] | None = None) -> str:
    """One summary in words: "bedrag: € 80,00 · penvoerder: Ria" (``only``: those keys)."""
    return " · ".join(
        f"{KEY_LABELS.get(key, key.replace('_', ' '))}: {_value(key, value, people)}"
        for key, value in pairs(summary)
        if only is None or key in only
    )


def changed_keys(before: str, after: str) -> set[str] | None:
    """The keys whose value differs between before and after, when both name the same keys
    (a round edit records all its fields twice: the page shows what changed); else None."""
    old, new = dict(pairs(before)), dict(pairs(after))
    if not old or not new:
        return None
    changed = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    return changed or None


@dataclass(frozen=True)
class Readable:
    subject: str  # "project 'Bankjes'"
    before: str
    after: str


def _people(events: list[AuditEvent]) -> dict[int, str]:
    ids = {
        int(value)
        for event in events
        for text in (event.before, event.after)
        for key, value in pairs(text)
        if key in PERSON_KEYS and value.isdigit() and len(value) < 12
    }
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {row.id: row.display_name or str(_l("account %(id)s", id=row.id)) for row in rows}


def _titles(events: list[AuditEvent]) -> dict[tuple[str, int], str]:
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if event.object_type and event.object_id is not None:
            wanted[event.object_type].add(event.object_id)
    titles: dict[tuple[str, int], str] = {}
    if wanted.get("budget_round"):
        for row in db.session.execute(
            select(Round.id, Round.title).where(Round.id.in_(wanted["budget_round"]))
        ):
            titles["budget_round", row.id] = row.title
    if wanted.get("proposal"):
        for row in db.session.execute(
            select(Proposal.id, Proposal.title).where(Proposal.id.in_(wanted["proposal"]))
        ):
            titles["proposal", row.id] = row.title
    if wanted.get("funded_project"):
        for row in db.session.execute(
            select(FundedProject.id, Proposal.title)
            .join(Proposal, Proposal.id == FundedProject.proposal_id)
            .where(FundedProject.id.in_(wanted["funded_project"]))
        ):
            titles["funded_project", row.id] = row.title
    return titles


def subject(event: AuditEvent, titles: dict[tuple[str, int], str]) -> str:
    if not event.object_type:
        return ""
    kind = OBJECT_LABELS.get(event.object_type)
    name = str(kind) if kind is not None else event.object_type.replace("_", " ")
    title = titles.get((event.object_type, event.object_id or 0))
    return f"{name} '{title}'" if title else f"{name} {event.object_id}"


def events(items: Iterable[AuditEvent]) -> dict[int, Readable]:
    """Each event of a page in words, by its id: a fixed number of queries for the page."""
    listed = list(items)
    people, titles = _people(listed), _titles(listed)
    result = {}
    for event in listed:
        only = changed_keys(event.before, event.after)
        result[event.id] = Readable(
            subject=subject(event, titles),
            before=readable(event.before, people, only),
            after=readable(event.after, people, only),
        )
    return result
