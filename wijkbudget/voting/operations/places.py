"""Voting places: where and when residents can vote on paper or get a code at the desk (a
buurthuis, a market stall). The board lists them per round; the round page and the letters show
them; a walk-in code records the place that handed it out (``codes.issue_walk_in_code``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from ...accounts.models import User
from ...audit.operations import record
from ...extensions import db
from ...rounds.models import Phase, Round
from ...usecase import Conflict, lock_or_gone, use_case
from ..models import CodeBatch, VotingError, VotingPlace
from ..register import board_only

#: more than this many places in one round is a mistake (or a page nobody can read)
MAX_PLACES = 50
#: one opening of a place lasts at most this long (a week of market days is several places)
LONGEST_OPENING = timedelta(hours=24)


@use_case
def add_voting_place(
    board: User,
    rnd: Round,
    *,
    name: str,
    address: str,
    opens_at: datetime,
    closes_at: datetime,
    note: str = "",
) -> VotingPlace:
    """A new voting place with one opening (times in UTC).

    Locks: the round ``FOR SHARE`` (its stored phase decides: no new places once the vote is
    over; the count of places is checked under it, and two boards adding at once may both pass
    it at the limit: harmless, the limit is a sanity check, not a rule)."""
    board_only(board, rnd)
    name, address, note = name.strip(), address.strip(), note.strip()
    if not name or not address:
        raise VotingError(_("Vul de naam en het adres van de stemlocatie in."))
    if closes_at <= opens_at:
        raise VotingError(_("De stemlocatie moet later sluiten dan ze opengaat."))
    if closes_at - opens_at > LONGEST_OPENING:
        raise VotingError(
            _("Een opening duurt hoogstens een dag. Zet elke dag als eigen stemlocatie.")
        )
    rnd = lock_or_gone(Round, rnd, read=True)
    if rnd.has_reached(Phase.RESULT):
        raise VotingError(_("Het stemmen is voorbij: er kunnen geen stemlocaties meer bij."))
    count = db.session.scalar(
        select(func.count()).select_from(VotingPlace).where(VotingPlace.round_id == rnd.id)
    )
    if (count or 0) >= MAX_PLACES:
        raise VotingError(_("Een ronde heeft hoogstens %(n)d stemlocaties.", n=MAX_PLACES))
    place = VotingPlace(
        round_id=rnd.id,
        name=name[:120],
        address=address[:200],
        opens_at=opens_at,
        closes_at=closes_at,
        note=note[:300],
    )
    db.session.add(place)
    db.session.flush()
    record(
        "voting_place.add",
        actor=board,
        role="board",
        obj=place,
        neighbourhood=rnd.neighbourhood,
        after={"naam": place.name, "adres": place.address},
    )
    return place


@use_case
def remove_voting_place(board: User, rnd: Round, place: VotingPlace) -> None:
    """The place goes from the round page and the letters still to be printed. A place whose
    desk handed out codes stays (the codes' record says where they came from): 409.

    Locks: the place (``FOR UPDATE``); a walk-in code issued at it at the same moment takes the
    place ``FOR SHARE`` first (``codes.issue_walk_in_code``), so one of the two waits."""
    board_only(board, rnd)
    place = lock_or_gone(VotingPlace, place)
    handed_out = db.session.scalar(
        select(CodeBatch.id).where(CodeBatch.voting_place_id == place.id).limit(1)
    )
    if handed_out is not None:
        raise Conflict(
            _(
                "Bij deze stemlocatie zijn al stemcodes uitgegeven. Ze blijft staan, zodat "
                "bekend blijft waar die codes vandaan komen."
            )
        )
    record(
        "voting_place.remove",
        actor=board,
        role="board",
        obj=place,
        neighbourhood=rnd.neighbourhood,
        before={"naam": place.name, "adres": place.address},
    )
    db.session.delete(place)
