"""Forms of the verantwoording: an expense with its receipt, the board's decisions, extra money,
closing a project, the treasurer, and progress updates."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, MultipleFileField
from wtforms import DateField, EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..accounts.models import User
from ..accounts.operations import find_user_by_email
from ..forms import BaseForm, ChoiceField, EuroField, WholeNumberField, WithinYears
from .models import PayeeType, ProjectStatus


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
    payee = StringField(
        _l("Betaald aan"),
        validators=[
            DataRequired(message=_l("Vul in aan wie er is betaald.")),
            Length(max=120, message=_l("Hoogstens %(max)d tekens.")),
        ],
    )
    payee_type = ChoiceField(_l("Soort ontvanger"))
    description = StringField(
        _l("Waarvoor"),
        validators=[
            DataRequired(message=_l("Schrijf kort waarvoor het geld was.")),
            Length(max=300, message=_l("Hoogstens %(max)d tekens.")),
        ],
    )
    cost_line = ChoiceField(_l("Kostenpost uit het voorstel"), validators=[Optional()])
    receipt = FileField(_l("Bon of factuur (PDF, JPEG of PNG, hoogstens 10 MB)"))


class RejectForm(BaseForm):
    reason = TextAreaField(
        _l("Waarom niet?"),
        validators=[
            DataRequired(message=_l("Geef een reden op.")),
            Length(max=1000, message=_l("Hoogstens %(max)d tekens.")),
        ],
    )


class ReallocateForm(BaseForm):
    amount = EuroField(_l("Extra bedrag (euro)"), validators=[DataRequired(), _more_than_zero])
    reason = TextAreaField(
        _l("Reden"),
        validators=[
            DataRequired(message=_l("Geef een reden op.")),
            Length(max=1000, message=_l("Hoogstens %(max)d tekens.")),
        ],
    )


class CloseProjectForm(BaseForm):
    status = ChoiceField(_l("Hoe is het project afgelopen?"))
    note = TextAreaField(
        _l("Toelichting voor de wijk"),
        validators=[
            DataRequired(message=_l("Geef een reden op.")),
            Length(max=1000, message=_l("Hoogstens %(max)d tekens.")),
        ],
    )

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
    body = TextAreaField(
        _l("Wat is er gebeurd?"),
        validators=[
            DataRequired(message=_l("Schrijf wat er is gebeurd.")),
            Length(max=5000, message=_l("Hoogstens %(max)d tekens.")),
        ],
    )
    percent = WholeNumberField(
        _l("Hoeveel is er klaar (procent)?"),
        validators=[
            Optional(),
            NumberRange(min=0, max=100, message=_l("Een getal van 0 tot en met 100.")),
        ],
    )
    photos = MultipleFileField(_l("Foto's (hoogstens 3; JPEG, PNG of WebP)"))
    alt = StringField(
        _l("Wat staat er op de foto's?"),
        validators=[Optional(), Length(max=200, message=_l("Hoogstens %(max)d tekens."))],
        description=_l("Voor wie de foto's niet kan zien."),
    )


class PlanForm(BaseForm):
    planned_start = DateField(_l("Start (gepland)"), validators=[Optional(), WithinYears()])
    planned_end = DateField(_l("Klaar (gepland)"), validators=[Optional(), WithinYears()])
