"""The map's forms: the admin's upload of the outlines, and the click on the map (only a CSRF
token: the click itself comes as ``kaart.x`` and ``kaart.y``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField

from ..forms import BaseForm, text_field


class UploadForm(BaseForm):
    outlines = FileField(_l("GeoJSON-bestand met de buurten (hoogstens 5 MB)"))
    name_property = text_field(
        _l("Veld met de naam van de buurt (niet verplicht)"),
        60,
        description=_l("Leeg laten: dan zoeken we buurtnaam, BU_NAAM, naam of name."),
    )


class PlaceForm(BaseForm):
    """Only the CSRF token."""
