"""Letters with voting codes (issue 21, "van deur tot deur"): a batch of codes made from the
board's address list, one letter (one code) per voter of each address; and the letters of any
batch that can still be printed, for the PDF and the print shop's CSV.

Three kinds of batch give letters:

- made from an address list (:func:`make_letters`): the batch's codes with a ``LetterAddress``
  per address, which names the codes it carries (``first_code`` up to ``first_code + voters``);
- made from the round's address register (``make_codes_from_register``): each code carries its
  register address (``voting_code.address_id``), with the street and place if the register's
  file had them;
- made as a number of codes (``generate_codes``): letters "Aan de bewoners" without an address.

The codes are derived from the batch's seed while the letters can be printed; marking the batch
printed or revoking it wipes the seed and deletes its ``LetterAddress`` rows (operations/codes.py),
so no list of addresses stays beside the codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, select

from ...accounts.models import User
from ...audit.operations import record
from ...extensions import db, table_of
from ...rounds.models import Round
from ...usecase import lock_or_gone, use_case
from ..addresses import MAX_CAPACITY, AddressLine
from ..codes import code_hash, normalise_code
from ..letters import MAX_LETTERS
from ..models import CodeBatch, LetterAddress, RegisterAddress, VotingCode, VotingError
from ..register import board_only, has_register
from .codes import batch_codes, generate_codes


@dataclass(frozen=True)
class Letter:
    """One letter: its code (grouped for reading) and where it goes. Without an address (a
    batch made as a number of codes) the letter is for "de bewoners"."""

    code: str
    street: str | None = None
    house_number: str | None = None
    postcode: str | None = None
    city: str | None = None
    #: which of the address's letters this is (1 up to ``voters``): one per voter
    voter: int = 1
    voters: int = 1

    @property
    def has_address(self) -> bool:
        return self.postcode is not None


class Kind:
    """How a batch's letters are addressed."""

    LIST = "list"  # from an address list (LetterAddress)
    REGISTER = "register"  # from the round's address register
    PLAIN = "plain"  # a number of codes: "Aan de bewoners"


@use_case(
    conflict=_l(
        "Deze brieven zijn net al gemaakt (twee keer op de knop gedrukt?). Kijk in de lijst "
        "hieronder."
    )
)
def make_letters(
    board: User,
    rnd: Round,
    lines: Sequence[AddressLine],
    *,
    label: str = "",
    form_token: str | None = None,
) -> CodeBatch:
    """A batch of codes for the addresses of ``lines`` (read by ``letters.parse_letters``): one
    code per voter of each address, in the order of the list. ``form_token``: the same form
    sent twice (a double click) gets the batch the first made.

    Locks: as ``generate_codes`` (the round ``FOR SHARE``); a second batch from the same form is
    refused by the unique ``form_token`` (409) or found first. The ``LetterAddress`` rows are
    new rows of the new batch: nobody else can hold them."""
    board_only(board, rnd)
    if form_token:
        made = db.session.scalar(select(CodeBatch).where(CodeBatch.form_token == form_token))
        if made is not None and made.round_id == rnd.id:
            return made  # the same form again: what it made the first time
    if has_register(rnd):
        raise VotingError(
            _(
                "Deze ronde heeft een adressenlijst: elke code hoort bij een adres van die lijst. "
                "Maak de brieven uit de adressenlijst."
            )
        )
    if not lines:
        raise VotingError(_("Het bestand heeft geen adressen."))
    if any(not line.street or not 1 <= line.capacity <= MAX_CAPACITY for line in lines):
        raise ValueError("every line has a street and 1 to MAX_CAPACITY voters")
    total = sum(line.capacity for line in lines)
    if total > MAX_LETTERS:
        raise VotingError(
            _(
                "Samen zijn dat %(n)d brieven; dat mogen er hoogstens %(max)d tegelijk zijn. "
                "Verdeel de lijst over twee bestanden.",
                n=total,
                max=MAX_LETTERS,
            )
        )
    batch = generate_codes(
        board, rnd, total, label=label.strip() or _("Brieven"), form_token=form_token
    )
    rows = []
    first_code = 0
    for position, line in enumerate(lines):
        rows.append(
            {
                "batch_id": batch.id,
                "position": position,
                "street": line.street,
                "house_number": line.house_number,
                "postcode": line.postcode,
                "city": line.city or "",
                "voters": line.capacity,
                "first_code": first_code,
            }
        )
        first_code += line.capacity
    db.session.execute(insert(table_of(LetterAddress)), rows)
    record(
        "letters.make",
        actor=board,
        role="board",
        obj=batch,
        neighbourhood=rnd.neighbourhood,
        after={"adressen": len(lines), "brieven": total},
    )
    return batch


#: the most letters in one PDF: a larger batch is downloaded in parts, so that no download
#: takes longer than a web server waits (benchmarks/letters.py: some 700 letters a second, 300
#: on a busy machine: a part takes 4 to 8 seconds)
PART_SIZE = 2_500


def parts(batch: CodeBatch) -> int:
    """How many PDF files the batch's letters are downloaded in (:data:`PART_SIZE` each)."""
    return max(1, -(-batch.size // PART_SIZE))


@use_case
def show_letters(
    board: User, rnd: Round, batch: CodeBatch, *, file: str, part: int | None = None
) -> list[Letter]:
    """The letters of a batch, each with its code and address, for a file to print (``file``:
    "pdf" or "csv"), and a line in the audit log that they were shown (and to whom). ``part``
    (from 1): only those letters of the part (:data:`PART_SIZE` each).

    Locks: the batch ``FOR SHARE``, as ``show_codes``: marking it printed or revoking it waits
    for this or comes first, and then nothing is shown (410)."""
    board_only(board, rnd)
    batch = lock_or_gone(CodeBatch, batch, read=True)
    if batch.round_id != rnd.id:
        raise VotingError(_("Deze stapel hoort niet bij deze ronde."))
    if part is not None and not 1 <= part <= parts(batch):
        raise VotingError(_("Dit deel van de brieven bestaat niet."))
    letters = _letters(batch, batch_codes(batch))
    shown = {"bestand": file, "brieven": len(letters)}
    if part is not None:
        letters = letters[(part - 1) * PART_SIZE : part * PART_SIZE]
        shown = {"bestand": file, "deel": part, "brieven": len(letters)}
    record(
        "letters.shown",
        actor=board,
        role="board",
        obj=batch,
        neighbourhood=rnd.neighbourhood,
        after=shown,
    )
    return letters


def _letters(batch: CodeBatch, codes: list[str]) -> list[Letter]:
    """The codes of ``batch`` (in their order) as letters, with the address of each."""
    listed = db.session.scalars(
        select(LetterAddress)
        .where(LetterAddress.batch_id == batch.id)
        .order_by(LetterAddress.position)
    ).all()
    if listed:
        return [
            Letter(
                codes[address.first_code + i],
                address.street,
                address.house_number,
                address.postcode,
                address.city or None,
                voter=i + 1,
                voters=address.voters,
            )
            for address in listed
            for i in range(address.voters)
        ]
    registered = db.session.execute(
        select(
            VotingCode.code_hash,
            RegisterAddress.id,
            RegisterAddress.street,
            RegisterAddress.house_number,
            RegisterAddress.postcode,
            RegisterAddress.city,
        )
        .join(RegisterAddress, RegisterAddress.id == VotingCode.address_id)
        .where(VotingCode.batch_id == batch.id)
    ).all()
    if not registered:
        return [Letter(code) for code in codes]
    # no order is stored with a code: each code is found by its hash (as register.batch_addresses)
    by_hash = {row.code_hash: row for row in registered}
    found = [by_hash.get(code_hash(normalise_code(code))) for code in codes]
    voters: dict[int, int] = {}
    for row in found:
        if row is not None:
            voters[row.id] = voters.get(row.id, 0) + 1
    seen: dict[int, int] = {}
    letters = []
    for code, row in zip(codes, found, strict=True):
        if row is None:  # (a code of the batch without an address: none is made so)
            letters.append(Letter(code))
            continue
        seen[row.id] = seen.get(row.id, 0) + 1
        letters.append(
            Letter(
                code,
                row.street,
                row.house_number,
                row.postcode,
                row.city,
                voter=seen[row.id],
                voters=voters[row.id],
            )
        )
    return letters


# --- what the letters page reads --------------------------------------------------------------


@dataclass(frozen=True)
class LetterBatch:
    """A batch whose letters can be printed, as the letters page lists it."""

    batch: CodeBatch
    kind: str
    #: the addresses it goes to (0 for letters "Aan de bewoners")
    addresses: int

    @property
    def letters(self) -> int:
        return self.batch.size


def printable_batches(rnd: Round) -> list[LetterBatch]:
    """The round's batches whose codes can still be shown (not printed, not revoked), newest
    first, each with how its letters are addressed. Reads only."""
    batches = db.session.scalars(
        select(CodeBatch)
        .where(
            CodeBatch.round_id == rnd.id,
            CodeBatch.seed.is_not(None),
            CodeBatch.revoked_at.is_(None),
        )
        .order_by(CodeBatch.id.desc())
    ).all()
    if not batches:
        return []
    ids = [batch.id for batch in batches]
    listed = dict(
        db.session.execute(
            select(LetterAddress.batch_id, func.count(LetterAddress.id))
            .where(LetterAddress.batch_id.in_(ids))
            .group_by(LetterAddress.batch_id)
        ).all()
    )
    registered = dict(
        db.session.execute(
            select(VotingCode.batch_id, func.count(func.distinct(VotingCode.address_id)))
            .where(VotingCode.batch_id.in_(ids), VotingCode.address_id.is_not(None))
            .group_by(VotingCode.batch_id)
        ).all()
    )
    return [
        LetterBatch(b, *_kind(int(listed.get(b.id, 0)), int(registered.get(b.id, 0))))
        for b in batches
    ]


def letter_batch(batch: CodeBatch) -> LetterBatch:
    """One batch as :func:`printable_batches` lists it (also once printed or revoked: then it
    has no addresses left). Reads only."""
    listed = db.session.scalar(
        select(func.count(LetterAddress.id)).where(LetterAddress.batch_id == batch.id)
    )
    registered = db.session.scalar(
        select(func.count(func.distinct(VotingCode.address_id))).where(
            VotingCode.batch_id == batch.id, VotingCode.address_id.is_not(None)
        )
    )
    return LetterBatch(batch, *_kind(int(listed or 0), int(registered or 0)))


def first_addresses(batch: CodeBatch, how_many: int = 5) -> list[LetterAddress]:
    """The first addresses of a batch made from an address list (for the board to check that
    it was the right file; no codes). Reads only."""
    return list(
        db.session.scalars(
            select(LetterAddress)
            .where(LetterAddress.batch_id == batch.id)
            .order_by(LetterAddress.position)
            .limit(how_many)
        )
    )


def _kind(listed: int, registered: int) -> tuple[str, int]:
    if listed:
        return Kind.LIST, listed
    if registered:
        return Kind.REGISTER, registered
    return Kind.PLAIN, 0
