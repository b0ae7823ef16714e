"""Supports: a resident supports a proposal in the phase 'steunen', or takes it back. The
threshold applied when that phase ends is a step of the round's move (``proposals.threshold``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ...accounts.models import User
from ...extensions import db, utcnow
from ...usecase import use_case
from ..models import Action, Proposal, Support
from .base import locked


@dataclass(frozen=True)
class SupportOutcome:
    supports: bool  # whether the person supports the proposal now
    changed: bool  # False: it already was so (the same button pressed twice)


@use_case(conflict=_l("Je steun stond er al."))
def set_support(user: User, proposal: Proposal, want: bool) -> SupportOutcome:
    """Support the proposal (``want``) or take the support back. The form says which (never
    "the other way round"), so the same request twice, a double click or a second tab, changes
    nothing the second time and says so. The support row and the stored count change together,
    the count in SQL (``support_count + 1``) under the proposal's lock: count = rows.

    Locks: the round (lock_round: supporting is for the phase 'steunen' by its dates, and the
    move out of that phase counts the supports under the same lock, so a support either counts
    or is refused), then the proposal (its supports one after another). A unique constraint on
    (proposal, person) as well."""
    proposal = locked(proposal)
    proposal.check(Action.SUPPORT, user)
    existing = db.session.scalar(
        select(Support).where(Support.proposal_id == proposal.id, Support.user_id == user.id)
    )
    if want == (existing is not None):
        return SupportOutcome(supports=want, changed=False)
    if want:
        db.session.add(Support(proposal_id=proposal.id, user_id=user.id, created_at=utcnow()))
    else:
        db.session.delete(existing)
    db.session.flush()
    db.session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id)
        .values(support_count=Proposal.support_count + (1 if want else -1))
        .execution_options(synchronize_session=False)
    )
    db.session.expire(proposal, ["support_count"])
    return SupportOutcome(supports=want, changed=True)
