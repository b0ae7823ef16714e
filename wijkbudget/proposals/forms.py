"""Forms for writing a bewonersbod, inviting co-submitters, photos, and the board's decisions."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import Form, StringField
from wtforms.fields import EmailField, FieldList, FormField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from ..forms import (
    TOO_LONG,
    BaseForm,
    ChoiceField,
    EuroField,
    MultiCheckboxField,
    database_id,
    text_field,
)

COST_ROWS = 6


class CostLineForm(Form):
    """One row of the cost table (no CSRF of its own: it lives inside ProposalForm)."""

    item = text_field(_l("Waaraan"), 200)
    amount = EuroField(_l("Bedrag (euro)"), validators=[Length(max=20, message=TOO_LONG)])


class ProposalForm(BaseForm):
    title = text_field(
        _l("Titel"),
        120,
        required=_l("Geef je voorstel een titel."),
        description=_l("Kort en duidelijk, hoogstens 120 tekens."),
    )
    summary = text_field(
        _l("Samenvatting"),
        300,
        required=_l("Schrijf in een paar zinnen wat je wilt doen."),
        description=_l("Wat wil je doen, en waarom? Hoogstens 300 tekens."),
        area=True,
    )
    description = text_field(
        _l("Uitleg"),
        20000,
        description=_l(
            "Vertel meer: voor wie is het, wie helpt mee, wat is er al geregeld? "
            "Je kunt *schuin*, **vet**, lijstjes met - en links gebruiken."
        ),
        area=True,
    )
    category = ChoiceField(_l("Categorie"), validators=[DataRequired(_l("Kies een categorie."))])
    area = ChoiceField(_l("Buurt"), validators=[Optional()])
    location = text_field(
        _l("Plek (niet verplicht)"),
        200,
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
            Length(max=254, message=TOO_LONG),
        ],
    )


class ImageForm(BaseForm):
    photo = FileField(_l("Foto (JPEG, PNG of WebP, hoogstens 5 MB)"))
    # required (the operation checks it too): cards, the ballot and the result show the photo
    # with this text for whoever cannot see it
    alt = text_field(
        _l("Wat staat er op de foto?"),
        200,
        required=_l(
            "Schrijf in een paar woorden wat er op de foto staat. Dan weet ook iemand die de "
            "foto niet kan zien wat erop staat."
        ),
        description=_l(
            "Voor wie de foto niet kan zien. Bijvoorbeeld: een leeg grasveld naast de speeltuin."
        ),
    )

    def validate_photo(self, field: Any) -> None:
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Kies een foto."))


class WithdrawForm(BaseForm):
    reason = text_field(_l("Waarom trek je het voorstel in? (niet verplicht)"), 1000, area=True)


class DecisionForm(BaseForm):
    message = text_field(_l("Toelichting (openbaar)"), 2000, area=True)


class RejectForm(BaseForm):
    criteria = MultiCheckboxField(_l("Aan welke regels voldoet het voorstel niet?"), coerce=int)
    message = text_field(_l("Reden (openbaar)"), 2000, area=True)


class ChangesForm(BaseForm):
    message = text_field(
        _l("Wat moet er anders? (openbaar)"),
        2000,
        required=_l("Schrijf wat er anders moet."),
        area=True,
    )


class EstimateForm(BaseForm):
    amount = EuroField(
        _l("Schatting van het bestuur (euro; leeg: die van de indieners)"),
        validators=[Length(max=20, message=TOO_LONG)],
    )
    note = text_field(_l("Waarom anders? (openbaar)"), 2000, area=True)


class DuplicateForm(BaseForm):
    original = text_field(_l("Nummer van het voorstel waar dit op lijkt (leeg: geen)"), 12)
    note = text_field(_l("Toelichting (openbaar)"), 2000, area=True)

    def validate_original(self, field: StringField) -> None:
        text = (field.data or "").strip().lstrip("#")
        if text and database_id(text) is None:
            raise ValidationError(_l("Vul het nummer van het voorstel in, bijvoorbeeld 12."))


class ListFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = text_field(_l("Zoeken"), 100)
    category = ChoiceField(_l("Categorie"), validators=[Optional()])
    area = ChoiceField(_l("Buurt"), validators=[Optional()])
    state = ChoiceField(_l("Status"), validators=[Optional()])
    sort = ChoiceField(_l("Volgorde"), validators=[Optional()])
