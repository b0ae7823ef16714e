"""Printed voting codes: what a typed code is (:func:`look_up_code`, :func:`find_code`), the
board's batches of codes (made at random or from the address register, shown once for the
letters, marked printed, revoked) and walk-in codes given at the table.

Whether a code counts is one rule on the model (``VotingCode.is_usable_in`` / ``usable_in``:
of this round, not used, neither it nor its batch revoked); every check here uses it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from limits import parse as parse_limit
from sqlalchemy import delete, func, insert, select, update

from ...accounts.models import User
from ...audit.models import AuditEvent
from ...audit.operations import record
from ...extensions import db, table_of, utcnow
from ...neighbourhoods.models import Area
from ...rounds.models import Phase, Round
from ...usecase import Conflict, guarded, lock_or_gone, use_case
from .. import queries
from ..addresses import MAX_PLACES
from ..codes import code_hash, derive_code, group, normalise_code
from ..models import (
    CodeBatch,
    LetterAddress,
    RegisterAddress,
    VotingCode,
    VotingError,
    VotingPlace,
)
from ..register import board_only, has_register

MAX_BATCH = 20_000


# --- voting codes: what was typed --------------------------------------------------------------


@dataclass(frozen=True)
class CodeLookup:
    """What a typed code turned out to be."""

    #: the code, if it can still vote (not used, not revoked), with its batch, round and wijk
    code: VotingCode | None
    #: something was typed and no code like it was ever made: the one kind of attempt the
    #: rate limits count (a used or revoked code is a real code, not a guess)
    unknown: bool


def look_up_code(text: str) -> CodeLookup:
    """The code someone typed (one query). Reads only."""
    if not normalise_code(text):
        return CodeLookup(None, unknown=False)
    code = queries.code_by_text(text)
    if code is None:
        return CodeLookup(None, unknown=True)
    if not code.is_usable_in(code.round_id):
        return CodeLookup(None, unknown=False)
    return CodeLookup(code, unknown=False)


def find_code(rnd: Round | None, text: str) -> VotingCode | None:
    """A usable code (not used, not revoked), with its batch, round and wijk (one query). Wrong,
    used and revoked codes all give None, so the answer to the person is the same for each."""
    code = look_up_code(text).code
    if code is None or (rnd is not None and not code.is_usable_in(rnd.id)):
        return None
    return code


@use_case
def note_many_wrong_codes(limit: str) -> bool:
    """The limit on wrong codes from everyone together was reached: the audit log says so, once
    per window of the limit (every refused attempt after it would say it again). Returns whether
    it wrote.

    Locks: nothing: no row decides; two requests at the very same moment may both write the
    line (harmless: the log says it twice)."""
    window = timedelta(seconds=parse_limit(limit).get_expiry())
    since = utcnow() - window
    said = db.session.scalar(
        select(AuditEvent.id)
        .where(AuditEvent.action == "codes.many_failures", AuditEvent.created_at >= since)
        .limit(1)
    )
    if said is not None:
        return False
    record("codes.many_failures", actor=None, role="system", after={"limiet": limit})
    return True


# --- printed codes ------------------------------------------------------------------------------


@use_case(
    conflict=_l(
        "Deze codes zijn net al gemaakt (twee keer op de knop gedrukt?). Kijk in de lijst "
        "hieronder."
    )
)
def generate_codes(
    board: User,
    rnd: Round,
    count: int,
    *,
    area: Area | None = None,
    label: str = "",
    form_token: str | None = None,
    addresses: Sequence[int] | None = None,
) -> CodeBatch:
    """A batch of ``count`` new codes for the round, stored as HMACs; they can be shown (for the
    letters) until the board says the letters are printed. ``form_token`` is the token of the
    form that asked: the same form sent twice (a double click) gets the batch the first made.

    Locks: the round ``FOR SHARE`` (its stored phase decides: no codes once the vote is closed,
    a phase no date moves a round to; closing the vote waits for this, casts are not held up);
    a second batch from the same form: refused by the unique ``form_token`` (409), or found."""
    board_only(board, rnd)
    if addresses is not None and len(addresses) != count:
        raise ValueError("one address per code")
    if not 1 <= count <= (MAX_BATCH if addresses is None else MAX_PLACES):
        raise VotingError(_("Maak tussen 1 en %(max)d codes tegelijk.", max=MAX_BATCH))
    if area is not None and area.neighbourhood_id != rnd.neighbourhood_id:
        raise VotingError(_("Kies een buurt van deze wijk."))
    if form_token:
        made = db.session.scalar(select(CodeBatch).where(CodeBatch.form_token == form_token))
        if made is not None and made.round_id == rnd.id:
            return made  # the same form again: what it made the first time
    seed = secrets.token_hex(32)
    hashes = [code_hash(derive_code(seed, i)) for i in range(count)]  # before the lock
    rnd = lock_or_gone(Round, rnd, read=True)
    if rnd.has_reached(Phase.RESULT):
        raise VotingError(_("Het stemmen is voorbij: er kunnen geen codes meer bij."))
    if not rnd.eligibility.allows_codes:
        raise VotingError(
            _(
                "In deze ronde stem je alleen met een account. Wil je ook brieven met codes of "
                "codes bij een stemlocatie? Kies dan bij de regels van de ronde 'met een "
                "account of met een stemcode'."
            )
        )
    if addresses is None and has_register(rnd):
        raise VotingError(
            _(
                "Deze ronde heeft een adressenlijst: elke code hoort bij een adres. Maak de codes "
                "uit de adressenlijst, of geef ter plekke een code uit voor een adres."
            )
        )
    batch = CodeBatch(
        round_id=rnd.id,
        area_id=area.id if area else None,
        size=count,
        label=label.strip() or _("Stemcodes"),
        seed=seed,
        created_by_id=board.id,
        form_token=form_token or None,
    )
    db.session.add(batch)
    db.session.flush()
    db.session.execute(
        insert(table_of(VotingCode)),
        [
            {
                "batch_id": batch.id,
                "round_id": rnd.id,
                "code_hash": h,
                "used": False,
                "address_id": addresses[i] if addresses is not None else None,
            }
            for i, h in enumerate(hashes)
        ],
    )
    record(
        "codes.generate",
        actor=board,
        role="board",
        obj=batch,
        neighbourhood=rnd.neighbourhood,
        after={"aantal": count, "buurt": area.name if area else None},
    )
    return batch


def batch_codes(batch: CodeBatch) -> list[str]:
    """The codes of a batch, grouped for reading, while the letters have not been printed.
    Reads only (the board's pages show them through :func:`show_codes`)."""
    if batch.seed is None:
        raise VotingError(_("Deze codes zijn al geprint en kunnen niet opnieuw getoond worden."))
    return [group(derive_code(batch.seed, i)) for i in range(batch.size)]


@use_case
def show_codes(board: User, rnd: Round, batch: CodeBatch) -> list[str]:
    """The codes of a batch for the letters or the list, and a line in the audit log that they
    were shown (and to whom).

    Locks: the batch ``FOR SHARE``: marking it printed or revoking it (``FOR UPDATE``) waits
    for this or comes first, and then nothing is shown (410)."""
    board_only(board, rnd)
    batch = lock_or_gone(CodeBatch, batch, read=True)
    codes = batch_codes(batch)
    record("codes.shown", actor=board, role="board", obj=batch, neighbourhood=rnd.neighbourhood)
    return codes


@use_case
def mark_printed(board: User, batch: CodeBatch, rnd: Round) -> bool:
    """The letters are printed: the seed is wiped and the codes can never be shown again; the
    addresses of its letters (``LetterAddress``) are deleted with it. Returns False when it was
    done already (a second click: nothing more happens).

    Locks: the batch (``FOR UPDATE``), so showing the codes (``FOR SHARE``) and this do not
    overlap."""
    board_only(board, rnd)
    batch = lock_or_gone(CodeBatch, batch)
    if batch.seed is None:
        return False
    batch.seed = None
    _forget_letters(batch)
    record("codes.printed", actor=board, role="board", obj=batch, neighbourhood=rnd.neighbourhood)
    return True


@use_case
def revoke_batch(board: User, batch: CodeBatch, rnd: Round) -> bool:
    """Every unused code of the batch stops working, and the addresses of its letters are
    deleted. Returns False when the batch was revoked already (a second click: nothing more
    happens). A code that has voted keeps its vote.

    Locks: the batch (``FOR UPDATE``); its codes with a conditional ``UPDATE … WHERE used IS
    false AND revoked_at IS NULL``, which meets a cast with one of them on that code's row:
    either the cast came first (the code stays used, its ballot counts) or the revocation did
    (the cast changes no row and is refused)."""
    board_only(board, rnd)
    batch = lock_or_gone(CodeBatch, batch)
    if batch.revoked_at is not None:
        return False
    now = utcnow()
    batch.revoked_at = now
    batch.seed = None
    _forget_letters(batch)
    db.session.execute(
        update(VotingCode)
        .where(VotingCode.batch_id == batch.id, VotingCode.unused_and_unrevoked())
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    record(
        "codes.revoke_batch", actor=board, role="board", obj=batch, neighbourhood=rnd.neighbourhood
    )
    return True


def _forget_letters(batch: CodeBatch) -> None:
    """The addresses of a batch's letters go once its codes can no longer be shown (printed or
    revoked): no list of addresses stays beside the codes. (Under the batch's lock.)"""
    db.session.execute(
        delete(LetterAddress)
        .where(LetterAddress.batch_id == batch.id)
        .execution_options(synchronize_session=False)
    )


@use_case
def revoke_code(board: User, rnd: Round, text: str) -> bool:
    """One code stops working. Returns False when it was revoked already (a second click).
    A code that has voted cannot be revoked: its vote counts, and nothing links it to the code
    (409).

    Locks: the code's row, by a conditional ``UPDATE … WHERE used IS false AND revoked_at IS
    NULL``: a cast with this code at the same moment updates the same row, and only one of the
    two changes it (either the ballot counts and the code is used, or the code is revoked and
    there is no ballot)."""
    board_only(board, rnd)
    code = queries.code_by_text(text)
    if code is None or code.round_id != rnd.id:
        raise VotingError(_("Deze code hoort niet bij deze ronde."))
    revoked = guarded(
        update(VotingCode)
        .where(VotingCode.id == code.id, VotingCode.unused_and_unrevoked())
        .values(revoked_at=utcnow())
    )
    if not revoked:
        revoked_at = db.session.scalar(
            select(VotingCode.revoked_at).where(VotingCode.id == code.id)
        )
        if revoked_at is not None:
            return False
        raise Conflict(
            _("Met deze code is al gestemd. Die stem telt; de code intrekken kan niet meer.")
        )
    record("codes.revoke", actor=board, role="board", obj=code, neighbourhood=rnd.neighbourhood)
    return True


@use_case
def issue_walk_in_code(
    board: User,
    rnd: Round,
    *,
    address_id: int | None = None,
    place: VotingPlace | None = None,
) -> str:
    """One code on the spot, for someone at the table without a letter or account; it is shown
    once. Every press makes a new code: one that nobody saw (a double click shows the second)
    can never be shown again and so never used. In a round with an address register the code
    is for the visitor's address (``address_id``, see register.walk_in_address). ``place``: the
    voting place whose desk handed it out — recorded with the code's batch, never the person.

    Locks: the place ``FOR SHARE`` (removing it waits, and then sees this code), then as
    :func:`generate_codes` (the round ``FOR SHARE``)."""
    if place is not None:
        place = lock_or_gone(VotingPlace, place, read=True)
        if place.round_id != rnd.id:
            raise VotingError(_("Deze stemlocatie hoort niet bij deze ronde."))
    batch = generate_codes(
        board,
        rnd,
        1,
        label=place.name if place is not None else _("Ter plekke uitgegeven"),
        addresses=[address_id] if address_id is not None else None,
    )
    code = batch_codes(batch)[0]
    batch.seed = None
    batch.voting_place_id = place.id if place is not None else None
    record(
        "codes.walk_in",
        actor=board,
        role="board",
        obj=batch,
        neighbourhood=rnd.neighbourhood,
        after={"stemlocatie": place.name} if place is not None else None,
    )
    return code


@use_case(conflict=_l("Deze codes zijn net al gemaakt. Kijk in de lijst hieronder."))
def make_codes_from_register(
    board: User, rnd: Round, *, form_token: str | None = None
) -> CodeBatch:
    """One code per voter place of the register that has none yet (a place whose code was
    revoked gets a new one; a second press makes none). The letters show each code's address.

    Locks: the round ``FOR SHARE`` (an upload, which takes it ``FOR UPDATE``, cannot change
    the register meanwhile), then what ``generate_codes`` locks (the same)."""
    board_only(board, rnd)
    if form_token:
        made = db.session.scalar(select(CodeBatch).where(CodeBatch.form_token == form_token))
        if made is not None and made.round_id == rnd.id:
            return made  # the same form again (a double click): what it made the first time
    rnd = lock_or_gone(Round, rnd, read=True)
    if not has_register(rnd):
        raise VotingError(_("Deze ronde heeft geen adressenlijst. Upload eerst de lijst."))
    covered = (
        select(VotingCode.address_id, func.count(VotingCode.id).label("codes"))
        .where(VotingCode.round_id == rnd.id, VotingCode.revoked_at.is_(None))
        .group_by(VotingCode.address_id)
        .subquery()
    )
    missing = db.session.execute(
        select(RegisterAddress.id, RegisterAddress.capacity - func.coalesce(covered.c.codes, 0))
        .outerjoin(covered, covered.c.address_id == RegisterAddress.id)
        .where(RegisterAddress.round_id == rnd.id)
        .order_by(RegisterAddress.postcode, RegisterAddress.house_number, RegisterAddress.id)
    ).all()
    places = [address_id for address_id, n in missing for _i in range(max(n, 0))]
    if not places:
        raise VotingError(_("Elk adres van de adressenlijst heeft al zijn codes."))
    return generate_codes(
        board,
        rnd,
        len(places),
        label=_("Uit de adressenlijst"),
        form_token=form_token,
        addresses=places,
    )
