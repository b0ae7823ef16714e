from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from ..forms import BaseForm, ChoiceField, WithinYears, database_id, options
from .queries import ACTION_LABELS


class AuditFilterForm(BaseForm):
    """Filters in the query string (GET): no CSRF, nothing changes."""

    class Meta:
        csrf = False

    wijk = ChoiceField(_l("Wijk"), validators=[Optional()])
    actor = StringField(
        _l("Wie"),
        validators=[Optional(), Length(max=100, message=_l("Hoogstens %(max)d tekens."))],
        description=_l("Naam, e-mailadres of nummer"),
    )
    action = ChoiceField(_l("Wat"), validators=[Optional()])
    date_from = DateField(_l("Vanaf"), validators=[Optional(), WithinYears()])
    date_to = DateField(_l("Tot en met"), validators=[Optional(), WithinYears()])
    #: one round, project or proposal ("budget_round:3"); set by links, e.g. from the audit desk
    subject = StringField(
        _l("Onderwerp"),
        validators=[
            Optional(),
            Length(max=40, message=_l("Dit onderwerp bestaat niet.")),
            Regexp(
                r"^(budget_round|funded_project|proposal):[0-9]{1,12}$",
                message=_l("Dit onderwerp bestaat niet."),
            ),
        ],
    )

    def validate_subject(self, field: StringField) -> None:
        """A number no row can have (beyond the database's integer) is no subject either."""
        if not field.errors and database_id(field.data.partition(":")[2]) is None:
            raise ValidationError(str(_l("Dit onderwerp bestaat niet.")))

    def __init__(self, *args: object, wijken: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.wijk.choices = options([("", _l("Alle wijken")), *wijken])
        self.action.choices = options([("", _l("Alles")), *ACTION_LABELS.items()])
