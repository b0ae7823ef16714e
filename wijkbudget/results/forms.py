"""The one form of the results area: closing the vote, with an explicit confirmation."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField

from ..forms import BaseForm


class CloseForm(BaseForm):
    confirm = BooleanField(
        _l("Ik sluit de stemming. Daarna kan niemand meer stemmen en wordt er geteld.")
    )
