"""The base of every form: CSRF (Flask-WTF) and a guard against text nobody can have meant; the
fields the areas' forms share, and the two that most of their fields are made with
(:func:`text_field`, :func:`number_field`)."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from .money import MoneyError, parse_euros

# C0 control characters other than tab, newline and carriage return (PostgreSQL refuses NUL)
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# a value this much longer than any field allows is not echoed back into the page
ECHO_LIMIT = 10_000
#: the largest id a database column holds (PostgreSQL's ``integer``), as for ``<int:…>`` in URLs
MAX_ID = 2**31 - 1
#: what a text longer than its field allows is told
TOO_LONG = _l("Hoogstens %(max)d tekens.")


def database_id(text: Any) -> int | None:
    """An id sent in a form (a hidden field, a checkbox, a typed number): ASCII digits that fit
    a database integer; anything else (``"²"``, which ``str.isdigit`` accepts, or a number too
    big for the column, which PostgreSQL refuses with an error) is None: no such row."""
    text = str(text or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if value <= MAX_ID else None


class WithinYears:
    """A date (or date and time) between 1900 and 2999. Year 1 or 9999 is nobody's date, and
    turning it into UTC or counting a day on from it leaves Python's calendar (a 500)."""

    FIRST, LAST = 1900, 2999

    def __call__(self, form: Any, field: Any) -> None:
        if field.data is not None and not self.FIRST <= field.data.year <= self.LAST:
            first, last = self.FIRST, self.LAST
            message = _l("Vul een datum in tussen %(first)d en %(last)d.", first=first, last=last)
            raise StopValidation(str(message))


class MaxLength(Length):
    """Length(max=…) that ends the field's validation when the text is too long: no later
    validator (a pattern, an e-mail check, the form's own ``validate_<field>``) sees it."""

    def __init__(self, max: int, message: Any = None) -> None:  # noqa: A002 (WTForms' name)
        super().__init__(max=max, message=message)

    def __call__(self, form: Any, field: Any) -> None:
        try:
            super().__call__(form, field)
        except ValidationError as error:
            raise StopValidation(str(error)) from error


def options(pairs: Any, group: str | None = None) -> list[SelectChoice]:
    """(value, label) pairs as select options, optionally all in one <optgroup>."""
    return [SelectChoice(value, label, optgroup=group) for value, label in pairs]


class ChoiceField(SelectField):
    """A select whose "not one of the options" message is plain Dutch (and can be set per field)."""

    def __init__(self, *args: Any, invalid_message: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invalid_message = invalid_message or _l("Kies een van de mogelijkheden uit de lijst.")

    def pre_validate(self, form: Any) -> None:
        try:
            super().pre_validate(form)
        except ValidationError as error:
            raise ValidationError(str(self.invalid_message)) from error


class WholeNumberField(IntegerField):
    """A whole number; text that is not one gets a plain Dutch message (not WTForms' own)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        text = str(valuelist[0]).strip().replace(".", "")
        if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 12:
            self.data = None
            raise ValueError(_l("Vul een heel getal in, zonder letters of komma, bijvoorbeeld 12."))
        self.data = int(text)


class MultiCheckboxField(SelectMultipleField):
    """Several options as checkboxes, with a Dutch message for a value that is not offered."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        try:
            super().pre_validate(form)
        except ValidationError as error:
            raise ValidationError(str(_l("Kies een van de mogelijkheden uit de lijst."))) from error


def _text_fields(fields: Any) -> Any:
    """Every field with text in a form, also inside FieldList and FormField."""
    for field in fields:
        if isinstance(field, FieldList | FormField):
            yield from _text_fields(field)
        elif isinstance(field.data, str):
            yield field


class BaseForm(FlaskForm):
    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators=extra_validators)
        for field in _text_fields(self):
            data = field.data
            if CONTROL_CHARS.search(data):
                field.errors = [*field.errors, _l("Er staan onleesbare tekens in.")]
                field.data = CONTROL_CHARS.sub("", data)
                field.raw_data = [field.data]
                ok = False
            if len(data) > ECHO_LIMIT:
                field.data = ""
                field.raw_data = [""]
        return ok


class EmptyForm(BaseForm):
    """A form with only its CSRF token: for buttons that change something."""


class EuroField(StringField):
    """An amount in euros as people type it ("1.250,50"); ``cents`` holds the parsed value."""

    cents: int | None = None

    def pre_validate(self, form: Any) -> None:
        self.cents = None
        text = (self.data or "").strip()
        if not text:
            if self.flags.required:
                raise ValidationError(_l("Vul een bedrag in, bijvoorbeeld 1.250,00."))
            return
        try:
            self.cents = parse_euros(text)
        except MoneyError as error:
            raise ValidationError(error.message) from error


def text_field(
    label: Any,
    max_chars: int,
    *,
    required: Any = None,
    description: Any = "",
    area: bool = False,
) -> StringField:
    """Typed text of at most ``max_chars`` characters, on one line or (``area``) in a text area.
    ``required`` is what a person who left it empty is told; without it the field may stay
    empty."""
    validators: list[Any] = [] if required is None else [DataRequired(required)]
    validators.append(Length(max=max_chars, message=TOO_LONG))
    field_class = TextAreaField if area else StringField
    return field_class(label, validators=validators, description=description)


def number_field(
    label: Any, low: int, high: int, message: Any, *, default: Any = None
) -> WholeNumberField:
    """A whole number from ``low`` to ``high`` (``message`` for one outside), or nothing."""
    return WholeNumberField(
        label,
        default=default,
        validators=[Optional(), NumberRange(min=low, max=high, message=message)],
    )
