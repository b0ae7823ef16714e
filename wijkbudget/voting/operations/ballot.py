"""The rules of a vote, written once for the operations, the pages and the links: what a
selection adds up to and what is wrong with it (:func:`problems`), and who may vote
(:func:`eligibility_refusal`, :func:`voter_refusal`). Reads only; nothing here writes. (How a
ballot form is read into choices: ``voting.forms.read_ballot``.)
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _

from ...accounts.models import User
from ...extensions import utcnow
from ...money import format_cents
from ...proposals.models import Proposal
from ...rounds.models import BallotType, Phase, Round
from .. import queries, register
from ..queries import BallotItem

# --- the rules of a ballot ----------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """What a selection adds up to, for the live bar and the review screen."""

    chosen: int
    cost_cents: int
    points: int
    budget_cents: int

    @property
    def left_cents(self) -> int:
        return self.budget_cents - self.cost_cents


def tally(
    rnd: Round, selection: dict[int, int], proposals: Sequence[Proposal | BallotItem]
) -> Tally:
    by_id = {p.id: p for p in proposals}
    cost = sum(by_id[i].effective_cost_cents for i in selection if i in by_id)
    return Tally(len(selection), cost, sum(selection.values()), rnd.budget_cents)


def problems(
    rnd: Round, selection: dict[int, int], proposals: Sequence[Proposal | BallotItem]
) -> list[str]:
    """Everything wrong with this selection, in plain Dutch (empty: the ballot is valid)."""
    found: list[str] = []
    if rnd.phase != Phase.VOTING:
        found.append(_("Het stemmen is niet open. Stemmen kan alleen in de fase 'Stemmen'."))
    elif not rnd.voting_open(utcnow()):
        found.append(_("De stemming is voorbij: stemmen kan niet meer."))
    by_id = {p.id: p for p in proposals}
    for proposal_id in selection:
        if proposal_id not in by_id:
            found.append(_("Voorstel #%(id)d staat niet op het stembiljet.", id=proposal_id))
    if any(points < 1 for points in selection.values()):
        found.append(_("Geef elk gekozen voorstel minstens 1 punt."))
    if not selection:
        found.append(_("Kies minstens één voorstel."))
        return found
    total = tally(rnd, selection, proposals)
    if rnd.ballot_type == BallotType.APPROVAL:
        if rnd.ballot_max_choices and total.chosen > rnd.ballot_max_choices:
            found.append(
                _(
                    "Je hebt %(n)d voorstellen gekozen; het mogen er hoogstens %(k)d zijn.",
                    n=total.chosen,
                    k=rnd.ballot_max_choices,
                )
            )
        if rnd.ballot_min_choices and total.chosen < rnd.ballot_min_choices:
            found.append(
                _(
                    "Kies minstens %(k)d voorstellen; je hebt er %(n)d gekozen.",
                    n=total.chosen,
                    k=rnd.ballot_min_choices,
                )
            )
    elif rnd.ballot_type == BallotType.KNAPSACK:
        if total.cost_cents > rnd.budget_cents:
            found.append(
                _(
                    "Je keuze kost %(cost)s: dat is %(over)s te veel.",
                    cost=format_cents(total.cost_cents),
                    over=format_cents(total.cost_cents - rnd.budget_cents),
                )
            )
        if (
            rnd.ballot_min_percent
            and total.cost_cents * 100 < rnd.budget_cents * rnd.ballot_min_percent
        ):
            found.append(
                _(
                    "Kies voor minstens %(p)d%% van het budget; je zit op %(cost)s.",
                    p=rnd.ballot_min_percent,
                    cost=format_cents(total.cost_cents),
                )
            )
    elif rnd.ballot_type == BallotType.CUMULATIVE:
        if total.points != rnd.ballot_points:
            found.append(
                _(
                    "Verdeel precies %(n)d punten; je hebt er nu %(given)d verdeeld.",
                    n=rnd.ballot_points or 0,
                    given=total.points,
                )
            )
        cap = rnd.ballot_max_points_each
        if cap and any(points > cap for points in selection.values()):
            found.append(_("Geef één voorstel hoogstens %(m)d punten.", m=cap))
    if rnd.ballot_type != BallotType.CUMULATIVE and any(p != 1 for p in selection.values()):
        found.append(_("Bij dit stembiljet kies je een voorstel, zonder punten."))
    return found


# --- who may vote ---------------------------------------------------------------------------------


def account_refusal(rnd: Round, user: User | None) -> str | None:
    """In accounts mode: why this account cannot vote in this round (None: it can)."""
    if user is None or not user.is_authenticated:
        return str(_("Log in om te stemmen."))
    refusal = rnd.take_part_refusal(user, "vote")
    if refusal is not None:
        return refusal
    if not rnd.is_old_enough(user):
        return str(_("Voor deze ronde moet je minstens %(age)d jaar zijn.", age=rnd.min_age))
    return None


def eligibility_refusal(rnd: Round, user: User | None, *, code_ok: bool) -> str | None:
    """Why this person cannot vote in this round with what they hold (None: they can): a valid
    code of the round (``code_ok``) votes in a round that allows codes; otherwise a round of
    codes only asks for one, and a round that allows accounts asks the account
    (:func:`account_refusal`). The cast, a paper sheet and the ballot's pages all ask this."""
    if code_ok and rnd.eligibility.allows_codes:
        return None
    if not rnd.eligibility.allows_accounts:
        return str(_("In deze ronde stem je met de code uit je brief."))
    return account_refusal(rnd, user)


class Turn(enum.StrEnum):
    """Why a visitor is not (yet) at the ballot: what the page does about it."""

    CLOSED = "closed"  # the vote is not open: the closed page (409)
    CODE = "code"  # a round of codes and no usable code: to the code page
    LOGIN = "login"  # a round of accounts, not logged in: to the login page
    REFUSED = "refused"  # this account may not vote here: the refusal (403)
    VOTED = "voted"  # this account voted already (409)
    ADDRESS = "address"  # a round with an address register: the account's address first


@dataclass(frozen=True)
class VoterRefusal:
    turn: Turn
    message: str | None = None


def voter_refusal(rnd: Round, user: User | None, *, has_code: bool) -> VoterRefusal | None:
    """Whether this visitor can go to the ballot now (None), or why not. ``has_code``: the code
    this visitor entered can still vote in the round (a used code is no code any more, so in a
    round of codes nobody "already voted"; only an account can have).

    In a round of accounts and codes a logged-in account that voted already cannot vote again
    with a code (and one that votes with a code has voted: the cast writes both): one person,
    one vote, by either. Whoever logs out first and then uses a letter is not seen here: only
    an address register ties the two together (docs/door-to-door.md)."""
    if rnd.phase != Phase.VOTING:
        return VoterRefusal(Turn.CLOSED)
    eligibility = rnd.eligibility
    code_ok = has_code and eligibility.allows_codes
    refusal = eligibility_refusal(rnd, user, code_ok=code_ok)
    if refusal is not None:
        if not eligibility.allows_accounts:
            return VoterRefusal(Turn.CODE, refusal)
        # (a round of both: "Stem nu" is the way of the account, to the login; the round's
        # pages have a button of their own to the code page)
        return VoterRefusal(Turn.LOGIN if user is None else Turn.REFUSED, refusal)
    if user is None or not eligibility.allows_accounts:
        return None
    if queries.has_voted(rnd, user=user):
        return VoterRefusal(
            Turn.VOTED, _("Je hebt al gestemd in deze ronde. Er telt één stem per persoon.")
        )
    # a round with an address register: an account votes for its postcode and house number
    # (a code carries its own address)
    if (
        not code_ok
        and register.has_register(rnd)
        and register.account_address_id(rnd, user) is None
    ):
        return VoterRefusal(Turn.ADDRESS)
    return None
