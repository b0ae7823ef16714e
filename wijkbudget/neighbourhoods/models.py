"""Wijken (neighbourhoods), their buurten (areas) and the postcode areas they cover."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model, UTCDateTime, utcnow

#: longer than any way of writing a postcode ("3512 AB" with spaces around): no postcode at all.
#: Checked before anything else looks at the text, so a huge value costs nothing.
POSTCODE_MAX = 16


def _postcode_parts(postcode: str) -> tuple[str, str] | None:
    """ "3512ab", " 3512 AB ", "3512" → ("3512", "AB"/""), without a regular expression: one
    pass over at most POSTCODE_MAX characters (a pattern with spaces on both sides of optional
    letters backtracked quadratically: 40,000 spaces kept a worker busy for seconds)."""
    if not postcode or len(postcode) > POSTCODE_MAX:
        return None
    text = postcode.strip()
    digits, letters = text[:4], text[4:].lstrip()
    if not (len(digits) == 4 and digits.isascii() and digits.isdigit() and digits[0] != "0"):
        return None
    if letters and not (len(letters) == 2 and letters.isascii() and letters.isalpha()):
        return None
    return digits, letters.upper()


def postcode_digits(postcode: str) -> int | None:
    """The 4-digit area of a Dutch postcode ("3512 AB" → 3512), or None if it is no postcode."""
    parts = _postcode_parts(postcode)
    # SA, SD and SS are never issued in Dutch postcodes
    if parts is None or parts[1] in {"SA", "SD", "SS"}:
        return None
    return int(parts[0])


def normalise_postcode(postcode: str) -> str:
    """ "3512ab" → "3512 AB"; a 4-digit area stays 4 digits."""
    parts = _postcode_parts(postcode)
    if parts is None:
        return (postcode or "")[:POSTCODE_MAX].strip()
    return f"{parts[0]} {parts[1]}".strip()


class Neighbourhood(Model):
    """A wijk: the unit that runs budget rounds. Every later object belongs to one wijk."""

    __tablename__ = "neighbourhood"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    cbs_code: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    areas: Mapped[list[Area]] = relationship(
        back_populates="neighbourhood", order_by="Area.name", cascade="all, delete-orphan"
    )
    postcode_ranges: Mapped[list[PostcodeRange]] = relationship(
        back_populates="neighbourhood",
        order_by="PostcodeRange.first",
        cascade="all, delete-orphan",
    )

    def covers(self, postcode: str) -> bool:
        digits = postcode_digits(postcode)
        if digits is None:
            return False
        return any(r.first <= digits <= r.last for r in self.postcode_ranges)

    @property
    def postcodes_text(self) -> str:
        """The covered postcode areas as a board member writes them: "3531-3533, 3541"."""
        return ", ".join(r.label for r in self.postcode_ranges)

    def __repr__(self) -> str:
        return f"<Neighbourhood {self.slug}>"


class Area(Model):
    """A buurt inside a wijk."""

    __tablename__ = "area"
    __table_args__ = (UniqueConstraint("neighbourhood_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(80))
    cbs_code: Mapped[str | None] = mapped_column(String(20))

    neighbourhood: Mapped[Neighbourhood] = relationship(back_populates="areas")

    def __repr__(self) -> str:
        return f"<Area {self.slug}>"


class PostcodeRange(Model):
    """A run of 4-digit postcode areas (first..last, inclusive) that a wijk covers."""

    __tablename__ = "postcode_range"
    __table_args__ = (
        CheckConstraint("first >= 1000 AND last <= 9999 AND first <= last", name="valid_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="CASCADE"), index=True
    )
    first: Mapped[int]
    last: Mapped[int]

    neighbourhood: Mapped[Neighbourhood] = relationship(back_populates="postcode_ranges")

    @property
    def label(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"
