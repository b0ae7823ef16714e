"""Forms for writing a bewonersbod, inviting co-submitters, photos, and the board's decisions."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import Form, StringField, TextAreaField
from wtforms.fields import EmailField, FieldList, FormField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from ..forms import BaseForm, ChoiceField, EuroField, MultiCheckboxField, database_id

MAX = _l("Hoogstens %(max)d tekens.")
COST_ROWS = 6


class CostLineForm(Form):
    """One row of the cost table (no CSRF of its own: it lives inside ProposalForm)."""

    item = StringField(_l("Waaraan"), validators=[Length(max=200, message=MAX)])
    amount = EuroField(_l("Bedrag (euro)"), validators=[Length(max=20, message=MAX)])


class ProposalForm(BaseForm):
    title = StringField(
        _l("Titel"),
        validators=[DataRequired(_l("Geef je voorstel een titel.")), Length(max=120, message=MAX)],
        description=_l("Kort en duidelijk, hoogstens 120 tekens."),
    )
    summary = TextAreaField(
        _l("Samenvatting"),
        validators=[
            DataRequired(_l("Schrijf in een paar zinnen wat je wilt doen.")),
            Length(max=300, message=MAX),
        ],
        description=_l("Wat wil je doen, en waarom? Hoogstens 300 tekens."),
    )
    description = TextAreaField(
        _l("Uitleg"),
        validators=[Length(max=20000, message=MAX)],
        description=_l(
            "Vertel meer: voor wie is het, wie helpt mee, wat is er al geregeld? "
            "Je kunt *schuin*, **vet**, lijstjes met - en links gebruiken."
        ),
    )
    category = ChoiceField(_l("Categorie"), validators=[DataRequired(_l("Kies een categorie."))])
    area = ChoiceField(_l("Buurt"), validators=[Optional()])
    location = StringField(
        _l("Plek (niet verplicht)"),
        validators=[Length(max=200, message=MAX)],
        description=_l("Bijvoorbeeld: het grasveld bij de Kanaalstraat."),
    )
    cost_lines = FieldList(
        FormField(CostLineForm), label=_l("Kosten"), min_entries=COST_ROWS, max_entries=20
    )

    def validate_cost_lines(self, field: FieldList) -> None:
        self.parsed_costs: list[tuple[str, int]] = []
        problems: list[str] = []
        for row in field:
            description = (row.item.data or "").strip()
            amount_text = (row.amount.data or "").strip()
            if not description and not amount_text:
                continue
            if not description or not amount_text:
                problems.append(
                    str(_l("Vul bij elke kostenpost een omschrijving én een bedrag in."))
                )
                continue
            cents = row.amount.cents
            if row.amount.errors or cents is None:
                problems.extend(str(error) for error in row.amount.errors)
                continue
            if cents <= 0:
                problems.append(str(_l("Een kostenpost moet meer dan € 0 zijn.")))
                continue
            self.parsed_costs.append((description, cents))
        if problems:
            raise ValidationError(" ".join(dict.fromkeys(problems)))
        if not self.parsed_costs:
            raise ValidationError(
                str(_l("Vul minstens één kostenpost in: wat kost het, en waaraan?"))
            )

    def costs(self) -> list[tuple[str, int]]:
        return getattr(self, "parsed_costs", [])


class InviteForm(BaseForm):
    email = EmailField(
        _l("E-mailadres van de mede-indiener"),
        validators=[
            DataRequired(_l("Vul een e-mailadres in.")),
            Email(message=_l("Dit is geen geldig e-mailadres.")),
            Length(max=254, message=MAX),
        ],
    )


class ImageForm(BaseForm):
    photo = FileField(_l("Foto (JPEG, PNG of WebP, hoogstens 5 MB)"))
    alt = StringField(
        _l("Wat staat er op de foto?"),
        validators=[Length(max=200, message=MAX)],
        description=_l("Voor wie de foto niet kan zien."),
    )

    def validate_photo(self, field: Any) -> None:
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Kies een foto."))


class WithdrawForm(BaseForm):
    reason = TextAreaField(
        _l("Waarom trek je het voorstel in? (niet verplicht)"),
        validators=[Length(max=1000, message=MAX)],
    )


class DecisionForm(BaseForm):
    message = TextAreaField(
        _l("Toelichting (openbaar)"), validators=[Length(max=2000, message=MAX)]
    )


class RejectForm(BaseForm):
    criteria = MultiCheckboxField(_l("Aan welke regels voldoet het voorstel niet?"), coerce=int)
    message = TextAreaField(_l("Reden (openbaar)"), validators=[Length(max=2000, message=MAX)])


class ChangesForm(BaseForm):
    message = TextAreaField(
        _l("Wat moet er anders? (openbaar)"),
        validators=[DataRequired(_l("Schrijf wat er anders moet.")), Length(max=2000, message=MAX)],
    )


class EstimateForm(BaseForm):
    amount = EuroField(
        _l("Schatting van het bestuur (euro; leeg: die van de indieners)"),
        validators=[Length(max=20, message=MAX)],
    )
    note = TextAreaField(
        _l("Waarom anders? (openbaar)"), validators=[Length(max=2000, message=MAX)]
    )


class DuplicateForm(BaseForm):
    original = StringField(
        _l("Nummer van het voorstel waar dit op lijkt (leeg: geen)"),
        validators=[Length(max=12, message=MAX)],
    )
    note = TextAreaField(_l("Toelichting (openbaar)"), validators=[Length(max=2000, message=MAX)])

    def validate_original(self, field: StringField) -> None:
        text = (field.data or "").strip().lstrip("#")
        if text and database_id(text) is None:
            raise ValidationError(_l("Vul het nummer van het voorstel in, bijvoorbeeld 12."))


class ListFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(_l("Zoeken"), validators=[Length(max=100, message=MAX)])
    category = ChoiceField(_l("Categorie"), validators=[Optional()])
    area = ChoiceField(_l("Buurt"), validators=[Optional()])
    state = ChoiceField(_l("Status"), validators=[Optional()])
    sort = ChoiceField(_l("Volgorde"), validators=[Optional()])
