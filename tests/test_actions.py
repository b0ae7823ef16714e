"""actions.run_action: the one way a view runs an action — the form first, then the operation,
then a flash and a 303; or the page again with the form's errors (422) or the refusal's status."""

from __future__ import annotations

from typing import Any

import pytest
from flask import get_flashed_messages
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from wijkbudget.actions import Refusal, run_action
from wijkbudget.errors import DomainError
from wijkbudget.forms import BaseForm
from wijkbudget.usecase import Conflict


class ReasonForm(BaseForm):
    # a lazy message, as the forms of the app give theirs
    reason = StringField(
        "Reden", validators=[DataRequired(_l("Schrijf een reden.")), Length(max=5)]
    )


@pytest.fixture
def post(app: Any) -> Any:
    """A POST request context with CSRF off (the form's own validators still run)."""

    def make(data: dict[str, str]) -> Any:
        app.config["WTF_CSRF_ENABLED"] = False
        return app.test_request_context("/actie", method="POST", data=data)

    return make


def test_a_valid_form_runs_the_operation_flashes_and_sends_the_browser_on(post):
    calls: list[str] = []
    with post({"reason": "klaar"}):
        form = ReasonForm()
        response = run_action(
            lambda: calls.append(form.reason.data) or 7,
            form=form,
            done=lambda result: f"Gedaan ({result}).",
            to=lambda result: f"/klaar/{result}",
            again=lambda refusal: ("opnieuw", refusal.status),
        )
        assert calls == ["klaar"]
        assert response.status_code == 303
        assert response.location == "/klaar/7"
        assert get_flashed_messages(with_categories=True) == [("success", "Gedaan (7).")]


def test_an_invalid_form_never_reaches_the_operation(post):
    calls: list[int] = []
    seen: list[Refusal] = []
    with post({"reason": "veel te lang"}):
        form = ReasonForm()
        response = run_action(
            lambda: calls.append(1),
            form=form,
            done="Gedaan.",
            to="/klaar",
            again=lambda refusal: (seen.append(refusal), ("opnieuw", refusal.status))[1],
        )
        assert calls == []
        assert response == ("opnieuw", 422)
        assert seen[0].message is None and seen[0].errors  # the errors stay on the form
        assert form.reason.errors
        assert get_flashed_messages() == []


@pytest.mark.parametrize(("error", "status"), [(DomainError("Nee."), 422), (Conflict("Al."), 409)])
def test_a_refusal_shows_the_page_again_in_its_status(post, error, status):
    def refuse() -> None:
        raise error

    with post({"reason": "ja"}):
        response = run_action(
            refuse,
            form=ReasonForm(),
            done="Gedaan.",
            to="/klaar",
            again=lambda refusal: (refusal.message, refusal.status),
        )
        assert response == (error.message, status)
        assert get_flashed_messages() == []


def test_without_a_page_again_the_refusal_is_flashed_and_the_browser_goes_back(post):
    def refuse() -> None:
        raise Conflict("Een ander bestuurslid was je voor.")

    with post({"reason": ""}):
        # the form's first error, flashed
        response = run_action(lambda: None, form=ReasonForm(), to="/klaar", back="/lijst")
        assert (response.status_code, response.location) == (303, "/lijst")
        assert get_flashed_messages(with_categories=True) == [("error", "Schrijf een reden.")]
    with post({"reason": "ja"}):
        response = run_action(refuse, form=ReasonForm(), done="Gedaan.", to="/klaar")
        assert (response.status_code, response.location) == (303, "/klaar")
        assert get_flashed_messages(with_categories=True) == [
            ("error", "Een ander bestuurslid was je voor.")
        ]
