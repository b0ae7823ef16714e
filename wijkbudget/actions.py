"""One way for a view to run an action: validate the form → call the operation → flash → 303, or
the page again with the form's errors (422) or the operation's refusal (its own status).

Every area's POST views use :func:`run_action`, so they all answer alike::

    @bp.post("/voorstellen/<int:proposal_id>/intrekken")
    @login_required
    def withdraw(proposal_id: int) -> ResponseReturnValue:
        proposal = load_proposal(proposal_id)
        form = WithdrawForm()
        return run_action(
            lambda: operations.withdraw(current_user, proposal, form.reason.data or ""),
            form=form,
            done=_("Je voorstel is ingetrokken."),
            to=url_for(".show", proposal_id=proposal.id),
            again=lambda refusal: show_page(proposal, refusal, withdraw_form=form),
        )

The operation owns its transaction (``usecase.use_case``): by the time it returns, its change is
committed, and a :class:`~wijkbudget.errors.DomainError` means nothing was saved. This module only
turns those two outcomes into a response; it never commits.

Where the page cannot be shown again with the message in place (a list of many items, a button in
a table), leave ``again`` out: the message is flashed and the browser goes to ``back`` (or ``to``)
with 303, and the form's input is not kept — use this only for forms without typed text.

Where routes differ only in what they do (the operation, the message), one view serves them all:
it is routed once per endpoint and reads its part of a table with :func:`this_route`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import flash, redirect, request
from flask.typing import ResponseReturnValue

from .errors import DomainError

R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True)
class Refusal:
    """Why the action did not happen: the form's errors (``status`` 422, ``message`` None — the
    errors are on the form's fields) or the operation's refusal (its status and its message)."""

    status: int
    message: str | None = None
    errors: list[str] = field(default_factory=list)


def form_errors(form: Any) -> list[str]:
    """The form's error messages, field by field, in the order of the form (for a flash)."""
    messages: list[str] = []
    for errors in (form.errors or {}).values():
        for error in errors:
            if isinstance(error, dict):  # a FormField/FieldList entry: its own fields' errors
                messages.extend(str(m) for sub in error.values() for m in sub)
            else:  # a str, or a lazy string (a validator's message given with _l)
                messages.append(str(error))
    return messages


def run_action(
    operation: Callable[[], R],
    *,
    to: str | Callable[[R], str | ResponseReturnValue],
    form: Any = None,
    done: str | Callable[[R], str] | None = None,
    again: Callable[[Refusal], ResponseReturnValue] | None = None,
    back: str | None = None,
) -> ResponseReturnValue:
    """Run one action of a view.

    - ``form``: validated first (CSRF included); invalid → ``again(Refusal(422))``.
    - ``operation``: called without arguments (a lambda over the loaded objects and the form's
      data); a ``DomainError`` → ``again(Refusal(error.status, error.message))``.
    - ``done``: the success message (or a function of the operation's result), flashed.
    - ``to``: where the browser goes after success (303); a function of the result gives a URL or
      a whole response (e.g. an htmx fragment).
    - ``again``: the page again with the refusal, in its status; without it the refusal is flashed
      and the browser goes to ``back`` (default: ``to`` when that is a URL) with 303.
    """
    if form is not None and not form.validate_on_submit():
        return _refused(Refusal(422, None, form_errors(form)), again, back, to)
    try:
        result = operation()
    except DomainError as error:
        return _refused(Refusal(error.status, error.message), again, back, to)
    if done:
        flash(done(result) if callable(done) else done, "success")
    target = to(result) if callable(to) else to
    if isinstance(target, str):
        return redirect(target, 303)
    return target


def _refused(
    refusal: Refusal,
    again: Callable[[Refusal], ResponseReturnValue] | None,
    back: str | None,
    to: object,
) -> ResponseReturnValue:
    if again is not None:
        return again(refusal)
    for message in [refusal.message] if refusal.message else refusal.errors[:1]:
        flash(message, "error")
    target = back if back is not None else to
    if not isinstance(target, str):
        raise TypeError("run_action without again= needs back= when to= is not a URL")
    return redirect(target, 303)


def this_route(table: Mapping[str, T]) -> T:
    """What ``table`` holds for the route being answered, by its endpoint without the blueprint:
    for one view routed under several endpoints, e.g. ``@bp.post(".../afwijzen",
    endpoint="reject")`` and ``@bp.post(".../terugdraaien", endpoint="reverse")``."""
    return table[(request.endpoint or "").rpartition(".")[2]]
