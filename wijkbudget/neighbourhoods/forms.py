from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..forms import BaseForm


class NeighbourhoodForm(BaseForm):
    name = StringField(
        _l("Naam van de wijk"),
        validators=[
            DataRequired(_l("Vul een naam in.")),
            Length(max=120, message=_l("Hoogstens %(max)d tekens.")),
        ],
    )
    postcodes = StringField(
        _l("Postcodegebieden"),
        validators=[
            DataRequired(_l("Vul minstens één postcodegebied in.")),
            Length(max=2000, message=_l("Hoogstens %(max)d tekens.")),
        ],
        description=_l(
            "De vier cijfers van de postcodes in deze wijk. Bijvoorbeeld: 3531-3533, 3541"
        ),
    )
    cbs_code = StringField(
        _l("CBS-wijkcode (niet verplicht)"),
        validators=[Optional(), Length(max=20, message=_l("Hoogstens %(max)d tekens."))],
        description=_l("Bijvoorbeeld WK034401."),
    )


class AreaForm(BaseForm):
    name = StringField(
        _l("Naam van de buurt"),
        validators=[
            DataRequired(_l("Vul een naam in.")),
            Length(max=120, message=_l("Hoogstens %(max)d tekens.")),
        ],
    )
    cbs_code = StringField(
        _l("CBS-buurtcode (niet verplicht)"),
        validators=[Optional(), Length(max=20, message=_l("Hoogstens %(max)d tekens."))],
    )


class DescriptionForm(BaseForm):
    description = TextAreaField(
        _l("Over de wijk"),
        validators=[Length(max=5000, message=_l("Hoogstens %(max)d tekens."))],
        description=_l("Een korte uitleg voor bewoners, in gewone woorden."),
    )
