"""The support threshold: when a round leaves the phase 'steunen', admitted proposals with too
few supports leave the ballot.

It is a step of the round's move (``rounds.operations``), in that use case's transaction, so it
sits here, below the proposals' operations: the rounds' operations call it, and the proposals'
operations (which lock the round through ``rounds.operations.lock_round``) are never imported by
the rounds' (no import cycle).
"""

from __future__ import annotations

import logging

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..audit.operations import record
from ..extensions import db
from ..rounds.models import Round
from ..usecase import use_case
from .models import Proposal, State, Support

log = logging.getLogger(__name__)


@use_case
def apply_support_threshold(rnd: Round) -> None:
    """At the end of the steunen phase: admitted proposals with fewer supports than the
    threshold leave the ballot. Runs inside the use case that moves the round on
    (rounds.operations: a nested use case, it joins that transaction). It counts the support
    rows (never the stored count), and stores what it counted with each proposal.

    Locks: the round (the caller's lock_round already holds it; taken here again, without
    reading the round afresh, so the count is right whoever calls): no support comes in or goes
    out while it counts. Then the admitted proposals of the round."""
    db.session.execute(select(Round.id).where(Round.id == rnd.id).with_for_update(key_share=True))
    if not rnd.support_enabled or rnd.support_threshold <= 0:
        return
    counted = (
        select(func.count(Support.id))
        .where(Support.proposal_id == Proposal.id)
        .correlate(Proposal)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Proposal, counted)
        .where(Proposal.round_id == rnd.id, Proposal.state == State.ADMITTED)
        .order_by(Proposal.id)
        .with_for_update(of=Proposal, key_share=True)
        .execution_options(populate_existing=True)
    ).all()
    for proposal, supports in rows:
        if proposal.support_count != supports:
            log.warning(
                "proposal %s: stored support count %s, rows %s (corrected)",
                proposal.id,
                proposal.support_count,
                supports,
            )
            proposal.support_count = supports
        if supports >= rnd.support_threshold:
            continue
        proposal.add_event(
            "insufficient_support",
            None,
            "system",
            to_state=State.INSUFFICIENT_SUPPORT,
            message=_(
                "%(count)d keer gesteund; nodig waren er %(needed)d.",
                count=supports,
                needed=rnd.support_threshold,
            ),
        )
        record(
            "proposal.support_threshold",
            actor=None,
            role="system",
            obj=proposal,
            neighbourhood=rnd.neighbourhood_id,
            after={"steun": supports, "drempel": rnd.support_threshold},
        )
