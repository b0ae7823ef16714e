"""The proposals' blueprint and what its pages share: loading a proposal this visitor may see,
the guard (403 for a person who may never act on it), and the proposal's page with the forms of
those who can act on it; an action on the proposal (``act_on``, through ``actions.run_action``)
goes back to that page, or shows it again with the refusal (``show_again``). The routes are in
``views`` (residents) and ``review_views`` (the board)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..actions import Refusal, run_action
from ..dialogue import queries as dialogue_queries
from ..dialogue.models import Thread
from ..extensions import db
from ..forms import BaseForm, options
from ..money import format_euros_input
from ..rounds.models import Round
from ..rounds.queries import as_of_now
from . import queries
from .forms import (
    COST_ROWS,
    ChangesForm,
    DecisionForm,
    DuplicateForm,
    EstimateForm,
    ImageForm,
    InviteForm,
    ProposalForm,
    RejectForm,
    WithdrawForm,
)
from .models import Action, Proposal
from .operations import ProposalData, invite_expired

bp = Blueprint("proposals", __name__)


def load(proposal_id: int, action: Action | None = None) -> Proposal:
    """A proposal this person may see (404 otherwise: a concept is not even said to exist), and
    may do ``action`` on (``guard``: 403)."""
    proposal = queries.load_proposal(proposal_id)
    if proposal is None or not proposal.can_view(current_user):
        abort(404)
    as_of_now(proposal.round)  # the phase its dates imply, shown, not written
    if action is not None:
        guard(proposal, action)
    return proposal


def guard(proposal: Proposal, action: Action) -> None:
    """403 for a person who may never do this (another resident's proposal: no IDOR)."""
    if proposal.who_refusal(action, current_user) is not None:
        abort(403)


def _own_ids(form: Any, prefix: str) -> Any:
    """The board's forms share field names (message, note) on one page: give each field an id of
    its own, so every label, hint and error points at its own box (the posted names stay)."""
    for f in form:
        f.id = f"{prefix}-{f.name}"
        f.label.field_id = f.id
    return form


#: the forms on a proposal's page, by the name the template knows each by: its class and, for
#: the board's forms, the prefix of its fields' ids
PAGE_FORMS: dict[str, tuple[type[BaseForm], str | None]] = {
    "invite_form": (InviteForm, None),
    "image_form": (ImageForm, None),
    "withdraw_form": (WithdrawForm, None),
    "decision_form": (DecisionForm, "toelaten"),
    "reject_form": (RejectForm, "afwijzen"),
    "changes_form": (ChangesForm, "aanpassing"),
    "estimate_form": (EstimateForm, "kosten"),
    "duplicate_form": (DuplicateForm, "dubbel"),
}


def _action_forms(proposal: Proposal, forms: dict[str, Any]) -> dict[str, Any]:
    """The forms of the people who can act on a proposal: those given (sent, with their errors),
    the others empty. A visitor who is not logged in can do none of it and gets none (a form
    puts a token in the session, and the page would no longer come from the page cache)."""
    if not current_user.is_authenticated:
        return dict.fromkeys(PAGE_FORMS)
    built = {
        name: forms.get(name) or form_class(formdata=None)
        for name, (form_class, _prefix) in PAGE_FORMS.items()
    }
    built["reject_form"].criteria.choices = options(
        [(c.id, c.text) for c in proposal.round.criteria]
    )
    if "estimate_form" not in forms and proposal.board_cost_cents is not None:
        built["estimate_form"].amount.data = format_euros_input(proposal.board_cost_cents)
        built["estimate_form"].note.data = proposal.board_cost_note
    for name, (_form_class, prefix) in PAGE_FORMS.items():
        if prefix is not None:
            _own_ids(built[name], prefix)
    return built


def show_page(proposal: Proposal, status: int = 200, **forms: Any) -> Any:
    context = {
        "proposal": proposal,
        "rnd": proposal.round,
        "wijk": proposal.neighbourhood,
        "supported": bool(queries.supported_ids(current_user, [proposal.id])),
        "can": {a.value: proposal.allows(a, current_user) for a in Action},
        **_action_forms(proposal, forms),
        "action_error": forms.get("action_error"),
        "thread": db.session.scalar(select(Thread).where(Thread.proposal_id == proposal.id)),
        "meetings": dialogue_queries.meetings_about(proposal.id),
        "invite_expired": invite_expired,
    }
    return render_template("proposals/show.html", **context), status


def show_again(proposal_id: int, refusal: Refusal, form: BaseForm | None = None) -> Any:
    """The proposal's page again after a refused action (``run_action``'s ``again``): the
    proposal read afresh, the form that was sent with its errors, the refusal's message."""
    sent = {
        name: form for name, (form_class, _prefix) in PAGE_FORMS.items() if type(form) is form_class
    }
    return show_page(load(proposal_id), refusal.status, action_error=refusal.message, **sent)


def act_on(
    proposal_id: int, operation: Callable[[], Any], done: str, form: BaseForm | None = None
) -> Any:
    """Run an action on the proposal (``actions.run_action``, validating ``form`` first): then
    its page (303), or, refused, its page again with the form and the refusal."""
    return run_action(
        operation,
        form=form,
        done=done,
        to=url_for(".show", proposal_id=proposal_id),
        again=lambda refusal: show_again(proposal_id, refusal, form),
    )


def proposal_form(
    rnd: Round, proposal: Proposal | None = None, formdata: Any = None
) -> ProposalForm:
    if proposal is not None and formdata is None:
        form = ProposalForm(obj=proposal, formdata=None)
        form.category.data = str(proposal.category_id or "")
        form.area.data = str(proposal.area_id or "")
        for row, line in zip(form.cost_lines, proposal.cost_lines, strict=False):
            row.item.data = line.description
            row.amount.data = format_euros_input(line.amount_cents)
        while len(form.cost_lines) < max(COST_ROWS, len(proposal.cost_lines) + 2):
            form.cost_lines.append_entry()
            if len(form.cost_lines) <= len(proposal.cost_lines):
                line = proposal.cost_lines[len(form.cost_lines) - 1]
                form.cost_lines[-1].item.data = line.description
                form.cost_lines[-1].amount.data = format_euros_input(line.amount_cents)
    else:
        form = ProposalForm(formdata=formdata)
    form.category.choices = options(
        [("", _("Kies…"))] + [(str(c.id), c.name) for c in rnd.categories]
    )
    areas = rnd.areas or rnd.neighbourhood.areas
    form.area.choices = options(
        [("", _("De hele wijk / weet ik niet"))] + [(str(a.id), a.name) for a in areas]
    )
    return form


def proposal_data(form: ProposalForm) -> ProposalData:
    return ProposalData(
        title=form.title.data or "",
        summary=form.summary.data or "",
        description=form.description.data or "",
        category_id=int(form.category.data) if (form.category.data or "").isdigit() else None,
        area_id=int(form.area.data) if (form.area.data or "").isdigit() else None,
        location=form.location.data or "",
        cost_lines=form.costs(),
    )
