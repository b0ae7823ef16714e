"""What the letters with voting codes of a round say (issue 21), in the request's language: the
texts every letter shares (:func:`letter_text`, read from the round, its proposals on the ballot
and its voting places), the address a letter's QR code opens (:func:`qr_url`), and the CSV for a
print shop that makes the letters itself (:func:`print_shop_csv`). voting/letters_pdf.py draws
the PDF from them.

The dates and times are in Europe/Amsterdam (the app's time zone), in Dutch words ("dinsdag 1
juni 2027, 9:00 uur"). The CSV goes through ``exports.to_csv``: a cell that looks like a formula
arrives as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from flask_babel import format_datetime
from flask_babel import gettext as _

from ..exports import to_csv
from ..money import format_whole_euros
from ..neighbourhoods.models import Neighbourhood
from ..rounds.models import Round
from ..urls import external_url, public_url
from . import queries
from .models import VotingPlace
from .operations.letters import Letter


def qr_url(vote_url: str, code: str) -> str:
    """The address a letter's QR code opens: the code page with the code filled in."""
    return f"{vote_url}?{urlencode({'code': code})}"


# --- what every letter of the round says ---------------------------------------------------------


@dataclass(frozen=True)
class LetterText:
    """The texts that every letter of a round shares, in the request's language."""

    title: str  # of the PDF file
    wijk: str  # "Wijk West", at the top
    site: str  # "wijkbudget.example.nl"
    sender: str  # the line above the address
    heading: str
    intro: str
    vote_url: str  # the code page, absolute (the QR codes)
    how: str
    when_heading: str
    when: list[str]
    proposals: list[tuple[str, str]]  # (title, cost) of every proposal on the ballot
    round_address: str  # the round's page, without "https://"
    places: list[str]
    paper: str
    footer: str


def letter_text(wijk: Neighbourhood, rnd: Round) -> LetterText:
    """What the round's letters say: read from the round, its proposals on the ballot and its
    voting places. Needs an app context with a public address (``PUBLIC_URL``)."""
    vote_url = external_url("voting.enter_code")
    round_address = _bare(external_url("rounds.show", slug=wijk.slug, round_id=rnd.id))
    places = queries.voting_places(rnd)
    return LetterText(
        title=_("Stembrieven %(round)s", round=rnd.title),
        wijk=_("Wijk %(wijk)s", wijk=wijk.name),
        site=_bare(public_url()),
        sender=_("Afzender: het bestuur van wijk %(wijk)s", wijk=wijk.name),
        heading=_("Je stem telt: kies mee over %(round)s", round=rnd.title),
        intro=" ".join(
            [
                _(
                    "Wijk %(wijk)s heeft %(budget)s te besteden. Bewoners hebben plannen gemaakt "
                    "voor de wijk. Jij kiest mee welke plannen het geld krijgen.",
                    wijk=wijk.name,
                    budget=format_whole_euros(rnd.budget_cents),
                ),
                _("Je hebt geen account nodig: met de stemcode in deze brief stem je online."),
            ]
        ),
        vote_url=vote_url,
        how=_(
            "Scan de QR-code met de camera van je telefoon, of ga naar %(address)s en vul de "
            "code in. De code werkt één keer: bewaar deze brief tot je gestemd hebt.",
            address=_bare(vote_url),
        ),
        when_heading=_("Wanneer kun je stemmen?"),
        when=_when(rnd, round_address),
        proposals=[
            (p.title, format_whole_euros(p.effective_cost_cents))
            for p in queries.ballot_proposals(rnd)
        ],
        round_address=round_address,
        places=[_place(p) for p in places],
        paper=_paper(wijk, bool(places)),
        footer=_(
            "Deze brief komt van het bestuur van wijk %(wijk)s. Alles over deze ronde staat op "
            "%(url)s",
            wijk=wijk.name,
            url=round_address,
        ),
    )


def _bare(url: str) -> str:
    """An address as people type it: without "https://"."""
    return url.split("://", 1)[-1]


def _when(rnd: Round, round_address: str) -> list[str]:
    if rnd.voting_opens and rnd.result_opens:
        return [
            _("van %(moment)s", moment=_moment(rnd.voting_opens)),
            _("tot %(moment)s", moment=_moment(rnd.result_opens)),
        ]
    if rnd.result_opens:
        return [_("tot %(moment)s", moment=_moment(rnd.result_opens))]
    return [_("Dat staat op %(url)s", url=round_address)]


def _moment(when: datetime) -> str:
    """ "maandag 1 juni 2026, 9:00 uur" (in Europe/Amsterdam: the app's time zone)."""
    return _(
        "%(day)s, %(time)s uur",
        day=format_datetime(when, "EEEE d MMMM yyyy"),
        time=format_datetime(when, "H:mm"),
    )


def _place(place: VotingPlace) -> str:
    text = _(
        "%(name)s, %(address)s: %(day)s, van %(opens)s tot %(closes)s uur",
        name=place.name,
        address=place.address,
        day=format_datetime(place.opens_at, "EEEE d MMMM"),
        opens=format_datetime(place.opens_at, "H:mm"),
        closes=format_datetime(place.closes_at, "H:mm"),
    )
    return f"{text} ({place.note})" if place.note else text


def _paper(wijk: Neighbourhood, has_places: bool) -> str:
    if has_places:
        where = _("Vraag op een stemlocatie een stembiljet.")
    else:
        where = _("Vraag een stembiljet aan het bestuur van wijk %(wijk)s.", wijk=wijk.name)
    return " ".join(
        [
            where,
            _(
                "Schrijf je stemcode erop, zet een kruisje bij de plannen die jij wilt en lever "
                "het weer in. Stem op papier of online, niet allebei: de code telt één keer."
            ),
        ]
    )


# --- the print shop's CSV ------------------------------------------------------------------------


def print_shop_csv(letters: Sequence[Letter], vote_url: str) -> str:
    """One row per letter, in the order of the PDF: the address, the code and the QR code's
    address, for a print shop that prints the letters with its own mail merge."""
    header = [
        "volgnummer",
        "straat",
        "huisnummer",
        "postcode",
        "plaats",
        "stemcode",
        "qr_adres",
        "brief_van_adres",
    ]
    rows = (
        [
            number,
            letter.street or "",
            letter.house_number or "",
            letter.postcode or "",
            letter.city or "",
            letter.code,
            qr_url(vote_url, letter.code),
            _("%(n)d van %(of)d", n=letter.voter, of=letter.voters),
        ]
        for number, letter in enumerate(letters, start=1)
    )
    return to_csv(header, rows)
