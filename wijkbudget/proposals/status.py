"""A proposal's status in one plain sentence, and what the board asked to change.

``state_label`` (models) names the state in a word; ``status_explained`` says what it means for
the proposal now, judged by the round's phase: an admitted proposal is only "op het stembiljet"
once voting has begun, because the support threshold can still drop it before that (the move to
voting applies it). The proposal's page, the authors' mail and the start page (``/mijn``) all
say it with this one function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import gettext as _

from ..rounds.models import Phase, Round
from .models import RULES, Action, Proposal, ProposalEvent, State

if TYPE_CHECKING:
    from ..accounts.models import User


def admitted_explained(rnd: Round) -> str:
    """What "toegelaten" means in this round now: on the ballot once voting began; before,
    what still decides it (the support threshold, or nothing but the start of the vote)."""
    if rnd.has_reached(Phase.VOTING):
        return _("Toegelaten: het voorstel staat op het stembiljet.")
    if rnd.support_enabled and rnd.support_threshold > 0:
        return _(
            "Toegelaten: het voorstel past bij de regels van de ronde. Of het op het stembiljet "
            "komt, hangt af van de steun: het heeft in de fase 'Steunen' minstens %(n)d "
            "steunbetuigingen nodig.",
            n=rnd.support_threshold,
        )
    return _(
        "Toegelaten: het voorstel past bij de regels van de ronde. Als het stemmen begint, komt "
        "het op het stembiljet."
    )


def status_explained(proposal: Proposal) -> str:
    """The proposal's status in one sentence for residents, in the phase its round is in (a
    page sets the phase its dates imply first: ``rounds.queries.as_of_now``)."""
    state = proposal.state
    if state == State.ADMITTED:
        return admitted_explained(proposal.round)
    sentences = {
        State.CONCEPT: _("Nog niet ingediend: alleen de indieners zien dit concept."),
        State.SUBMITTED: _(
            "Ingediend: het bestuur kijkt of het voorstel past bij de regels van de ronde."
        ),
        State.CHANGES_REQUESTED: _(
            "Het bestuur vraagt om een aanpassing. De indieners passen het voorstel aan en "
            "dienen het opnieuw in."
        ),
        State.REJECTED: _(
            "Afgewezen: het voorstel past niet bij de regels van de ronde. Waarom staat bij de "
            "geschiedenis van het voorstel."
        ),
        State.WITHDRAWN: _("Ingetrokken door de indieners."),
        State.INSUFFICIENT_SUPPORT: _(
            "Te weinig steun: het voorstel kwam daarom niet op het stembiljet."
        ),
        State.CHOSEN: _("Gekozen: het voorstel krijgt geld uit het wijkbudget."),
        State.NOT_CHOSEN: _("Niet gekozen: het voorstel kreeg bij de stemming geen geld."),
    }
    return sentences[State(state)]


def board_request(proposal: Proposal) -> ProposalEvent | None:
    """While the board asks for changes: its request (the latest "request_changes" event, with
    the message it wrote), for the edit page. None in any other state."""
    if proposal.state != State.CHANGES_REQUESTED:
        return None
    asked = [e for e in proposal.events if e.kind == Action.REQUEST_CHANGES.value]
    return asked[-1] if asked else None


def support_open(rnd: Round, user: User | None) -> bool:
    """Whether ``user`` can support proposals of this round now: the phase the rule for
    supporting names (``RULES``), and taking part in the round (what ``Proposal.refusal``
    asks of a supporter, before the proposal's own state)."""
    rule = RULES[Action.SUPPORT]
    return rnd.phase in rule.phases and rnd.take_part_refusal(user, "support") is None
