"""Read queries for voting: the ballot's proposals, whether someone voted, receipts, code usage,
paper batches and turnout. Nothing here can link a ballot to a voter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import aliased, joinedload, load_only, selectinload

from .. import sealing
from ..accounts.models import User
from ..audit.models import AuditEvent
from ..extensions import db
from ..neighbourhoods.models import Area
from ..proposals.models import Proposal, State
from ..rounds.models import BallotType, Round
from . import fast
from .codes import code_hash, normalise_code, receipt_hash
from .models import (
    Ballot,
    CodeBatch,
    PaperBatch,
    PaperSheet,
    Participation,
    Receipt,
    SealedBallot,
    VotingCode,
    VotingPlace,
)


def usable_code(code_id: int, round_id: int) -> VotingCode | None:
    """The code with its batch, if it can still vote in this round (for the cast)."""
    return db.session.scalar(fast.usable_code_query(), {"code_id": code_id, "round_id": round_id})


def round_with_code(slug: str, round_id: int, code_id: int | None) -> tuple[Round | None, bool]:
    """The round (with its wijk) by the wijk's slug, and whether the code this visitor entered
    for it (``code_id``) can still vote there, in one query: the ballot's pages are the busiest
    of a vote."""
    params = {"slug": slug, "round_id": round_id, "code_id": code_id}
    if not code_id:
        return db.session.scalar(fast.round_by_slug_query(), params), False
    row = db.session.execute(fast.round_and_code_query(), params).first()
    return (row[0], bool(row[1])) if row else (None, False)


def code_by_text(text: str) -> VotingCode | None:
    """The code someone typed (normalised here), whatever its state, with its batch, round and
    wijk (one query); None when no code like it was ever made."""
    typed = normalise_code(text)
    if not typed:
        return None
    return db.session.scalar(fast.code_by_hash_query(), {"code_hash": code_hash(typed)})


def ballot_proposals(
    rnd: Round, chosen: Iterable[int] | None = None, *, photos: bool = False
) -> list[Proposal]:
    """The proposals on the ballot, with only what the ballot, the review and the paper batch
    show (not the long description and the rest: the ballot is the busiest page of a vote);
    with ``chosen``, only those of them (the review); with ``photos``, their photos too (the
    online ballot shows the first beside each proposal)."""
    query = (
        select(Proposal)
        .options(
            load_only(
                Proposal.id,
                Proposal.title,
                Proposal.summary,
                Proposal.cost_cents,
                Proposal.board_cost_cents,
                raiseload=True,
            ),
        )
        .where(Proposal.round_id == rnd.id, Proposal.state == State.ADMITTED)
        .order_by(Proposal.id)
    )
    if chosen is not None:
        query = query.where(Proposal.id.in_(list(chosen)))
    if photos:  # joined: the ballot page stays one statement for its proposals, however many
        return list(db.session.scalars(query.options(joinedload(Proposal.images))).unique())
    return list(db.session.scalars(query))


def booklet_proposals(rnd: Round) -> list[Proposal]:
    """The proposals on the ballot (as :func:`ballot_proposals`) with their photos, for the
    proposal booklet of the paper kit."""
    return list(
        db.session.scalars(
            select(Proposal)
            .options(selectinload(Proposal.images))
            .where(Proposal.round_id == rnd.id, Proposal.state == State.ADMITTED)
            .order_by(Proposal.id)
        )
    )


@dataclass(frozen=True)
class BallotItem:
    """What checking a ballot needs of a proposal: no text, no dates (the review and the cast
    load these instead of whole proposals)."""

    id: int
    effective_cost_cents: int


def ballot_costs(rnd: Round, chosen: Iterable[int]) -> tuple[list[BallotItem], int]:
    """What each chosen proposal costs, if it is on the ballot (the cast checks a ballot with it,
    under a lock): a chosen id that is missing here is not on the ballot. And the length of the
    longest plain ballot the round allows (``sealing.encode``'s ``room``: every proposal on the
    ballot with the most points one may get), in the same statement: sealed ballots are padded
    beyond it, so that their length says nothing about what was chosen."""
    ids = list(chosen)
    if not ids:
        return [], 0
    rows = db.session.execute(fast.ballot_costs_query(), {"round_id": rnd.id, "ids": ids}).all()
    if not rows:
        return [], 0
    _pid, _cost, count, highest = rows[0]
    most = 1
    if rnd.ballot_type == BallotType.CUMULATIVE and rnd.ballot_points:
        most = min(rnd.ballot_max_points_each or rnd.ballot_points, rnd.ballot_points)
    room = int(count) * (len(str(highest)) + len(str(most)) + 2)
    return [BallotItem(pid, cost) for pid, cost, _count, _highest in rows], room


def has_voted(rnd: Round, user: User | None = None, code: VotingCode | None = None) -> bool:
    query = select(Participation.id).where(Participation.round_id == rnd.id)
    if user is not None:
        query = query.where(Participation.user_id == user.id)
    elif code is not None:
        query = query.where(Participation.code_id == code.id)
    else:
        return False
    return db.session.scalar(query.limit(1)) is not None


@dataclass(frozen=True)
class CheckedReceipt:
    """What a receipt shows its holder: the ballot counts (a receipt is only made for a ballot
    cast online, which counts from the cast), and what is on it (None: cast before ballots were
    sealed, when the receipt kept no copy)."""

    round_id: int
    choices: dict[int, int] | None


def check_receipt(text: str) -> CheckedReceipt | None:
    typed = normalise_code(text)
    if not typed:
        return None
    found = db.session.execute(
        select(Receipt.round_id, Receipt.box).where(Receipt.receipt_hash == receipt_hash(typed))
    ).first()
    if found is None:
        return None
    choices = sealing.open_with_receipt(typed, found.box) if found.box is not None else None
    return CheckedReceipt(found.round_id, choices)


def receipt_fingerprints(rnd: Round) -> list[str]:
    return list(
        db.session.scalars(
            select(Receipt.receipt_hash)
            .where(Receipt.round_id == rnd.id)
            .order_by(Receipt.receipt_hash)
        )
    )


def counted_ballots(rnd: Round) -> int:
    """The ballots counted at the close (after it: the opened ones)."""
    return db.session.scalar(select(func.count(Ballot.id)).where(Ballot.round_id == rnd.id)) or 0


def code_usage(rnd: Round) -> list[tuple[CodeBatch, int]]:
    used = dict(
        db.session.execute(
            select(VotingCode.batch_id, func.count(VotingCode.id))
            .where(VotingCode.round_id == rnd.id, VotingCode.used.is_(True))
            .group_by(VotingCode.batch_id)
        ).all()
    )
    batches = db.session.scalars(
        select(CodeBatch).where(CodeBatch.round_id == rnd.id).order_by(CodeBatch.id)
    )
    return [(b, int(used.get(b.id, 0))) for b in batches]


def sheets_entered(batch: PaperBatch) -> int:
    """The sheets of the batch that count: while it is open, its sealed ballots (a struck sheet
    took its own away; confirming counts these); once it ended, its sheets not struck out (the
    close opens the sealed ballots and deletes them)."""
    if batch.is_open:
        query = select(func.count(SealedBallot.id)).where(SealedBallot.paper_batch_id == batch.id)
    else:
        query = select(func.count(PaperSheet.id)).where(
            PaperSheet.batch_id == batch.id, PaperSheet.struck_at.is_(None)
        )
    return db.session.scalar(query) or 0


@dataclass(frozen=True)
class SheetLine:
    """One entered sheet as the batch's page lists it: its number, who entered it and when,
    and if it was struck out, who did and why. Never what the sheet chose."""

    number: int
    entered_by: str
    entered_at: datetime
    struck_by: str | None
    struck_at: datetime | None
    struck_reason: str | None


def paper_sheets(batch: PaperBatch) -> list[SheetLine]:
    """The batch's sheets by number, with the names of who entered and who struck them."""
    enterer, striker = aliased(User), aliased(User)
    rows = db.session.execute(
        select(
            PaperSheet.number,
            func.coalesce(enterer.display_name, enterer.email),
            PaperSheet.entered_at,
            func.coalesce(striker.display_name, striker.email),
            PaperSheet.struck_at,
            PaperSheet.struck_reason,
        )
        .join(enterer, enterer.id == PaperSheet.entered_by_id, isouter=True)
        .join(striker, striker.id == PaperSheet.struck_by_id, isouter=True)
        .where(PaperSheet.batch_id == batch.id)
        .order_by(PaperSheet.number)
    ).all()
    unknown = _("onbekend")
    return [
        SheetLine(
            number,
            entered_by or unknown,
            entered_at,
            (struck_by or unknown) if struck_at is not None else None,
            struck_at,
            reason,
        )
        for number, entered_by, entered_at, struck_by, struck_at, reason in rows
    ]


def paper_batches(rnd: Round) -> list[PaperBatch]:
    return list(
        db.session.scalars(
            select(PaperBatch).where(PaperBatch.round_id == rnd.id).order_by(PaperBatch.id)
        )
    )


def paper_conflicts(batch: PaperBatch) -> int:
    """Sheets refused because that person had already voted (kept in the audit log)."""
    return (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "paper.conflict",
                AuditEvent.object_type == "paper_batch",
                AuditEvent.object_id == batch.id,
            )
        )
        or 0
    )


def proposals_by_id(ids: list[int]) -> dict[int, Proposal]:
    return {p.id: p for p in db.session.scalars(select(Proposal).where(Proposal.id.in_(ids)))}


@dataclass(frozen=True)
class Turnout:
    total: int
    by_channel: dict[str, int]
    by_area: list[tuple[str, int]]


def turnout(rnd: Round) -> Turnout:
    confirmed = select(PaperBatch.id).where(PaperBatch.confirmed_at.is_not(None))
    counts = (Participation.paper_batch_id.is_(None)) | (
        Participation.paper_batch_id.in_(confirmed)
    )
    by_channel = {
        str(channel): int(n)
        for channel, n in db.session.execute(
            select(Participation.channel, func.count(Participation.id))
            .where(Participation.round_id == rnd.id, counts)
            .group_by(Participation.channel)
        ).all()
    }
    areas = db.session.execute(
        select(Area.name, func.count(Participation.id))
        .join(Area, Area.id == Participation.area_id, isouter=True)
        .where(Participation.round_id == rnd.id, counts)
        .group_by(Area.name)
        .order_by(Area.name)
    ).all()
    return Turnout(
        sum(by_channel.values()),
        by_channel,
        [(name or _("onbekende buurt"), int(n)) for name, n in areas],
    )


def voting_places(rnd: Round) -> list[VotingPlace]:
    """The round's voting places (a buurthuis, a market stall), in the order they open: for the
    round page, the letters and the desk's walk-in codes."""
    return list(
        db.session.scalars(
            select(VotingPlace)
            .where(VotingPlace.round_id == rnd.id)
            .order_by(VotingPlace.opens_at, VotingPlace.id)
        )
    )
