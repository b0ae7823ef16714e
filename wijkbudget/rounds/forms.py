"""The board's round form: rules, eligibility, ballot settings and phase dates."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateTimeLocalField, HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..forms import (
    TOO_LONG,
    BaseForm,
    ChoiceField,
    EuroField,
    MultiCheckboxField,
    WithinYears,
    number_field,
    options,
    text_field,
)
from .models import PHASE_DATE_FIELDS, Aggregation, BallotType, Eligibility, Phase

#: what a number of choices or points outside 1 to 1000 is told
ONE_OR_MORE = _l("Vul 1 of meer in.")


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _date_field(label: Any) -> DateTimeLocalField:
    return DateTimeLocalField(
        label,
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional(), WithinYears()],
    )


class RoundForm(BaseForm):
    title = text_field(
        _l("Naam van de ronde"),
        120,
        required=_l("Geef de ronde een naam."),
        description=_l("Bijvoorbeeld: Wijkbudget West 2027"),
    )
    introduction = text_field(
        _l("Uitleg voor bewoners"),
        5000,
        description=_l("Waar gaat het geld naartoe, wie mag meedoen, hoe gaat het in zijn werk?"),
        area=True,
    )
    budget = EuroField(
        _l("Budget van de ronde (euro)"), validators=[DataRequired(_l("Vul het budget in."))]
    )
    min_cost = EuroField(_l("Minimumbedrag per voorstel (euro)"), validators=[Optional()])
    max_cost = EuroField(
        _l("Maximumbedrag per voorstel (euro)"),
        validators=[DataRequired(_l("Vul het maximumbedrag per voorstel in."))],
    )
    categories = text_field(
        _l("Categorieën"),
        2000,
        description=_l("Eén per regel, bijvoorbeeld: groen, ontmoeting, jeugd, zorg, veiligheid."),
        area=True,
    )
    criteria = text_field(
        _l("Regels voor de toetsing"),
        5000,
        description=_l(
            "Eén per regel. Indieners zien ze; het bestuur noemt ze als het een voorstel afwijst."
        ),
        area=True,
    )
    areas = MultiCheckboxField(
        _l("Buurten die meedoen"),
        coerce=int,
        description=_l("Niets aangevinkt: de hele wijk doet mee."),
    )
    min_age = number_field(
        _l("Minimumleeftijd (niet verplicht)"), 0, 120, _l("Vul een leeftijd in tussen 0 en 120.")
    )
    workers_eligible = BooleanField(_l("Ook mensen die in de wijk werken mogen meedoen"))
    support_enabled = BooleanField(_l("Met een fase om voorstellen te steunen"), default=True)
    support_threshold = number_field(
        _l("Minimaal aantal steunbetuigingen (0: geen drempel)"),
        0,
        100000,
        _l("Vul 0 of meer in."),
        default=0,
    )
    ballot_type = ChoiceField(
        _l("Soort stembiljet"),
        choices=options(
            [
                (BallotType.APPROVAL.value, _l("Aanvinken: kies de voorstellen die je steunt")),
                (
                    BallotType.KNAPSACK.value,
                    _l("Binnen budget: kies voorstellen die samen in het budget passen"),
                ),
                (BallotType.CUMULATIVE.value, _l("Punten verdelen over voorstellen")),
            ]
        ),
    )
    ballot_max_choices = number_field(
        _l("Hoeveel voorstellen mag iemand hoogstens aanvinken? (leeg: geen grens)"),
        1,
        1000,
        ONE_OR_MORE,
    )
    ballot_min_choices = number_field(
        _l("Hoeveel voorstellen moet iemand minstens aanvinken? (leeg: geen minimum)"),
        1,
        1000,
        ONE_OR_MORE,
    )
    ballot_min_percent = number_field(
        _l(
            "Binnen budget: welk deel van het budget moet iemand minstens kiezen? "
            "(procent, leeg: geen)"
        ),
        1,
        100,
        _l("Vul 1 tot 100 in."),
    )
    ballot_max_points_each = number_field(
        _l(
            "Punten: hoeveel punten mag iemand hoogstens aan één voorstel geven? (leeg: geen grens)"
        ),
        1,
        1000,
        ONE_OR_MORE,
    )
    eligibility = ChoiceField(
        _l("Hoe wordt er gestemd?"),
        choices=options(
            [
                (
                    Eligibility.ACCOUNTS.value,
                    _l("Met een account: bevestigde bewoners van de wijk"),
                ),
                (
                    Eligibility.ACCOUNTS_AND_CODES.value,
                    _l(
                        "Met een account of met een stemcode (uit een brief of van de tafel op "
                        "een stemlocatie): wie allebei heeft, stemt één keer"
                    ),
                ),
                (
                    Eligibility.CODES.value,
                    _l("Met stemcodes uit een brief (ook wie een account heeft, vult de code in)"),
                ),
            ]
        ),
        default=Eligibility.ACCOUNTS_AND_CODES.value,
    )
    ballot_points = number_field(_l("Hoeveel punten mag iemand verdelen?"), 1, 1000, ONE_OR_MORE)
    aggregation = ChoiceField(
        _l("Hoe de uitslag wordt berekend"),
        choices=options(
            [
                (Aggregation.GREEDY.value, _l("Meeste stemmen eerst, tot het budget op is")),
                (
                    Aggregation.EQUAL_SHARES.value,
                    _l(
                        "Evenredig (Method of Equal Shares): "
                        "elke stemmer een gelijk deel van het budget"
                    ),
                ),
            ]
        ),
    )
    submission_opens = _date_field(_l("Indienen begint op"))
    review_opens = _date_field(_l("Toetsing begint op"))
    support_opens = _date_field(_l("Steunen begint op"))
    voting_opens = _date_field(_l("Stemmen begint op"))
    result_opens = _date_field(_l("Stemmen sluit en de uitslag komt op"))
    execution_opens = _date_field(_l("Uitvoering begint op"))
    closes_at = _date_field(_l("De ronde sluit op"))

    def category_list(self) -> list[str]:
        return _lines(self.categories.data)

    def criteria_list(self) -> list[str]:
        return _lines(self.criteria.data)

    def validate_categories(self, field: TextAreaField) -> None:
        names = _lines(field.data)
        if not names:
            raise ValidationError(_l("Geef minstens één categorie, bijvoorbeeld: groen."))
        if any(len(n) > 60 for n in names):
            raise ValidationError(_l("Een categorie heeft hoogstens 60 tekens."))

    def validate_criteria(self, field: TextAreaField) -> None:
        if any(len(n) > 300 for n in _lines(field.data)):
            raise ValidationError(_l("Een regel heeft hoogstens 300 tekens."))

    def date_values(self) -> dict[Phase, Any]:
        return {phase: getattr(self, name).data for phase, name in PHASE_DATE_FIELDS.items()}


class PhaseForm(BaseForm):
    reason = text_field(
        _l("Waarom?"),
        1000,
        required=_l("Schrijf waarom de fase nu verandert."),
        description=_l("Dit is openbaar en komt in de tijdlijn van de ronde."),
        area=True,
    )
    target = ChoiceField(_l("Terug naar fase"), validators=[Optional()])
    #: the phase the page showed: a replayed or second click does not move the round again
    current = HiddenField(validators=[Length(max=40, message=TOO_LONG)])


class ExtendVotingForm(BaseForm):
    """The board moves the end of voting to later, with a public reason."""

    ends = DateTimeLocalField(
        _l("Nieuw einde van de stemming"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[DataRequired(_l("Kies het nieuwe einde van de stemming.")), WithinYears()],
    )
    reason = text_field(
        _l("Waarom duurt de stemming langer?"),
        500,
        required=_l("Schrijf waarom de stemming langer duurt. Dit is openbaar."),
        description=_l("Dit is openbaar: het staat op de pagina van de ronde."),
        area=True,
    )
    #: the end the page showed (UTC, ISO 8601): a second extension at the same moment changes
    #: nothing (409)
    current_end = HiddenField(validators=[Length(max=40, message=TOO_LONG)])
