"""One view for several routes (``actions.this_route``), and the fields most forms are made of
(``forms.text_field``, ``forms.number_field``): each route keeps its own endpoint and URL, and a
field made by the factory validates as one written out by hand."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Blueprint, Flask, url_for
from flask_babel import lazy_gettext as _l

from wijkbudget.actions import this_route
from wijkbudget.forms import BaseForm, number_field, text_field


def test_one_view_reads_the_part_of_its_table_for_the_route_it_answers():
    table = {"reject": "afgewezen", "reverse": "teruggedraaid"}
    bp = Blueprint("things", __name__)

    @bp.post("/dingen/<int:thing_id>/afwijzen", endpoint="reject")
    @bp.post("/dingen/<int:thing_id>/terugdraaien", endpoint="reverse")
    def decide(thing_id: int) -> str:
        return f"{thing_id} {this_route(table)}"

    app = Flask(__name__)
    app.register_blueprint(bp)
    client = app.test_client()
    assert client.post("/dingen/3/afwijzen").get_data(as_text=True) == "3 afgewezen"
    assert client.post("/dingen/4/terugdraaien").get_data(as_text=True) == "4 teruggedraaid"
    assert client.get("/dingen/3/afwijzen").status_code == 405


@pytest.mark.parametrize(
    ("endpoint", "values", "path"),
    [
        ("proposals.admit", {"proposal_id": 7}, "/wijk/west/bestuur/voorstellen/7/toelaten"),
        (
            "proposals.request_changes",
            {"proposal_id": 7},
            "/wijk/west/bestuur/voorstellen/7/aanpassing",
        ),
        ("dialogue.restore", {"comment_id": 5}, "/wijk/west/bestuur/reacties/5/herstellen"),
        (
            "dialogue.dismiss",
            {"comment_id": 5},
            "/wijk/west/bestuur/reacties/5/meldingen-afwijzen",
        ),
        ("spending.reject", {"expense_id": 2}, "/wijk/west/bestuur/uitgaven/2/afwijzen"),
        ("spending.reverse", {"expense_id": 2}, "/wijk/west/bestuur/uitgaven/2/terugdraaien"),
    ],
)
def test_the_routes_one_view_serves_keep_their_endpoints_and_urls(app, endpoint, values, path):
    with app.test_request_context():
        assert url_for(endpoint, slug="west", **values) == path
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    assert rule.methods is not None and "POST" in rule.methods
    assert app.view_functions[endpoint].required_role == "board"


class NoteForm(BaseForm):
    class Meta:
        csrf = False

    reason = text_field(_l("Reden"), 10, required=_l("Schrijf een reden."), area=True)
    note = text_field(_l("Opmerking"), 5, description=_l("Niet verplicht."))
    count = number_field(_l("Aantal"), 1, 3, _l("Vul 1 tot 3 in."), default=2)


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"reason": "klaar", "note": "", "count": ""}, {}),
        ({"reason": "", "note": "", "count": "2"}, {"reason": ["Schrijf een reden."]}),
        (
            {"reason": "x" * 11, "note": "zes ch", "count": "4"},
            {
                "reason": ["Hoogstens 10 tekens."],
                "note": ["Hoogstens 5 tekens."],
                "count": ["Vul 1 tot 3 in."],
            },
        ),
    ],
)
def test_a_field_from_the_factory_validates_as_one_written_out(app, data, errors):
    with app.test_request_context("/", method="POST", data=data):
        form = NoteForm()
        assert form.validate() is (not errors)
        assert {name: [str(e) for e in found] for name, found in form.errors.items()} == errors


def test_a_field_from_the_factory_renders_as_one_written_out(app):
    with app.test_request_context("/"):
        form: Any = NoteForm(formdata=None)
        assert form.reason.flags.required and not form.note.flags.required
        assert str(form.reason()).startswith("<textarea")
        assert 'type="text"' in str(form.note()) and form.note.description == "Niet verplicht."
        assert form.count.data == 2
