"""A round's address register (issue 19): each address votes at most as often as it has voter
places, whatever the channel.

The board uploads a CSV of addresses before the vote opens (voting/addresses.py reads it). From
then on every cast names an address, and claims one of its places with a conditional update
(``UPDATE register_address SET used = used + 1 WHERE id = … AND used < capacity``, its rowcount
checked) in the cast's own transaction, after the participation: two casts for the last place
meet on that row, and one of them is refused (409).

Where the address comes from:

- an account: its postcode and house number (the ballot page asks for the house number when it
  is missing; the pair must be on the register); the house number is not checked any further,
  so the register caps what a false one can do, it does not prevent it;
- a code: made per address from the register (one per voter place: the board's codes page), or
  a walk-in code given at the table for a postcode and house number; a code without an address
  cannot vote in a round with a register;
- a paper sheet: the address of its code, or of the account it names.

A paper batch that is discarded gives its places back. The register is erased by the board once
the round is counted (nothing else erases codes after a round either): the addresses go, the
codes and participations keep no address; the round keeps ``register_max_votes`` (the rules
page says what the rule was).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, delete, func, insert, select, update

from .. import permissions
from ..accounts.models import User
from ..audit.operations import record
from ..extensions import db
from ..rounds import operations as rounds
from ..rounds.models import Phase, Round
from ..usecase import Conflict, lock_or_gone, use_case
from . import fast
from .addresses import (
    MAX_PROBLEMS,
    ParsedRegister,
    full_postcode,
    normalise_house_number,
    parse_register,
)
from .codes import code_hash, normalise_code
from .models import (
    AlreadyVoted,
    CodeBatch,
    Participation,
    RegisterAddress,
    VotingCode,
    VotingError,
)


class AddressFull(AlreadyVoted):
    """Every place of the address has voted (409)."""


class RegisterRefused(VotingError):
    """The file has problems: nothing was stored. ``problems``: the first few, line by line."""

    def __init__(self, parsed: ParsedRegister) -> None:
        more = parsed.problem_count - len(parsed.problems)
        message = _("De adressenlijst is niet opgeslagen: er staan fouten in.")
        if more > 0:
            message += " " + _(
                "Hieronder de eerste %(n)d; er zijn er nog %(more)d.", n=MAX_PROBLEMS, more=more
            )
        super().__init__(message)
        self.problems = list(parsed.problems)


def has_register(rnd: Round) -> bool:
    return rnd.register_max_votes is not None


@dataclass(frozen=True)
class Summary:
    addresses: int
    places: int
    used: int


def summary(rnd: Round) -> Summary:
    """How many addresses and voter places the register has, and how many have voted."""
    addresses, places, used = db.session.execute(
        select(
            func.count(RegisterAddress.id),
            func.coalesce(func.sum(RegisterAddress.capacity), 0),
            func.coalesce(func.sum(RegisterAddress.used), 0),
        ).where(RegisterAddress.round_id == rnd.id)
    ).one()
    return Summary(int(addresses), int(places), int(used))


def find_address(round_id: int, postcode: str, house_number: str) -> RegisterAddress | None:
    """The register's address for what someone typed (normalised here), or None."""
    pc = full_postcode(postcode)
    number = normalise_house_number(house_number)
    if pc is None or number is None:
        return None
    return db.session.scalar(
        select(RegisterAddress).where(
            RegisterAddress.round_id == round_id,
            RegisterAddress.postcode == pc,
            RegisterAddress.house_number == number,
        )
    )


def account_address_id(rnd: Round, user: User) -> int | None:
    """The register's address of this account's postcode and house number (None: none)."""
    if not user.postcode or not user.house_number:
        return None
    return db.session.scalar(
        select(RegisterAddress.id).where(
            RegisterAddress.round_id == rnd.id,
            RegisterAddress.postcode == user.postcode,
            RegisterAddress.house_number == user.house_number,
        )
    )


# --- the cast -------------------------------------------------------------------------------------


def address_for_cast(rnd: Round, *, user: User | None, code: VotingCode | None) -> int | None:
    """The address a cast counts against (None: the round has no register). Reads only; the
    claim (:func:`claim`) comes after the participation."""
    if not has_register(rnd):
        return None
    if code is not None:
        if code.address_id is None:
            raise VotingError(
                _(
                    "Deze stemcode hoort bij geen adres van de adressenlijst van deze ronde, en "
                    "kan daarom niet stemmen. Vraag het bestuur om een nieuwe code."
                )
            )
        return code.address_id
    if user is None:
        return None  # (refused by the cast: no account and no code)
    address_id = account_address_id(rnd, user)
    if address_id is None:
        raise VotingError(
            _(
                "In deze ronde stemt elk adres een vast aantal keer. Vul eerst je postcode en "
                "huisnummer in op het stembiljet; ze moeten op de adressenlijst van het bestuur "
                "staan."
            )
        )
    return address_id


def claim(address_id: int) -> None:
    """One place of the address, for this cast: a conditional update on the address's row
    (concurrent casts for its last place: one changes it, the others are refused, 409)."""
    if not fast.claim_place(address_id):
        raise AddressFull(
            _(
                "Vanaf dit adres is al zo vaak gestemd als de adressenlijst toestaat. Er telt "
                "geen stem meer bij. Klopt dat niet? Neem contact op met het bestuur."
            )
        )


def release_batch(batch_id: int) -> None:
    """A paper batch is discarded: the places its sheets took are free again (before its
    participations are deleted, in the same use case, which holds the batch's lock)."""
    _release(Participation.paper_batch_id == batch_id)


def release_sheet(participation_id: int) -> None:
    """One paper sheet is struck out: the place it took at its address is free again (before
    its participation is deleted, in the same use case, which holds the batch's lock)."""
    _release(Participation.id == participation_id)


def _release(which: ColumnElement[bool]) -> None:
    """The places the participations ``which`` took, given back (``used`` lowered by as many),
    address by address in the order of their ids."""
    taken = db.session.execute(
        select(Participation.address_id, func.count(Participation.id))
        .where(which, Participation.address_id.is_not(None))
        .group_by(Participation.address_id)
        .order_by(Participation.address_id)
    ).all()
    for address_id, count in taken:
        db.session.execute(
            update(RegisterAddress)
            .where(RegisterAddress.id == address_id)
            .values(used=RegisterAddress.used - count)
            .execution_options(synchronize_session=False)
        )


# --- the board --------------------------------------------------------------------------------


def board_only(board: User, rnd: Round) -> None:
    """Refused (403-like message) unless ``board`` is on the board of the round's wijk."""
    if not permissions.is_board(board, rnd.neighbourhood):
        raise VotingError(_("Alleen het bestuur van de wijk kan dit doen."))


@use_case
def upload_register(board: User, rnd: Round, data: bytes) -> Summary:
    """The board's file becomes the round's register, replacing the one before. Only before
    the vote opens, and only while no code of the round can vote (codes made before have no
    address, or one of the register being replaced: revoke them first). Nothing is stored when
    the file has a problem (:class:`RegisterRefused`, with the problems line by line).

    Locks: the round (``rounds.lock_round``, ``FOR UPDATE``): a cast holds it ``FOR SHARE``,
    so an upload and the opening of the vote (by date or by the board) do not overlap."""
    board_only(board, rnd)
    parsed = parse_register(data)  # before the lock: reading a big file takes a moment
    if parsed.problem_count:
        raise RegisterRefused(parsed)
    rnd = rounds.lock_round(rnd)
    if not rnd.is_before(Phase.VOTING):
        raise VotingError(_("Het stemmen is begonnen: de adressenlijst kan niet meer veranderen."))
    codes = _unrevoked_codes(rnd)
    if codes:
        raise VotingError(
            _(
                "Deze ronde heeft al %(n)d stemcodes die kunnen stemmen. Trek die stapels eerst "
                "in; maak daarna de codes uit de nieuwe adressenlijst.",
                n=codes,
            )
        )
    replaced = _delete_addresses(rnd)
    db.session.execute(
        insert(RegisterAddress),
        [
            {
                "round_id": rnd.id,
                "postcode": line.postcode,
                "house_number": line.house_number,
                "capacity": line.capacity,
                "used": 0,
                "street": line.street,
                "city": line.city,
            }
            for line in parsed.lines
        ],
    )
    rnd.register_max_votes = max(line.capacity for line in parsed.lines)
    record(
        "register.upload",
        actor=board,
        role="board",
        obj=rnd,
        neighbourhood=rnd.neighbourhood_id,
        after={
            "adressen": len(parsed.lines),
            "stemmers": parsed.places,
            "vervangen": replaced or None,
        },
    )
    return Summary(len(parsed.lines), parsed.places, 0)


@use_case
def erase_register(board: User, rnd: Round) -> int:
    """The addresses go: before the vote (the round then has no register), or once the round
    is counted (the addresses are no longer needed; codes and participations keep no address,
    and the round keeps its rule for the rules page). Never during the vote. Returns how many
    addresses were erased.

    Locks: the round (``rounds.lock_round``, ``FOR UPDATE``): no cast is under way."""
    board_only(board, rnd)
    rnd = rounds.lock_round(rnd)
    before = rnd.is_before(Phase.VOTING)
    if not before and not rnd.has_reached(Phase.RESULT):
        raise VotingError(
            _("Tijdens het stemmen blijft de adressenlijst staan. Wis hem na de uitslag.")
        )
    if before:
        codes = _unrevoked_codes(rnd, of_register=True)
        if codes:
            raise VotingError(
                _(
                    "Er zijn %(n)d stemcodes gemaakt uit deze adressenlijst. Trek die stapels "
                    "eerst in.",
                    n=codes,
                )
            )
    erased = _delete_addresses(rnd)
    if before:
        rnd.register_max_votes = None
    record(
        "register.erase",
        actor=board,
        role="board",
        obj=rnd,
        neighbourhood=rnd.neighbourhood_id,
        after={"adressen": erased},
    )
    return erased


def _unrevoked_codes(rnd: Round, *, of_register: bool = False) -> int:
    """How many codes of the round are not revoked (with ``of_register``: of those, the ones
    made from the register, for an address)."""
    query = select(func.count(VotingCode.id)).where(
        VotingCode.round_id == rnd.id, VotingCode.revoked_at.is_(None)
    )
    if of_register:
        query = query.where(VotingCode.address_id.is_not(None))
    return db.session.scalar(query) or 0


def _delete_addresses(rnd: Round) -> int:
    """Delete the round's register; returns how many addresses it had."""
    erased = db.session.execute(
        delete(RegisterAddress).where(RegisterAddress.round_id == rnd.id)
    ).rowcount  # type: ignore[attr-defined]  # a DELETE gives a CursorResult; typed as Result
    return int(erased or 0)


def batch_addresses(batch: CodeBatch, codes: Sequence[str]) -> list[tuple[str, str] | None]:
    """The address of each code of a batch (in the order of ``codes``, as shown), or None for a
    code without one. Reads only."""
    rows = db.session.execute(
        select(VotingCode.code_hash, RegisterAddress.postcode, RegisterAddress.house_number)
        .join(RegisterAddress, RegisterAddress.id == VotingCode.address_id)
        .where(VotingCode.batch_id == batch.id)
    ).all()
    if not rows:
        return [None] * len(codes)
    by_hash = {h: (postcode, number) for h, postcode, number in rows}
    return [by_hash.get(code_hash(normalise_code(code))) for code in codes]


def walk_in_address(rnd: Round, postcode: str, house_number: str) -> int | None:
    """The register's address for a walk-in code (None: the round has no register). Refused
    when it is not on the register or has no place left."""
    if not has_register(rnd):
        return None
    if full_postcode(postcode) is None or normalise_house_number(house_number) is None:
        raise VotingError(
            _("Vul de postcode en het huisnummer van de bezoeker in, bijvoorbeeld 3531 AB en 12A.")
        )
    address = find_address(rnd.id, postcode, house_number)
    if address is None:
        raise VotingError(
            _(
                "%(pc)s %(nr)s staat niet op de adressenlijst van deze ronde.",
                pc=full_postcode(postcode),
                nr=normalise_house_number(house_number),
            )
        )
    if address.used >= address.capacity:
        raise Conflict(
            _(
                "Vanaf %(pc)s %(nr)s is al zo vaak gestemd als de adressenlijst toestaat.",
                pc=address.postcode,
                nr=address.house_number,
            )
        )
    return address.id


# --- the voter ------------------------------------------------------------------------------------


@use_case
def set_voting_address(user: User, rnd: Round, postcode: str, house_number: str) -> None:
    """A voter in a round with a register gives their postcode and house number; they must be
    on the register. Kept on the account (erased with it).

    Locks: the account (``FOR UPDATE``): a deletion at the same moment wins or waits."""
    pc = full_postcode(postcode)
    number = normalise_house_number(house_number)
    if pc is None:
        raise VotingError(_("Dit is geen hele postcode. Schrijf bijvoorbeeld 3531 AB."))
    if number is None:
        raise VotingError(_("Dit is geen huisnummer. Schrijf bijvoorbeeld 12, 12A of 12-2."))
    if find_address(rnd.id, pc, number) is None:
        raise VotingError(
            _(
                "%(pc)s %(nr)s staat niet op de adressenlijst van deze ronde. Kijk of je het "
                "goed hebt geschreven; klopt het wel, neem dan contact op met het bestuur.",
                pc=pc,
                nr=number,
            )
        )
    user = lock_or_gone(User, user)
    if user.is_deleted:
        raise Conflict(_("Dit account is verwijderd."))
    user.postcode = pc
    user.house_number = number
