"""What a notification mail says and how it goes: its text is made when it is sent (from the
outbox row's subject, in the person's language), with the one-click unsubscribe link of its kind
in the text and in the ``List-Unsubscribe`` headers (RFC 8058)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ...accounts.models import User
from ...extensions import db
from ...mail import send_mail
from ...proposals.models import Proposal, State
from ...rounds.models import Round
from ...spending.models import Expense, ExpenseState, ProgressUpdate
from ...urls import external_url
from ..models import Kind, Outbox
from .choices import unsubscribe_token

#: the outcomes of one's own proposal that are mailed, with their subject lines (a board's
#: decision — admitted, rejected, changes asked — is mailed by the proposals' own operations)
OUTCOME_SUBJECTS = {
    State.CHOSEN: _l("Je voorstel is gekozen"),
    State.NOT_CHOSEN: _l("Je voorstel is niet gekozen"),
    State.INSUFFICIENT_SUPPORT: _l("Je voorstel kreeg te weinig steun"),
}


@dataclass
class Mail:
    subject: Any
    template: str
    context: dict[str, Any]


def round_mail(kind: Kind, round_id: int) -> Mail | None:
    rnd = db.session.get(Round, round_id)
    if rnd is None or not rnd.is_published:
        return None
    slug = rnd.neighbourhood.slug
    if kind == Kind.RESULT:
        link = external_url("results.show", slug=slug, round_id=rnd.id)
        return Mail(
            _l("De uitslag is bekend"),
            "notifications/mail/result.txt",
            {"round": rnd, "link": link},
        )
    link = external_url("rounds.show", slug=slug, round_id=rnd.id)
    if kind == Kind.REMINDER:
        subject = _l("Nog even: het stemmen sluit bijna")
        return Mail(subject, "notifications/mail/reminder.txt", {"round": rnd, "link": link})
    subject = _l("Het stemmen is begonnen")
    return Mail(subject, "notifications/mail/voting_opens.txt", {"round": rnd, "link": link})


def outcome_mail(proposal_id: int) -> Mail | None:
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or proposal.state not in OUTCOME_SUBJECTS:
        return None
    link = external_url("proposals.show", proposal_id=proposal.id)
    context = {"proposal": proposal, "outcome": proposal.state.value, "link": link}
    return Mail(OUTCOME_SUBJECTS[proposal.state], "notifications/mail/own_outcome.txt", context)


def follow_item(key: str) -> dict[str, Any] | None:
    """One piece of follow news: what it is about, and its link."""
    what, _sep, ident = key.partition(":")
    if what == "update":
        update = db.session.get(ProgressUpdate, int(ident))
        if update is None:
            return None
        project = update.project
        return {
            "update": update,
            "expense": None,
            "project": project,
            "link": external_url("spending.project", project_id=project.id),
        }
    expense = db.session.get(Expense, int(ident))
    if expense is None or expense.state != ExpenseState.APPROVED:
        return None
    project = expense.project
    return {
        "update": None,
        "expense": expense,
        "project": project,
        "link": external_url("spending.project", project_id=project.id),
    }


def mail_of(row: Outbox) -> Mail | None:
    """What the row's mail says, made now; None when what it was about is gone."""
    what, _sep, rest = row.subject_key.partition(":")
    ident = int(rest.partition(":")[0])
    if what == "round":
        return round_mail(row.kind, ident)
    if what == "proposal":
        return outcome_mail(ident)
    item = follow_item(row.subject_key)
    if item is None:
        return None
    return Mail(_l("Nieuws over een project dat je volgt"), "notifications/mail/follow.txt", item)


def send(user: User, kind: Kind, mail: Mail) -> None:
    """Render in the person's language and hand over; MailError when the server fails."""
    link = external_url("notifications.unsubscribe", token=unsubscribe_token(user.id, kind))
    headers = {
        "List-Unsubscribe": f"<{link}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    settings_link = external_url("notifications.settings")
    assert user.email is not None
    with force_locale(user.language):
        body = render_template(
            mail.template,
            user=user,
            unsubscribe_link=link,
            settings_link=settings_link,
            **mail.context,
        )
        send_mail(user.email, str(mail.subject), body, headers)
