"""Forms of the wijkdialoog."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..forms import BaseForm, MultiCheckboxField, WithinYears

MAX = _l("Hoogstens %(max)d tekens.")


class CommentForm(BaseForm):
    body = TextAreaField(
        _l("Je reactie"),
        validators=[DataRequired(_l("Schrijf eerst je reactie.")), Length(max=5000, message=MAX)],
        description=_l("Je kunt *schuin*, **vet**, lijstjes, > citaten en links gebruiken."),
    )
    parent_id = HiddenField(validators=[Length(max=20, message=_l("Hoogstens %(max)d tekens."))])
    as_board = BooleanField(_l("Als reactie van het bestuur"))


class EditForm(BaseForm):
    body = TextAreaField(
        _l("Je reactie"),
        validators=[DataRequired(_l("Schrijf eerst je reactie.")), Length(max=5000, message=MAX)],
    )


class ReportForm(BaseForm):
    reason = StringField(
        _l("Waarom meld je deze reactie?"),
        validators=[
            DataRequired(_l("Schrijf waarom je deze reactie meldt.")),
            Length(max=300, message=MAX),
        ],
        description=_l("Het bestuur ziet je melding; de schrijver ziet niet wie meldde."),
    )


class HideForm(BaseForm):
    reason = StringField(
        _l("Reden (iedereen ziet deze)"),
        validators=[
            DataRequired(_l("Schrijf waarom de reactie verborgen wordt.")),
            Length(max=300, message=MAX),
        ],
        description=_l("Bijvoorbeeld: persoonlijke aanval."),
    )


class BlockForm(BaseForm):
    user_id = HiddenField(validators=[Length(max=20, message=_l("Hoogstens %(max)d tekens."))])
    days = IntegerField(
        _l("Hoeveel dagen?"),
        default=7,
        validators=[
            DataRequired(_l("Vul een aantal dagen in.")),
            NumberRange(min=1, max=365, message=_l("Kies 1 tot 365 dagen.")),
        ],
    )
    reason = StringField(
        _l("Reden (de persoon krijgt die per mail)"),
        validators=[DataRequired(_l("Schrijf de reden.")), Length(max=500, message=MAX)],
    )


class TopicForm(BaseForm):
    title = StringField(
        _l("Onderwerp"),
        validators=[
            DataRequired(_l("Geef het onderwerp een titel.")),
            Length(max=160, message=MAX),
        ],
        description=_l("Bijvoorbeeld: Wat heeft topprioriteit in onze buurt?"),
    )
    body = TextAreaField(
        _l("Toelichting (niet verplicht)"), validators=[Length(max=5000, message=MAX)]
    )


class MeetingForm(BaseForm):
    held_at = DateTimeLocalField(
        _l("Wanneer (Nederlandse tijd)"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        validators=[DataRequired(_l("Vul de datum en tijd in.")), WithinYears()],
    )
    place = StringField(
        _l("Waar"), validators=[DataRequired(_l("Vul de plek in.")), Length(max=200, message=MAX)]
    )
    attendees = IntegerField(
        _l("Aantal aanwezigen"),
        validators=[Optional(), NumberRange(min=0, max=100000, message=_l("Vul 0 of meer in."))],
    )
    summary = TextAreaField(_l("Wat werd er gezegd?"), validators=[Length(max=20000, message=MAX)])
    proposals = MultiCheckboxField(_l("Over welke voorstellen ging het?"), coerce=int)


class MailSettingsForm(BaseForm):
    comment_mail = BooleanField(
        _l(
            "Stuur me een mail (hoogstens één per uur) als er nieuwe reacties zijn bij mijn "
            "voorstellen en gesprekken die ik volg"
        )
    )
