"""Casting a ballot: one use case that checks it against the round's rules and stores it sealed,
with the fact that this person voted (one per person, by the database), and online a receipt.

The rows are written through ``voting.fast`` (prebuilt statements on the session's connection);
this module says what is stored and in which order, ``fast`` how it is done quickly.
"""

from __future__ import annotations

import logging

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from ... import sealing
from ...accounts.models import User
from ...extensions import db, utcnow
from ...pagecache import note_write
from ...rounds import operations as rounds
from ...rounds.models import Round
from ...usecase import Conflict, use_case
from .. import fast, register
from ..codes import new_receipt, normalise_code, receipt_hash
from ..fingerprint import fingerprint
from ..models import (
    AlreadyVoted,
    Channel,
    PaperBatch,
    PaperSheet,
    VotingCode,
    VotingError,
    new_ballot_id,
)
from ..queries import ballot_costs
from .ballot import eligibility_refusal, problems

log = logging.getLogger(__name__)


def _lock_for_cast(rnd: Round) -> Round:
    """The round, locked for a cast and with the phase its dates give it.

    The common case, a round stored in voting: one statement, a shared lock (``FOR SHARE``) that
    every cast can hold at once; closing the vote takes the round ``FOR UPDATE`` and so waits
    until the ballots being cast are in, and a cast after the close finds no row here.

    Otherwise the stored phase may lag the dates (the vote opened by date and the ``tick``
    command has not written it yet): then, and only then, the round is taken ``FOR UPDATE`` by
    ``rounds.lock_round``, which writes that move in this transaction. A round closed or not yet
    due keeps its stored phase, and the ballot is refused for it."""
    if fast.lock_voting_round(rnd):
        # (only what can change once the voting has begun is read again: the rest of the round
        # is locked from then on)
        return rnd
    stored = fast.stored_phase(rnd)
    if stored is None or rnd.due_phase(utcnow(), stored) is not None:
        return rounds.lock_round(rnd)  # (a round deleted meanwhile: a 409 from there)
    fast.keep_stored_phase(rnd, stored)
    return rnd


@use_case(quiet=True)
def cast(
    rnd: Round,
    selection: dict[int, int],
    *,
    user: User | None = None,
    code: VotingCode | None = None,
    channel: Channel,
    paper_batch: PaperBatch | None = None,
    sheet_number: int | None = None,
    entered_by: User | None = None,
    receipt: str | None = None,
) -> str | None:
    """Check and store one ballot and the fact that this person voted, as one use case.

    Returns the receipt code (online only): ``receipt`` when the page chose it beforehand (so
    a second click can show it), else a new one. The unique constraints on participation make
    a second ballot by the same account or code fail (409), whichever channel and however
    concurrent. In a round of accounts and codes, an account that votes with a code (a
    logged-in person typing the code from their letter) uses both: neither can vote again in
    the round; in a round of codes only, the code alone is the voter. It commits quietly (a ballot
    changes no cached public page; the turnout may lag a little); a paper ballot is part of
    entering its sheet (:func:`enter_sheet`), which commits, and is numbered in its batch
    (``sheet_number``, a ``PaperSheet`` that links the sheet to its rows while the batch is
    open, so that it can be struck out).

    The ballot is stored sealed with the round's public key, and online a receipt whose box
    only the receipt opens (see sealing.py and :func:`unseal_ballots`): nothing written here
    tells a reader of the database what this person chose.

    Locks, in this order: the round ``FOR SHARE`` while it is stored in voting, else ``FOR
    UPDATE`` through ``rounds.lock_round`` when its dates have moved it on (see
    :func:`_lock_for_cast`); the participation's unique keys (round, account) and (round, code);
    for an account, the mailbox's fingerprint (primary key (round, fingerprint): a second
    account for the same mailbox, 409); the code with a conditional ``UPDATE … WHERE used IS
    false AND revoked_at IS NULL`` (a revocation or another cast of the same code at the same
    moment: one of the two changes the row); in a round with an address register, the
    address's place with ``UPDATE … WHERE used < capacity`` (register.claim: the last place
    goes to one cast, the others get 409)."""
    rnd = _lock_for_cast(rnd)
    proposals, room = ballot_costs(rnd, selection)  # room: the padding (sealing.encode)
    found = problems(rnd, selection, proposals)
    if found:
        raise VotingError(" ".join(found))
    if code is None and user is None:
        raise VotingError(_("Log in of vul je stemcode in om te stemmen."))
    if code is not None and not rnd.eligibility.allows_accounts:
        # a round of codes only: the code is the voter, whoever is logged in on this computer
        # (a household sharing one votes with each letter); no account takes part
        user = None
    refusal = eligibility_refusal(rnd, user, code_ok=code is not None)
    if refusal:
        raise VotingError(refusal)
    if code is not None and not code.is_valid_in(rnd.id):
        raise VotingError(_("Deze stemcode is niet (meer) geldig."))
    # the buurt the turnout counts this ballot under: the code's, or the account's own buurt
    # if it lies in this wijk (someone who only works here has none of its buurten)
    if code is not None:
        area_id = code.batch.area_id
    elif user is not None and user.neighbourhood_id == rnd.neighbourhood_id:
        area_id = user.area_id
    else:
        area_id = None
    # in a round with an address register: the address whose place this vote takes (register.py)
    address_id = register.address_for_cast(rnd, user=user, code=code)
    # the rows of a cast are written with prebuilt statements on the session's connection, in
    # this transaction (fast.py: the cast is the busiest write of a vote)
    note_write(db.session)  # for the page cache (a ballot cast online then commits quietly)
    receipt = (receipt or new_receipt()) if paper_batch is None else None
    try:
        participation_id = fast.store_participation(
            round_id=rnd.id,
            user_id=user.id if user is not None else None,
            code_id=code.id if code is not None else None,
            channel=channel,
            area_id=area_id,
            paper_batch_id=paper_batch.id if paper_batch is not None else None,
            address_id=address_id,
        )
    except IntegrityError as error:
        # the use case rolls the whole transaction back: nothing of this ballot stays
        raise AlreadyVoted(
            _("Je hebt al gestemd in deze ronde. Er telt één stem per persoon.")
        ) from error
    if user is not None and user.email:
        # a vote by an account (also with a code, when logged in): its mailbox's fingerprint,
        # which outlives the account (fingerprint.py); a second account for the same mailbox
        # is refused here
        try:
            fast.store_fingerprint(rnd.id, fingerprint(user.email), participation_id)
        except IntegrityError as error:
            raise AlreadyVoted(
                _(
                    "Met dit e-mailadres is in deze ronde al gestemd, ook als dat met een "
                    "eerder account of een andere schrijfwijze van hetzelfde adres was. Er telt "
                    "één stem per persoon."
                )
            ) from error
    if code is not None and not fast.take_code(code.id):
        # revoked a moment ago (a used one failed just above)
        raise Conflict(_("Deze stemcode is niet (meer) geldig."))
    if address_id is not None:
        register.claim(address_id)  # one place of the address, or 409
    # the ballot sealed with the round's public key (only the close opens it), and the voter's
    # own copy that only the receipt opens: nothing readable links either to this participation
    # (checked against the round's private key: a public key put in by whoever can write the
    # database would seal the ballots for them)
    try:
        public_key = sealing.round_public_key(rnd.ballot_public_key, rnd.ballot_private_key)
    except sealing.SealError as error:
        log.error("round %s: no ballot sealed: %s", rnd.id, error)
        raise Conflict(
            _("Deze ronde kan nu geen stemmen aannemen. Probeer het later opnieuw.")
        ) from error
    ballot_id = new_ballot_id()
    fast.store_sealed_ballot(
        id=ballot_id,
        round_id=rnd.id,
        counted=paper_batch is None,
        paper_batch_id=paper_batch.id if paper_batch is not None else None,
        box=sealing.seal(public_key, selection, room),
    )
    if paper_batch is not None:
        if sheet_number is None:
            raise ValueError("a paper ballot is a numbered sheet of its batch")
        db.session.add(
            PaperSheet(
                batch_id=paper_batch.id,
                number=sheet_number,
                participation_id=participation_id,
                sealed_ballot_id=ballot_id,
                entered_by_id=entered_by.id if entered_by is not None else None,
            )
        )
        db.session.flush()
    if receipt:
        typed = normalise_code(receipt)
        fast.store_receipt(
            receipt_hash=receipt_hash(typed),
            round_id=rnd.id,
            box=sealing.seal_for_receipt(typed, selection, room),
        )
    return receipt
