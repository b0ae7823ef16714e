"""Forms of the voting area. The ballot itself is a variable set of checkboxes or point fields per
proposal: :func:`read_ballot` reads it (for the ballot, the budget bar and the paper sheets
alike) and ``operations.problems`` checks it; the classes are the fixed forms: code entry, the
receipt check and the board's codes and paper batches."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..forms import BaseForm, ChoiceField, WholeNumberField, database_id
from ..rounds.models import BallotType, Round
from .models import VotingError
from .operations import MAX_BATCH


def first_error(form: BaseForm) -> str:
    """The first message of a form that did not validate (the pages show one message at a time)."""
    for errors in form.errors.values():
        for error in errors:
            return str(error)
    return str(_l("Er ging iets mis met het formulier. Probeer het opnieuw."))


class CodeForm(BaseForm):
    code = StringField(_l("Stemcode"), validators=[Length(max=64)])


class ReceiptForm(BaseForm):
    receipt = StringField(_l("Je bewijscode"), validators=[Length(max=64)])


class GenerateCodesForm(BaseForm):
    count = WholeNumberField(
        _l("Hoeveel codes?"),
        validators=[
            InputRequired(_l("Vul een aantal in, bijvoorbeeld 500.")),
            NumberRange(
                min=1,
                max=MAX_BATCH,
                message=_l("Maak tussen 1 en %(max)d codes tegelijk.", max=MAX_BATCH),
            ),
        ],
    )
    label = StringField(
        _l("Naam van de stapel"),
        validators=[Length(max=120, message=_l("Gebruik hoogstens 120 tekens."))],
    )
    area = ChoiceField(_l("Voor welke buurt?"), validators=[Optional()], default="")

    def __init__(self, *args: Any, areas: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.area.choices = [("", str(_l("De hele wijk")))] + [(str(a.id), a.name) for a in areas]


class RevokeCodeForm(BaseForm):
    code = StringField(_l("Stemcode"), validators=[Length(max=64)])


class PaperBatchForm(BaseForm):
    label = StringField(
        _l("Naam van de stapel"),
        validators=[Length(max=120, message=_l("Gebruik hoogstens 120 tekens."))],
    )
    declared = WholeNumberField(
        _l("Aantal stembiljetten op de telstaat"),
        validators=[
            InputRequired(_l("Vul in hoeveel stembiljetten er op de telstaat staan.")),
            NumberRange(
                min=1,
                max=100_000,
                message=_l("Vul in hoeveel stembiljetten er op de telstaat staan."),
            ),
        ],
    )


class SheetForm(BaseForm):
    identifier = StringField(_l("Stemcode of e-mailadres"), validators=[Length(max=254)])


def read_ballot(rnd: Round, fields: Iterable[tuple[str, str]]) -> dict[int, int]:
    """The choices a ballot form sent (its fields, every value of every name, in order):
    {proposal id: points}. Cumulative: ``pts-<id>`` with the points (the first of a name counts;
    empty or 0 is no choice); otherwise every ``p`` is a ticked proposal. What is no proposal id
    (not a number, or too big for one) is not a choice. Points that are no whole number:
    :class:`VotingError` (422)."""
    selection: dict[int, int] = {}
    if rnd.ballot_type == BallotType.CUMULATIVE:
        seen: set[str] = set()
        for key, value in fields:
            if key in seen:
                continue
            seen.add(key)
            proposal_id = database_id(key[4:]) if key.startswith("pts-") else None
            if proposal_id is not None:
                text = value.strip()
                if not text:
                    continue
                if not text.isascii() or not text.isdigit() or len(text) > 4:
                    raise VotingError(_("Vul bij punten een heel getal in, bijvoorbeeld 2."))
                if int(text) > 0:
                    selection[proposal_id] = int(text)
        return selection
    for key, value in fields:
        proposal_id = database_id(value) if key == "p" else None
        if proposal_id is not None:
            selection[proposal_id] = 1
    return selection
