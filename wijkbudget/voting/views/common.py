"""What the board's voting pages share (codes, letters, paper batches): the token that makes a
form's work happen once, the one message for a refusal, a code batch of this round or 404, and
the page for codes that can no longer be shown."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flask import abort, render_template, request
from flask_babel import gettext as _

from ...actions import Refusal
from ...extensions import db
from ...forms import BaseForm
from ...neighbourhoods.models import Neighbourhood
from ...rounds.models import Round
from ..forms import first_error
from ..models import CodeBatch, VotingError


def form_token() -> str:
    """A token for a form that makes something (codes, a paper batch): the same form sent twice
    (a double click) makes it once (the operation keeps the token, unique)."""
    return secrets.token_urlsafe(24)


def sent_token() -> str | None:
    token = (request.form.get("form_token") or "").strip()
    return token[:64] or None


def refusal_message(refusal: Refusal, form: BaseForm | None = None) -> str:
    """The one message a page shows for a refusal: the operation's, or the form's first error
    (``first_error``: the form's messages are lazy strings)."""
    if refusal.message:
        return refusal.message
    if form is not None:
        return first_error(form)
    return next(iter(refusal.errors), "") or _(
        "Er ging iets mis met het formulier. Probeer het opnieuw."
    )


def code_batch(rnd: Round, batch_id: int) -> CodeBatch:
    batch = db.session.get(CodeBatch, batch_id)
    if batch is None or batch.round_id != rnd.id:
        abort(404)
    return batch


def codes_not_shown(wijk: Neighbourhood, rnd: Round) -> Callable[[Refusal], Any]:
    """The codes cannot be shown (printed or revoked already: 410)."""

    def page(refusal: Refusal) -> Any:
        status = 410 if refusal.status == VotingError.status else refusal.status
        return render_template(
            "voting/refused.html", wijk=wijk, rnd=rnd, refusal=refusal.message
        ), status

    return page
