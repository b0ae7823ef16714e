"""The font of every PDF wijkbudget prints (the letters, the paper ballot, the booklet): DejaVu
Sans where the system has it (every letter of Dutch and most of the world's names), otherwise
ReportLab's built-in Helvetica (Western European only: other letters print as a box)."""

from __future__ import annotations

from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

_DEJAVU = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
)
_fonts: tuple[str, str] | None = None


def font_names() -> tuple[str, str]:
    """(regular, bold): DejaVu Sans registered once per process when it is there."""
    global _fonts  # noqa: PLW0603 (registered once per process)
    if _fonts is None:
        _fonts = ("Helvetica", "Helvetica-Bold")
        for folder in _DEJAVU:
            regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
            if regular.is_file() and bold.is_file():
                pdfmetrics.registerFont(TTFont("WBSans", str(regular)))
                pdfmetrics.registerFont(TTFont("WBSans-Bold", str(bold)))
                _fonts = ("WBSans", "WBSans-Bold")
                break
    return _fonts
