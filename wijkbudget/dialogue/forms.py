"""Forms of the wijkdialoog."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateTimeLocalField, HiddenField, IntegerField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..forms import TOO_LONG, BaseForm, MultiCheckboxField, WithinYears, text_field


class CommentForm(BaseForm):
    body = text_field(
        _l("Je reactie"),
        5000,
        required=_l("Schrijf eerst je reactie."),
        description=_l("Je kunt *schuin*, **vet**, lijstjes, > citaten en links gebruiken."),
        area=True,
    )
    parent_id = HiddenField(validators=[Length(max=20, message=TOO_LONG)])
    as_board = BooleanField(_l("Als reactie van het bestuur"))


class EditForm(BaseForm):
    body = text_field(_l("Je reactie"), 5000, required=_l("Schrijf eerst je reactie."), area=True)


class ReportForm(BaseForm):
    reason = text_field(
        _l("Waarom meld je deze reactie?"),
        300,
        required=_l("Schrijf waarom je deze reactie meldt."),
        description=_l("Het bestuur ziet je melding; de schrijver ziet niet wie meldde."),
    )


class HideForm(BaseForm):
    reason = text_field(
        _l("Reden (iedereen ziet deze)"),
        300,
        required=_l("Schrijf waarom de reactie verborgen wordt."),
        description=_l("Bijvoorbeeld: persoonlijke aanval."),
    )


class BlockForm(BaseForm):
    user_id = HiddenField(validators=[Length(max=20, message=TOO_LONG)])
    days = IntegerField(
        _l("Hoeveel dagen?"),
        default=7,
        validators=[
            DataRequired(_l("Vul een aantal dagen in.")),
            NumberRange(min=1, max=365, message=_l("Kies 1 tot 365 dagen.")),
        ],
    )
    reason = text_field(
        _l("Reden (de persoon krijgt die per mail)"), 500, required=_l("Schrijf de reden.")
    )


class TopicForm(BaseForm):
    title = text_field(
        _l("Onderwerp"),
        160,
        required=_l("Geef het onderwerp een titel."),
        description=_l("Bijvoorbeeld: Wat heeft topprioriteit in onze buurt?"),
    )
    body = text_field(_l("Toelichting (niet verplicht)"), 5000, area=True)


class MeetingForm(BaseForm):
    held_at = DateTimeLocalField(
        _l("Wanneer (Nederlandse tijd)"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        validators=[DataRequired(_l("Vul de datum en tijd in.")), WithinYears()],
    )
    place = text_field(_l("Waar"), 200, required=_l("Vul de plek in."))
    attendees = IntegerField(
        _l("Aantal aanwezigen"),
        validators=[Optional(), NumberRange(min=0, max=100000, message=_l("Vul 0 of meer in."))],
    )
    summary = text_field(_l("Wat werd er gezegd?"), 20000, area=True)
    proposals = MultiCheckboxField(_l("Over welke voorstellen ging het?"), coerce=int)


class MailSettingsForm(BaseForm):
    comment_mail = BooleanField(
        _l(
            "Stuur me een mail (hoogstens één per uur) als er nieuwe reacties zijn bij mijn "
            "voorstellen en gesprekken die ik volg"
        )
    )
