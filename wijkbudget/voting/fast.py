"""Speed devices of the vote, in one place: statements built once, and the cast's rows written
with plain Core statements on the session's connection.

Why: the ballot page and the cast are the busiest requests of a vote, and building a SQLAlchemy
statement costs about as much as running it; the ORM's unit of work costs more than the few
rows a cast writes. So the statements here are built once per process (``functools.cache``) and
the cast inserts its rows directly. Domain code calls the small named functions below ("store
the sealed ballot", "take the code") and never sees how they are cached.

What must stay true: each function writes the same rows and reads the same answer as the plain
ORM path would (``tests/test_voting.py::test_the_prebuilt_cast_writes_what_the_orm_would``
compares them), and the rules a statement carries come from the models (``VotingCode.usable_in``,
``VotingCode.unused_and_unrevoked``), never written again here.

Measured by ``benchmarks/cast_capacity.py`` (casts per second through ``operations.cast``) and
``benchmarks/profile_pages.py`` (the ballot page and the cast, statement by statement).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, insert, select, update
from sqlalchemy.orm import aliased, contains_eager, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db, table_of
from ..neighbourhoods.models import Neighbourhood
from ..proposals.models import Proposal, State
from ..rounds.models import Phase, Round
from .models import (
    Participation,
    Receipt,
    RegisterAddress,
    SealedBallot,
    VoterFingerprint,
    VotingCode,
)

# --- reading: the round, the code ---------------------------------------------------------------


@cache
def round_by_slug_query() -> Select[Round]:
    """The round with its wijk, by the wijk's slug (parameters ``slug`` and ``round_id``), in one
    query; the ballot adds a column of its own (:func:`round_and_code_query`). Built once: used
    by every page that loads a round by its URL (``loaders.load_wijk_round``)."""
    return (
        select(Round)
        .join(Neighbourhood, Neighbourhood.id == Round.neighbourhood_id)
        .options(contains_eager(Round.neighbourhood))
        .where(Round.id == bindparam("round_id"), Neighbourhood.slug == bindparam("slug"))
    )


@cache
def round_and_code_query() -> Select[Round, bool]:
    """:func:`round_by_slug_query` with a column: whether the code ``code_id`` can still vote in
    that round (``VotingCode.usable_in``), so the ballot's pages load both in one query."""
    usable = select(VotingCode.id).where(
        VotingCode.id == bindparam("code_id"), VotingCode.usable_in(Round.__table__.c.id)
    )
    return round_by_slug_query().add_columns(usable.exists())


@cache
def code_by_hash_query() -> Select[VotingCode]:
    """A code by its hash (parameter ``code_hash``), with its batch, round and wijk."""
    return (
        select(VotingCode)
        .where(VotingCode.code_hash == bindparam("code_hash"))
        .options(
            joinedload(VotingCode.batch),
            joinedload(VotingCode.round).joinedload(Round.neighbourhood),
        )
    )


@cache
def usable_code_query() -> Select[VotingCode]:
    """The code ``code_id`` with its batch, if it can still vote in ``round_id``."""
    return (
        select(VotingCode)
        .options(joinedload(VotingCode.batch))
        .where(VotingCode.id == bindparam("code_id"), VotingCode.usable_in(bindparam("round_id")))
    )


@cache
def ballot_costs_query() -> Select[int, int, int, int]:
    """What each chosen proposal (``ids``) of round ``round_id`` costs if it is on the ballot,
    with the number of proposals on the ballot and the highest id among them (for the padding of
    sealed ballots): two uncorrelated subqueries, which PostgreSQL and SQLite compute once per
    statement (``queries.ballot_costs``)."""
    other = aliased(Proposal)
    on_ballot = (other.round_id == bindparam("round_id"), other.state == State.ADMITTED)
    return (
        select(
            Proposal.id,
            func.coalesce(Proposal.board_cost_cents, Proposal.cost_cents),
            select(func.count(other.id)).where(*on_ballot).scalar_subquery(),
            select(func.max(other.id)).where(*on_ballot).scalar_subquery(),
        )
        .where(
            Proposal.round_id == bindparam("round_id"),
            Proposal.state == State.ADMITTED,
            Proposal.id.in_(bindparam("ids", expanding=True)),
        )
        .order_by(Proposal.id)
    )


# --- the cast -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CastStatements:
    lock_round: Any
    stored_phase: Any
    participation: Any
    use_code: Any
    fingerprint: Any
    sealed: Any
    receipt: Any
    claim: Any


@cache
def _cast_statements() -> _CastStatements:
    code = VotingCode.__table__.c
    address = RegisterAddress.__table__.c
    return _CastStatements(
        lock_round=select(Round.phase, Round.result_opens)
        .where(Round.id == bindparam("round_id"), Round.phase == Phase.VOTING)
        .with_for_update(read=True),
        stored_phase=select(Round.phase).where(Round.id == bindparam("round_id")),
        participation=insert(table_of(Participation)),
        use_code=update(table_of(VotingCode))
        .where(code.id == bindparam("code"), VotingCode.unused_and_unrevoked())
        .values(used=True),
        fingerprint=insert(table_of(VoterFingerprint)),
        sealed=insert(table_of(SealedBallot)),
        receipt=insert(table_of(Receipt)),
        claim=update(table_of(RegisterAddress))
        .where(address.id == bindparam("address"), address.used < address.capacity)
        .values(used=address.used + 1),
    )


def _connection() -> Connection:
    return db.session.connection()


def lock_voting_round(rnd: Round) -> bool:
    """Take the round ``FOR SHARE`` if its stored phase is voting, and refresh on ``rnd`` what
    can change once the vote has begun (its phase and the end of the vote) without reloading
    the rest (``set_committed_value``: no extra query, nothing marked dirty). False: the round is
    not stored in voting, no lock is taken (the caller decides, see ``operations.cast``)."""
    locked = db.session.execute(_cast_statements().lock_round, {"round_id": rnd.id}).one_or_none()
    if locked is None:
        return False
    set_committed_value(rnd, "phase", locked.phase)
    set_committed_value(rnd, "result_opens", locked.result_opens)
    return True


def stored_phase(rnd: Round) -> Phase | None:
    """The round's stored phase, read without a lock (None: the round is gone)."""
    phase: Phase | None = db.session.scalar(_cast_statements().stored_phase, {"round_id": rnd.id})
    return phase


def keep_stored_phase(rnd: Round, phase: Phase) -> None:
    """Put the stored phase just read on ``rnd`` as if loaded (nothing to write back)."""
    set_committed_value(rnd, "phase", phase)


def store_participation(**values: Any) -> int:
    """Insert the participation row (columns as keywords); its id. An ``IntegrityError``
    (this account or code voted already) propagates."""
    inserted = _connection().execute(_cast_statements().participation, values)
    key = inserted.inserted_primary_key
    assert key is not None  # (an insert of one row always has it)
    return int(key[0])


def store_fingerprint(round_id: int, fingerprint: str, participation_id: int) -> None:
    """Insert the mailbox's fingerprint row; an ``IntegrityError`` propagates."""
    _connection().execute(
        _cast_statements().fingerprint,
        {"round_id": round_id, "fingerprint": fingerprint, "participation_id": participation_id},
    )


def take_code(code_id: int) -> bool:
    """Mark the code used, if its row is still unused and unrevoked; whether it changed it."""
    return _connection().execute(_cast_statements().use_code, {"code": code_id}).rowcount == 1


def claim_place(address_id: int) -> bool:
    """One more place of the address used, if it has one left; whether it took it."""
    claimed = _connection().execute(_cast_statements().claim, {"address": address_id})
    return claimed.rowcount == 1


def store_sealed_ballot(**values: Any) -> None:
    """Insert the sealed ballot row (columns as keywords)."""
    _connection().execute(_cast_statements().sealed, values)


def store_receipt(**values: Any) -> None:
    """Insert the receipt row (columns as keywords)."""
    _connection().execute(_cast_statements().receipt, values)
