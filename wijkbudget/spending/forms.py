"""Forms of the verantwoording: an expense with its receipt, the board's decisions, extra money,
closing a project, the treasurer, and progress updates."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, MultipleFileField
from wtforms import DateField, EmailField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..accounts.models import User
from ..accounts.operations import find_user_by_email
from ..forms import (
    TOO_LONG,
    BaseForm,
    ChoiceField,
    EuroField,
    WithinYears,
    number_field,
    text_field,
)
from .models import PayeeType, ProjectStatus

#: what a reason left empty is told
NO_REASON = _l("Geef een reden op.")


def payee_choices() -> list[tuple[str, str]]:
    return [
        (PayeeType.COMPANY.value, _("Bedrijf")),
        (PayeeType.ASSOCIATION.value, _("Vereniging of stichting")),
        (PayeeType.PRIVATE.value, _("Particulier (een persoon)")),
    ]


def _more_than_zero(form: BaseForm, field: EuroField) -> None:
    if field.cents is not None and field.cents <= 0:
        raise ValidationError(_l("Het bedrag moet groter zijn dan nul."))


class ExpenseForm(BaseForm):
    spent_on = DateField(
        _l("Datum van betalen"),
        validators=[
            DataRequired(message=_l("Vul de datum in, bijvoorbeeld 2026-05-14.")),
            WithinYears(),
        ],
    )
    amount = EuroField(_l("Bedrag (euro, met btw)"), validators=[DataRequired(), _more_than_zero])
    vat = EuroField(_l("Waarvan btw (euro, mag leeg)"), validators=[Optional()])
    payee = text_field(_l("Betaald aan"), 120, required=_l("Vul in aan wie er is betaald."))
    payee_type = ChoiceField(_l("Soort ontvanger"))
    description = text_field(
        _l("Waarvoor"), 300, required=_l("Schrijf kort waarvoor het geld was.")
    )
    cost_line = ChoiceField(_l("Kostenpost uit het voorstel"), validators=[Optional()])
    receipt = FileField(_l("Bon of factuur (PDF, JPEG of PNG, hoogstens 10 MB)"))


class RejectForm(BaseForm):
    reason = text_field(_l("Waarom niet?"), 1000, required=NO_REASON, area=True)


class ReallocateForm(BaseForm):
    amount = EuroField(_l("Extra bedrag (euro)"), validators=[DataRequired(), _more_than_zero])
    reason = text_field(_l("Reden"), 1000, required=NO_REASON, area=True)


class CloseProjectForm(BaseForm):
    status = ChoiceField(_l("Hoe is het project afgelopen?"))
    note = text_field(_l("Toelichting voor de wijk"), 1000, required=NO_REASON, area=True)

    def set_choices(self) -> None:
        self.status.choices = [
            (ProjectStatus.DONE.value, _("Afgerond")),
            (ProjectStatus.STOPPED.value, _("Gestopt")),
        ]


class TreasurerForm(BaseForm):
    email = EmailField(
        _l("E-mailadres van de penvoerder (leeg: geen penvoerder)"),
        validators=[Optional(), Length(max=254, message=_l("Dit e-mailadres is te lang."))],
    )
    person: User | None = None  # the account of that address, found while validating

    def validate_email(self, field: EmailField) -> None:
        if not field.data:
            return
        self.person = find_user_by_email(field.data)
        if self.person is None:
            raise ValidationError(_l("Er is geen account met dit e-mailadres."))


class UpdateForm(BaseForm):
    body = text_field(
        _l("Wat is er gebeurd?"), 5000, required=_l("Schrijf wat er is gebeurd."), area=True
    )
    percent = number_field(
        _l("Hoeveel is er klaar (procent)?"), 0, 100, _l("Een getal van 0 tot en met 100.")
    )
    photos = MultipleFileField(_l("Foto's (hoogstens 3; JPEG, PNG of WebP)"))
    alt = StringField(
        _l("Wat staat er op de foto's?"),
        validators=[Optional(), Length(max=200, message=TOO_LONG)],
        description=_l("Voor wie de foto's niet kan zien."),
    )


class PlanForm(BaseForm):
    planned_start = DateField(_l("Start (gepland)"), validators=[Optional(), WithinYears()])
    planned_end = DateField(_l("Klaar (gepland)"), validators=[Optional(), WithinYears()])


class IncomeForm(BaseForm):
    """Money that came in: counted once a second board member confirms it."""

    amount = EuroField(_l("Bedrag (euro)"), validators=[DataRequired(), _more_than_zero])
    source = text_field(
        _l("Van wie komt het geld?"),
        160,
        required=_l("Vul in van wie het geld komt."),
        description=_l("De organisatie, bijvoorbeeld de gemeente of een sponsor."),
    )
    received_on = DateField(
        _l("Datum van ontvangst"),
        validators=[
            DataRequired(message=_l("Vul de datum in, bijvoorbeeld 2026-05-14.")),
            WithinYears(),
        ],
    )
    purpose = text_field(
        _l("Waarvoor is het geld?"), 300, required=_l("Schrijf kort waarvoor het geld is.")
    )
