"""Forms of the voting area. The ballot itself is a variable set of checkboxes or point fields per
proposal: :func:`read_ballot` reads it (for the ballot, the budget bar and the paper sheets
alike) and ``operations.problems`` checks it; the classes are the fixed forms: code entry, the
receipt check and the board's codes and paper batches (a sheet struck out, a batch confirmed or
discarded)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, StringField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..forms import (
    BaseForm,
    ChoiceField,
    WholeNumberField,
    WithinYears,
    database_id,
    text_field,
)
from ..i18n import local_to_utc
from ..rounds.models import BallotType, Round
from .models import VotingError
from .operations import MAX_BATCH
from .operations.paper import REASON_MAX


def first_error(form: BaseForm) -> str:
    """The first message of a form that did not validate (the pages show one message at a time)."""
    for errors in form.errors.values():
        for error in errors:
            return str(error)
    return str(_l("Er ging iets mis met het formulier. Probeer het opnieuw."))


def _batch_label() -> StringField:
    """The name the board gives a batch (of codes, of paper ballots): at most 120 characters."""
    return StringField(
        _l("Naam van de stapel"),
        validators=[Length(max=120, message=_l("Gebruik hoogstens 120 tekens."))],
    )


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
    label = _batch_label()
    area = ChoiceField(_l("Voor welke buurt?"), validators=[Optional()], default="")

    def __init__(self, *args: Any, areas: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.area.choices = [("", str(_l("De hele wijk")))] + [(str(a.id), a.name) for a in areas]


class RevokeCodeForm(BaseForm):
    code = StringField(_l("Stemcode"), validators=[Length(max=64)])


class PaperBatchForm(BaseForm):
    label = _batch_label()
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


def _reason_field(label: Any) -> StringField:
    """A reason (the operation says when it is needed and how short it may be)."""
    return text_field(label, REASON_MAX, area=True)


class StrikeSheetForm(BaseForm):
    """Strike one entered sheet out (its number and why)."""

    number = WholeNumberField(
        _l("Nummer van het stembiljet"),
        validators=[InputRequired(_l("Kies het stembiljet dat je wilt doorstrepen."))],
    )
    reason = _reason_field(_l("Waarom streep je dit stembiljet door?"))


class ConfirmBatchForm(BaseForm):
    """The second board member's confirmation; a reason when the count differs."""

    reason = _reason_field(_l("Reden als het aantal niet klopt"))


class DiscardBatchForm(BaseForm):
    """Throwing a batch away: asked for explicitly, with a reason."""

    sure = BooleanField(
        _l("Ja, gooi deze stapel weg"),
        validators=[DataRequired(_l("Zet een vinkje als je de stapel echt wilt weggooien."))],
    )
    reason = _reason_field(_l("Waarom gooi je de stapel weg?"))


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


class VotingPlaceForm(BaseForm):
    """A voting place with one opening: a day and the times, as typed in the Netherlands."""

    name = StringField(
        _l("Naam van de plek"),
        validators=[InputRequired(_l("Vul de naam van de plek in.")), Length(max=120)],
        description=_l("Bijvoorbeeld: Buurthuis De Pijp, of: Marktkraam op het plein"),
    )
    address = StringField(
        _l("Adres"),
        validators=[InputRequired(_l("Vul het adres in.")), Length(max=200)],
    )
    day = DateField(
        _l("Datum"),
        validators=[InputRequired(_l("Vul de datum in.")), WithinYears()],
    )
    opens = TimeField(
        _l("Open vanaf"), validators=[InputRequired(_l("Vul in hoe laat het opent."))]
    )
    closes = TimeField(_l("Open tot"), validators=[InputRequired(_l("Vul in hoe laat het sluit."))])
    note = StringField(
        _l("Goed om te weten (niet verplicht)"),
        validators=[Optional(), Length(max=300)],
        description=_l("Bijvoorbeeld: rolstoeltoegankelijk, of: neem je brief mee"),
    )

    def opening(self) -> tuple[datetime, datetime]:
        """The opening in UTC (the form is valid)."""
        assert self.day.data and self.opens.data and self.closes.data
        opens = local_to_utc(datetime.combine(self.day.data, self.opens.data))
        closes = local_to_utc(datetime.combine(self.day.data, self.closes.data))
        assert opens is not None and closes is not None
        return opens, closes
