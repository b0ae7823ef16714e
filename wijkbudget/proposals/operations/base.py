"""What the proposal use cases share: the refusal "not this person" (403), locking a proposal
with its round, and the mail to the authors after a decision.

The lock order is the same in every use case, so two of them never wait for each other in a
circle: the round (``lock_round``: read afresh and moved along its dates, so the phase a rule
reads is the phase the dates say, whether or not ``flask tick`` ran) → the proposal → another
proposal of the same round (by id) → an invitation row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ...accounts.models import User
from ...extensions import db
from ...mail import send_template
from ...money import format_cents
from ...rounds.operations import lock_round
from ...urls import external_url
from ...usecase import after_commit, lock_or_gone
from ..models import Proposal, ProposalError, ProposalEvent


class Forbidden(ProposalError):
    """This person may not do this (not only: not now): 403."""

    status = 403


def money(cents: int) -> str:
    """An amount as the messages show it (€ 1.234,50)."""
    return format_cents(cents)


def locked(proposal: Proposal | int) -> Proposal:
    """The proposal's round locked and moved along its dates (``lock_round``), then the proposal
    locked and read afresh, with the collections a rule counts (co-submitters, photos, cost
    lines) loaded again after the lock. A Conflict (409) when the proposal was deleted."""
    if isinstance(proposal, Proposal):
        proposal_id, round_id = proposal.id, proposal.round_id
    else:
        proposal_id = proposal
        found = db.session.scalar(select(Proposal.round_id).where(Proposal.id == proposal_id))
        # not found: lock_or_gone raises the Conflict (gone)
        round_id = found if found is not None else lock_or_gone(Proposal, proposal_id).round_id
    lock_round(round_id)
    proposal_locked = lock_or_gone(Proposal, proposal_id)
    db.session.expire(proposal_locked, ["coauthors", "images", "cost_lines"])
    return proposal_locked


def _authors(proposal: Proposal) -> list[User]:
    ids = proposal.author_ids()
    return list(db.session.scalars(select(User).where(User.id.in_(ids))))


def tell_authors(proposal: Proposal, event: ProposalEvent, subject: Any) -> None:
    """Mail the authors about ``event`` once the use case has committed."""
    link = external_url("proposals.show", proposal_id=proposal.id)
    authors = _authors(proposal)

    def send() -> None:
        for author in authors:
            send_template(
                author,
                "proposals/mail/decision.txt",
                subject,
                user=author,
                proposal=proposal,
                event=event,
                link=link,
            )

    after_commit(send)
