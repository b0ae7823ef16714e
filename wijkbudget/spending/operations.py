"""Use cases of the verantwoording: grants from a result, expenses with four eyes, reallocations,
closing a project, progress updates, and the hash-chained ledger every money event goes into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from .. import permissions
from ..accounts.models import User
from ..audit.operations import record
from ..extensions import db, utcnow
from ..neighbourhoods.models import Neighbourhood
from ..proposals import images
from ..proposals.models import Proposal
from ..rounds.models import Round
from . import queries, receipts
from .models import (
    GENESIS,
    EntryKind,
    Expense,
    ExpenseState,
    FundedProject,
    LedgerEntry,
    NotAllowed,
    PayeeType,
    ProgressPhoto,
    ProgressUpdate,
    ProjectStatus,
    SpendingError,
)

REASON_MAX = 1000
VERIFY_BATCH = 1000


def _plain(text: str) -> str:
    """One line of plain text (Jinja escapes it on the way out)."""
    return " ".join(text.split())


# --- the ledger -----------------------------------------------------------------------------


def append(
    wijk_id: int,
    kind: EntryKind,
    amount_cents: int,
    *,
    actor: User | None,
    round_id: int | None = None,
    project: FundedProject | None = None,
    expense: Expense | None = None,
    corrects: LedgerEntry | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> LedgerEntry:
    """Add one entry at the head of the wijk's chain. The wijk's row is locked first (on
    PostgreSQL), so appends of one wijk queue up and every entry hangs on the one before; the
    unique (wijk, prev_hash) and (wijk, seq) constraints hold the line on any database."""
    db.session.execute(
        select(Neighbourhood.id).where(Neighbourhood.id == wijk_id).with_for_update()
    )
    head = db.session.execute(
        select(LedgerEntry.seq, LedgerEntry.hash)
        .where(LedgerEntry.neighbourhood_id == wijk_id)
        .order_by(LedgerEntry.seq.desc())
        .limit(1)
    ).first()
    for obj in (project, expense):
        if obj is not None and obj.id is None:
            db.session.flush()
    entry = LedgerEntry(
        neighbourhood_id=wijk_id,
        seq=(head.seq + 1) if head else 1,
        prev_hash=head.hash if head else GENESIS,
        kind=kind,
        amount_cents=amount_cents,
        round_id=round_id if round_id is not None else (project.round_id if project else None),
        project_id=project.id if project else None,
        expense_id=expense.id if expense else None,
        corrects_id=corrects.id if corrects else None,
        actor_id=actor.id if actor else None,
        reason=reason,
        created_at=now or utcnow(),
    )
    entry.hash = entry.compute_hash()
    db.session.add(entry)
    db.session.flush()
    return entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    count: int
    head: str
    broken_id: int | None = None
    wijk_id: int | None = None


def verify(wijk_id: int) -> Verification:
    """Recompute one wijk's chain from the first entry: every ``seq`` follows the one before,
    every ``prev_hash`` is the hash before it, every ``hash`` is what the entry says."""
    prev, count = GENESIS, 0
    while True:  # in batches by seq, so a long ledger never sits in memory at once
        batch = list(
            db.session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.neighbourhood_id == wijk_id, LedgerEntry.seq > count)
                .order_by(LedgerEntry.seq)
                .limit(VERIFY_BATCH)
            )
        )
        for entry in batch:
            if (
                entry.seq != count + 1
                or entry.prev_hash != prev
                or entry.compute_hash() != entry.hash
            ):
                return Verification(False, count, prev, entry.id, wijk_id)
            prev, count = entry.hash, count + 1
        if len(batch) < VERIFY_BATCH:
            break
    return Verification(True, count, prev, None, wijk_id)


def verify_all(wijk_ids: list[int]) -> Verification:
    """Every wijk's chain; the first broken one, or ok with the total count. The head printed
    for several wijken is the SHA-256 of their heads in wijk order."""
    import hashlib

    heads, total = [], 0
    for wijk_id in wijk_ids:
        result = verify(wijk_id)
        if not result.ok:
            return result
        total += result.count
        heads.append(result.head)
    if len(heads) == 1:
        return Verification(True, total, heads[0], None, wijk_ids[0])
    combined = hashlib.sha256("".join(heads).encode()).hexdigest() if heads else GENESIS
    return Verification(True, total, combined)


# --- grants -----------------------------------------------------------------------------------


def grant_chosen(board: User, rnd: Round, proposals: list[Proposal], now: datetime) -> None:
    """The result is final: every chosen proposal becomes a funded project with its admitted
    cost as grant, each grant a ledger entry (in the order the rule chose them)."""
    for proposal in proposals:
        project = FundedProject(
            proposal_id=proposal.id,
            round_id=rnd.id,
            neighbourhood_id=rnd.neighbourhood_id,
            granted_cents=proposal.effective_cost_cents,
            created_at=now,
        )
        db.session.add(project)
        db.session.flush()
        append(
            rnd.neighbourhood_id,
            EntryKind.GRANT,
            project.granted_cents,
            actor=board,
            project=project,
            reason=proposal.title,
            now=now,
        )


# --- expenses ---------------------------------------------------------------------------------


@dataclass
class ExpenseData:
    spent_on: date
    amount_cents: int
    payee: str
    payee_type: PayeeType
    description: str
    cost_line_id: int | None = None
    vat_cents: int | None = None


def _check_room(project: FundedProject, amount: int, *, with_pending: bool) -> None:
    money = queries.project_money(project)
    used = money.spent + (money.pending if with_pending else 0)
    if used + amount > money.granted:
        raise SpendingError(
            _(
                "Deze uitgave past niet in het geld van het project: er is nog %(left)s over "
                "(toegekend %(granted)s, uitgegeven of aangevraagd %(used)s). Vraag het bestuur "
                "eerst om extra geld.",
                left=queries.euros(money.granted - used),
                granted=queries.euros(money.granted),
                used=queries.euros(used),
            )
        )


def record_expense(user: User, project: FundedProject, data: ExpenseData, upload: Any) -> Expense:
    """An initiator or the treasurer records what was paid, with the receipt."""
    if not project.is_initiator(user):
        raise NotAllowed(_("Alleen de initiatiefnemers en de penvoerder voeren uitgaven in."))
    if project.is_closed:
        raise SpendingError(_("Dit project is afgesloten. Er kunnen geen uitgaven meer bij."))
    if data.spent_on > utcnow().date():
        raise SpendingError(_("De datum van de uitgave ligt in de toekomst."))
    if data.vat_cents is not None and data.vat_cents > data.amount_cents:
        raise SpendingError(_("De btw kan niet hoger zijn dan het bedrag."))
    if data.cost_line_id is not None and data.cost_line_id not in {
        line.id for line in project.proposal.cost_lines
    }:
        raise SpendingError(_("Deze kostenpost hoort niet bij dit project."))
    _check_room(project, data.amount_cents, with_pending=True)
    receipt_name = receipt_type = None
    if upload is not None and getattr(upload, "filename", ""):
        checked = receipts.check_upload(upload)
        receipt_name = receipts.store(checked, receipts.receipt_dir(current_app))
        receipt_type = checked.content_type
    expense = Expense(
        project_id=project.id,
        neighbourhood_id=project.neighbourhood_id,
        cost_line_id=data.cost_line_id,
        spent_on=data.spent_on,
        amount_cents=data.amount_cents,
        vat_cents=data.vat_cents,
        payee=_plain(data.payee),
        payee_type=data.payee_type,
        description=_plain(data.description),
        receipt_name=receipt_name,
        receipt_type=receipt_type,
        recorded_by_id=user.id,
        recorded_at=utcnow(),
    )
    db.session.add(expense)
    if project.status == ProjectStatus.NOT_STARTED:
        project.status = ProjectStatus.IN_PROGRESS
    try:
        db.session.flush()
    except Exception:
        if receipt_name:
            receipts.delete(receipts.receipt_dir(current_app), receipt_name)
        raise
    record(
        "expense.record",
        actor=user,
        role=permissions.acting_role(user, project.neighbourhood),
        obj=expense.project,  # filed under the project, so its audit trail is one list
        neighbourhood=project.neighbourhood_id,
        after={"uitgave": expense.id, "bedrag": expense.amount_cents},
    )
    return expense


def _decide_guard(board: User, expense: Expense) -> None:
    refusal = expense.approval_refusal(board)
    if refusal is not None:
        raise NotAllowed(refusal)
    if expense.state != ExpenseState.PENDING:
        raise SpendingError(_("Over deze uitgave is al besloten."))


def approve_expense(board: User, expense: Expense) -> LedgerEntry:
    """Four eyes: never the person who recorded it, never an initiator of the project. Only an
    approved expense counts as spent, and it goes into the ledger."""
    _decide_guard(board, expense)
    project = expense.project
    _check_room(project, expense.amount_cents, with_pending=False)
    expense.state = ExpenseState.APPROVED
    expense.decided_by_id = board.id
    expense.decided_at = utcnow()
    entry = append(
        project.neighbourhood_id,
        EntryKind.EXPENSE,
        expense.amount_cents,
        actor=board,
        project=project,
        expense=expense,
        reason=expense.description,
    )
    record(
        "expense.approve",
        actor=board,
        role="board",
        obj=expense.project,  # filed under the project, so its audit trail is one list
        neighbourhood=project.neighbourhood_id,
        after={"uitgave": expense.id, "bedrag": expense.amount_cents, "boeking": entry.seq},
    )
    return entry


def _reason(reason: str) -> str:
    text = _plain(reason or "")
    if not text:
        raise SpendingError(_("Geef een reden op."))
    if len(text) > REASON_MAX:
        raise SpendingError(_("De reden is te lang (hoogstens %(n)d tekens).", n=REASON_MAX))
    return text


def reject_expense(board: User, expense: Expense, reason: str) -> None:
    _decide_guard(board, expense)
    expense.state = ExpenseState.REJECTED
    expense.decided_by_id = board.id
    expense.decided_at = utcnow()
    expense.decision_reason = _reason(reason)
    db.session.flush()
    record(
        "expense.reject",
        actor=board,
        role="board",
        obj=expense.project,  # filed under the project, so its audit trail is one list
        neighbourhood=expense.neighbourhood_id,
        after={"uitgave": expense.id, "reden": expense.decision_reason},
    )


def reverse_expense(board: User, expense: Expense, reason: str) -> LedgerEntry:
    """An approved expense turned out wrong: a correction entry takes it back (the original
    entry stays, as everything in the ledger does)."""
    refusal = expense.approval_refusal(board)
    if refusal is not None:
        raise NotAllowed(refusal)
    if expense.state != ExpenseState.APPROVED:
        raise SpendingError(_("Alleen een goedgekeurde uitgave kan worden teruggedraaid."))
    original = db.session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.expense_id == expense.id, LedgerEntry.kind == EntryKind.EXPENSE
        )
    )
    if original is None:  # pragma: no cover - an approved expense always has its entry
        raise SpendingError(_("De boeking van deze uitgave is niet gevonden."))
    text = _reason(reason)
    expense.state = ExpenseState.REVERSED
    expense.decision_reason = text
    entry = append(
        expense.neighbourhood_id,
        EntryKind.CORRECTION,
        -original.amount_cents,
        actor=board,
        project=expense.project,
        expense=expense,
        corrects=original,
        reason=text,
    )
    record(
        "expense.reverse",
        actor=board,
        role="board",
        obj=expense.project,  # filed under the project, so its audit trail is one list
        neighbourhood=expense.neighbourhood_id,
        after={"uitgave": expense.id, "boeking": entry.seq, "reden": text},
    )
    return entry


# --- the board: money and status ------------------------------------------------------------


def _board_guard(board: User, project: FundedProject) -> None:
    if not project.can_manage(board):
        raise NotAllowed(_("Alleen het bestuur van de wijk kan dit doen."))


def reallocate(board: User, project: FundedProject, amount_cents: int, reason: str) -> LedgerEntry:
    """Extra money for a project from the wijk's unspent money, with a reason: itself a ledger
    entry, after which a larger expense fits."""
    _board_guard(board, project)
    if project.is_closed:
        raise SpendingError(_("Dit project is afgesloten."))
    if amount_cents <= 0:
        raise SpendingError(_("Het bedrag moet groter zijn dan nul."))
    text = _reason(reason)
    available = queries.wijk_available(project.neighbourhood)
    if amount_cents > available:
        raise SpendingError(
            _(
                "Zoveel vrij geld heeft de wijk niet: er is %(available)s beschikbaar.",
                available=queries.euros(available),
            )
        )
    entry = append(
        project.neighbourhood_id,
        EntryKind.REALLOCATION,
        amount_cents,
        actor=board,
        project=project,
        reason=text,
    )
    record(
        "ledger.reallocate",
        actor=board,
        role="board",
        obj=project,
        neighbourhood=project.neighbourhood_id,
        after={"bedrag": amount_cents, "reden": text, "boeking": entry.seq},
    )
    return entry


def set_treasurer(board: User, project: FundedProject, treasurer: User | None) -> None:
    _board_guard(board, project)
    before = project.treasurer_id
    project.treasurer_id = treasurer.id if treasurer else None
    db.session.flush()
    record(
        "project.treasurer",
        actor=board,
        role="board",
        obj=project,
        neighbourhood=project.neighbourhood_id,
        before={"penvoerder": before},
        after={"penvoerder": project.treasurer_id},
    )


def set_plan(user: User, project: FundedProject, start: date | None, end: date | None) -> None:
    if not (project.is_initiator(user) or project.can_manage(user)):
        raise NotAllowed(_("Alleen de initiatiefnemers en het bestuur plannen het project."))
    if start and end and end < start:
        raise SpendingError(_("De einddatum ligt voor de begindatum."))
    project.planned_start, project.planned_end = start, end
    db.session.flush()


def close_project(board: User, project: FundedProject, status: ProjectStatus, note: str) -> None:
    """Afgerond or gestopt. Pending expenses must be decided first; the unspent remainder goes
    back to the wijk as a ledger entry ("besparingen vloeien terug naar de wijk")."""
    _board_guard(board, project)
    if status not in (ProjectStatus.DONE, ProjectStatus.STOPPED):
        raise SpendingError(_("Kies afgerond of gestopt."))
    if project.is_closed:
        raise SpendingError(_("Dit project is al afgesloten."))
    money = queries.project_money(project)
    if money.pending:
        raise SpendingError(_("Er wachten nog uitgaven op goedkeuring. Besluit daar eerst over."))
    text = _reason(note)
    project.status = status
    project.closed_at = utcnow()
    if status == ProjectStatus.DONE:
        project.percent_done = 100
    remainder = money.granted - money.spent
    seq = None
    if remainder > 0:
        seq = append(
            project.neighbourhood_id,
            EntryKind.RETURN,
            remainder,
            actor=board,
            project=project,
            reason=text,
        ).seq
    db.session.add(
        ProgressUpdate(
            project_id=project.id,
            author_id=board.id,
            milestone=True,
            body=text,
            percent_done=project.percent_done,
            created_at=utcnow(),
        )
    )
    project.last_update_at = utcnow()
    db.session.flush()
    record(
        "project.close",
        actor=board,
        role="board",
        obj=project,
        neighbourhood=project.neighbourhood_id,
        after={"status": status.value, "terug": remainder, "boeking": seq},
    )


# --- progress ---------------------------------------------------------------------------------


MAX_PHOTOS = 3


def add_update(
    user: User,
    project: FundedProject,
    body: str,
    percent: int | None,
    *,
    photos: list[Any] = (),  # type: ignore[assignment]
    alt: str = "",
) -> ProgressUpdate:
    """Initiators tell how it goes, with up to three photos; the board adds milestones."""
    if not project.can_post_update(user):
        raise NotAllowed(_("Alleen de initiatiefnemers schrijven een voortgangsbericht."))
    milestone = project.update_is_milestone(user)
    if project.is_closed:
        raise SpendingError(_("Dit project is afgesloten."))
    text = (body or "").strip()
    if not text:
        raise SpendingError(_("Schrijf wat er is gebeurd."))
    if len(text) > 5000:
        raise SpendingError(_("Het bericht is te lang (hoogstens 5000 tekens)."))
    if percent is not None and not 0 <= percent <= 100:
        raise SpendingError(_("Het percentage moet tussen 0 en 100 liggen."))
    uploads = [f for f in photos if f is not None and getattr(f, "filename", "")]
    if len(uploads) > MAX_PHOTOS:
        raise SpendingError(_("Hoogstens %(n)d foto's bij een bericht.", n=MAX_PHOTOS))
    processed = [
        images.process_upload(f, max_bytes=current_app.config["UPLOAD_MAX_BYTES"]) for f in uploads
    ]
    update = ProgressUpdate(
        project_id=project.id,
        author_id=user.id,
        milestone=milestone,
        body=text,
        percent_done=percent,
        created_at=utcnow(),
    )
    directory = images.upload_dir(current_app)
    for photo in processed:
        update.photos.append(
            ProgressPhoto(
                filename=images.store(photo, directory),  # type: ignore[arg-type]
                content_type=photo.content_type,
                width=photo.width,
                height=photo.height,
                alt=_plain(alt)[:200],
            )
        )
    db.session.add(update)
    if percent is not None:
        project.percent_done = percent
    if project.status == ProjectStatus.NOT_STARTED:
        project.status = ProjectStatus.IN_PROGRESS
    project.last_update_at = update.created_at
    db.session.flush()
    if milestone:
        record(
            "project.milestone",
            actor=user,
            role="board",
            obj=project,
            neighbourhood=project.neighbourhood_id,
            after={"percentage": percent},
        )
    return update
