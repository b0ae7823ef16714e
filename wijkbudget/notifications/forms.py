"""Forms of notifications: the mail settings (checkboxes only; following is a button with the
form's CSRF field and a hidden ``want``, read as the dialogue's follow is). The checkboxes have
no hint text: the form macro does not show a checkbox's hint, so the page explains them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField

from ..forms import BaseForm
from .models import KIND_LABELS, Kind


class NotificationSettingsForm(BaseForm):
    voting_opens = BooleanField(KIND_LABELS[Kind.VOTING_OPENS])
    reminder = BooleanField(KIND_LABELS[Kind.REMINDER])
    result = BooleanField(KIND_LABELS[Kind.RESULT])
    own_outcome = BooleanField(KIND_LABELS[Kind.OWN_OUTCOME])
    follows = BooleanField(KIND_LABELS[Kind.FOLLOWS])
    weekly_digest = BooleanField(
        _l("Nieuws over wat ik volg: één mail per week in plaats van een mail per nieuwtje")
    )

    def wanted(self) -> dict[Kind, bool]:
        return {kind: bool(getattr(self, kind.value).data) for kind in Kind}
