"""Account forms. Validation that needs the database (postcode in the wijk) is here too, with
plain-Dutch messages; the operations check the rules again."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, IntegerField, PasswordField, StringField
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    ValidationError,
)

from ..forms import BaseForm, ChoiceField, EmptyForm, MaxLength, options
from ..neighbourhoods.models import normalise_postcode, postcode_digits
from .models import Role
from .names import NAME_MAX, display_name_problem, normalise_display_name
from .passwords import MAX_LENGTH as PASSWORD_MAX
from .passwords import password_problem

#: "3531 AB": anything longer is refused before the postcode is looked at
POSTCODE_MAX = 7
PASSWORD_TOO_LONG = _l("Een wachtwoord heeft hoogstens %(max)d tekens.")
POSTCODE_MESSAGE = _l("Dit is geen Nederlandse postcode. Schrijf bijvoorbeeld 3531 AB.")


def _email_field() -> EmailField:
    return EmailField(
        _l("E-mailadres"),
        validators=[
            DataRequired(_l("Vul je e-mailadres in.")),
            MaxLength(max=254, message=_l("Dit e-mailadres is te lang.")),
            Email(message=_l("Dit is geen geldig e-mailadres."), check_deliverability=False),
        ],
    )


def _name_field() -> StringField:
    return StringField(
        _l("Naam die anderen zien"),
        validators=[
            DataRequired(_l("Vul een naam in.")),
            MaxLength(max=NAME_MAX, message=_l("Een naam mag hoogstens %(max)d tekens hebben.")),
            DisplayNameRules(),
        ],
        description=_l("Je voornaam is genoeg. Deze naam staat bij wat je schrijft."),
    )


class DisplayNameRules:
    """WTForms validator around the display name rules; a name that stays as it was (an
    account from before the rules) is not checked again. The field keeps the name as stored."""

    def __call__(self, form: BaseForm, field: StringField) -> None:
        name = normalise_display_name(field.data or "")
        if name == (field.object_data or ""):
            return
        problem = display_name_problem(name)
        if problem:
            raise ValidationError(problem)
        field.data = name


class PasswordRules:
    """WTForms validator around the password rules."""

    def __call__(self, form: BaseForm, field: PasswordField) -> None:
        email = form.email.data if hasattr(form, "email") else None
        name = form.display_name.data if hasattr(form, "display_name") else None
        problem = password_problem(field.data or "", email=email, name=name)
        if problem:
            raise ValidationError(problem)


def _new_password_field(label: str | None = None) -> PasswordField:
    return PasswordField(
        label or _l("Wachtwoord"),
        validators=[
            DataRequired(_l("Kies een wachtwoord.")),
            MaxLength(max=PASSWORD_MAX, message=PASSWORD_TOO_LONG),
            PasswordRules(),
        ],
        description=_l(
            "Minstens 10 tekens. Een zin van een paar woorden is makkelijk te onthouden."
        ),
    )


class RegisterForm(BaseForm):
    email = _email_field()
    password = _new_password_field()
    display_name = _name_field()
    place = ChoiceField(
        _l("Je wijk en buurt"),
        validators=[DataRequired(_l("Kies je wijk en buurt."))],
        invalid_message=_l("Kies je wijk en buurt uit de lijst."),
        description=_l("Weet je je buurt niet? Kies dan alleen je wijk."),
    )
    postcode = StringField(
        _l("Postcode"),
        validators=[
            DataRequired(_l("Vul je postcode in.")),
            MaxLength(max=POSTCODE_MAX, message=POSTCODE_MESSAGE),
        ],
        description=_l("Bijvoorbeeld 3531 AB. We kijken alleen of je in de wijk woont."),
    )
    birth_year = IntegerField(
        _l("Geboortejaar"),
        validators=[InputRequired(_l("Vul je geboortejaar in."))],
        description=_l("Sommige rondes hebben een minimumleeftijd om te stemmen."),
    )
    language = ChoiceField(
        _l("Taal"), choices=options([("nl", "Nederlands"), ("en", "English")]), default="nl"
    )

    def __init__(
        self, *args: object, places: list[tuple[str, list[tuple[str, str]]]], **kwargs: object
    ):
        super().__init__(*args, **kwargs)
        # grouped by wijk: "w<id>" is a wijk without a chosen buurt, "a<id>" a buurt
        self.place.choices = [c for wijk, pairs in places for c in options(pairs, group=wijk)]

    def validate_postcode(self, field: StringField) -> None:
        if postcode_digits(field.data or "") is None:
            raise ValidationError(
                _l("Dit is geen Nederlandse postcode. Schrijf bijvoorbeeld 3531 AB.")
            )
        field.data = normalise_postcode(field.data)

    def validate_birth_year(self, field: IntegerField) -> None:
        this_year = date.today().year
        if field.data is None or not (this_year - 120 <= field.data <= this_year):
            raise ValidationError(_l("Vul een geboortejaar in zoals 1980."))


def _current_password_field(label: object = None, required: object = None) -> PasswordField:
    """The password the person has now (to sign in, or to confirm an action)."""
    return PasswordField(
        label or _l("Je wachtwoord"),
        validators=[
            DataRequired(required or _l("Vul je wachtwoord in.")),
            MaxLength(max=PASSWORD_MAX, message=PASSWORD_TOO_LONG),
        ],
    )


class LoginForm(BaseForm):
    email = _email_field()
    password = _current_password_field(_l("Wachtwoord"))
    remember = BooleanField(
        _l("Ingelogd blijven op dit apparaat"),
        description=_l(
            "Niet voor accounts van het bestuur, raadsleden en beheerders: die loggen uit als "
            "de browser sluit."
        ),
    )


def _code_field(label: object = None) -> StringField:
    return StringField(
        label or _l("Code"),
        validators=[
            DataRequired(_l("Vul de code in.")),
            MaxLength(max=32, message=_l("Deze code is te lang.")),
        ],
        render_kw={"autocomplete": "one-time-code", "spellcheck": "false"},
    )


class SecondFactorForm(BaseForm):
    """The code from the authenticator app, or a recovery code, when signing in."""

    code = _code_field(_l("Code uit je app, of een herstelcode"))


class SecondFactorSetupForm(BaseForm):
    code = _code_field(_l("De code die je app nu laat zien"))


class AccountSecondFactorSetupForm(SecondFactorSetupForm):
    """From the account page: the password too (a session alone does not tie the account to a
    phone)."""

    password = _current_password_field()


class RenewRecoveryCodesForm(BaseForm):
    code = _code_field(_l("De code die je app nu laat zien"))


class DisableSecondFactorForm(BaseForm):
    password = _current_password_field()
    code = _code_field(_l("Code uit je app, of een herstelcode"))


class ResetRequestForm(BaseForm):
    email = _email_field()


class ResendConfirmationForm(BaseForm):
    email = _email_field()


class ResetPasswordForm(BaseForm):
    password = _new_password_field(_l("Nieuw wachtwoord"))


class ProfileForm(BaseForm):
    display_name = _name_field()
    area = ChoiceField(_l("Je buurt"), validate_choice=True)
    language = ChoiceField(_l("Taal"), choices=options([("nl", "Nederlands"), ("en", "English")]))
    work_postcode = StringField(
        _l("Postcode van je werk"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[MaxLength(max=POSTCODE_MAX, message=POSTCODE_MESSAGE)],
        description=_l(
            "Werk je in een wijk waar je niet woont? Vul de postcode van je werkplek in. Dan mag "
            "je meedoen in rondes van die wijk die ook open zijn voor mensen die er werken. "
            "Anders laat je dit leeg."
        ),
    )

    def validate_work_postcode(self, field: StringField) -> None:
        """Empty is fine (it clears the work postcode); otherwise a Dutch postcode, as when
        registering. Whether it lies in a wijk is the operation's question."""
        if not field.data:
            field.data = ""
            return
        if postcode_digits(field.data) is None:
            raise ValidationError(
                _l("Dit is geen Nederlandse postcode. Schrijf bijvoorbeeld 3531 AB.")
            )
        field.data = normalise_postcode(field.data)


class ChangePasswordForm(BaseForm):
    current = _current_password_field(_l("Huidig wachtwoord"), _l("Vul je huidige wachtwoord in."))
    password = _new_password_field(_l("Nieuw wachtwoord"))


class DeleteAccountForm(BaseForm):
    password = _current_password_field(_l("Je wachtwoord, ter bevestiging"))
    confirm = BooleanField(
        _l("Ja, verwijder mijn account. Dit kan niet ongedaan worden."),
        validators=[DataRequired(_l("Zet een vinkje als je het zeker weet."))],
    )


class GrantRoleForm(EmptyForm):
    role = ChoiceField(
        _l("Rol"),
        choices=options(
            [
                (Role.BOARD.value, _l("Bestuurslid van een wijk")),
                (Role.COUNCILLOR.value, _l("Raadslid (alleen lezen)")),
                (Role.ADMIN.value, _l("Beheerder")),
            ]
        ),
    )
    wijk = ChoiceField(
        _l("Wijk"), description=_l("Voor een raadslid: leeg laten betekent alle wijken.")
    )
