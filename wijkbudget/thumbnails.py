"""Thumbnails of proposal photos: 240 and 480 pixels wide, for ``srcset`` on the proposal cards,
the ballot and the result.

A thumbnail is made from the stored photo (already checked and re-encoded by ``images``, at most
``images.MAX_SIDE`` pixels a side), opened under the same decompression-bomb guard, scaled down
(never up: a photo narrower than 480 pixels gets a thumbnail as wide as itself) and re-encoded
into a fresh image, so it holds pixels only (no EXIF, no text chunks), in the photo's own format
(a PNG keeps its transparency).

Files: next to the photo, ``<photo's name without extension>-<width><extension>`` (no folder of
their own: a refused upload leaves the upload folder as it was), written to a temporary name
first and then renamed, so a half-written thumbnail is never served. Which
widths exist is recorded on the photo (``ProposalImage.thumb_widths``): the pages offer only
those, so a page never points at a thumbnail that is not there. Made when a photo is uploaded
(outside the transaction, like the photo itself) and, for photos stored before, by
``flask proposals thumbnails``.
"""

from __future__ import annotations

import io
import os
import re
import secrets
from pathlib import Path
from typing import Any

from PIL import Image

from . import images

WIDTHS = (240, 480)
#: how long a browser or proxy may keep a photo or thumbnail (a photo's file never changes:
#: a new photo gets a new id; a removed one is gone after at most this long)
MAX_AGE = 24 * 3600
_STORED_NAME = re.compile(r"^([A-Za-z0-9_-]{22})(\.(?:jpg|png|webp))$")
_SAVE: dict[str, tuple[str, dict[str, Any]]] = {
    ".jpg": ("JPEG", {"quality": 82, "optimize": True, "progressive": True}),
    ".png": ("PNG", {"optimize": True}),
    ".webp": ("WEBP", {"quality": 80}),
}


def thumb_name(name: str, width: int) -> str:
    """The thumbnail's file name for the stored photo ``name`` (refuses any other name)."""
    found = _STORED_NAME.fullmatch(name)
    if found is None:
        raise ValueError(f"not a stored image name: {name!r}")
    return f"{found.group(1)}-{int(width)}{found.group(2)}"


def widths_for(width: int) -> list[int]:
    """The thumbnail widths for a photo ``width`` pixels wide: never wider than the photo."""
    return sorted({min(w, width) for w in WIDTHS})


def make(data: bytes, extension: str) -> dict[int, bytes]:
    """The thumbnails of a stored photo's bytes, by width. Raises ``images.ImageError`` when the
    bytes are not a photo this site stores."""
    if extension not in _SAVE:
        raise images.ImageError("not a stored photo")
    try:
        source: Image.Image = Image.open(io.BytesIO(data), formats=list(images.FORMATS))
        if source.width * source.height > images.MAX_DECODED_PIXELS:
            raise images.TooManyPixels("too many pixels")
        source.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise images.TooManyPixels("too many pixels") from error
    except (OSError, SyntaxError, ValueError) as error:
        raise images.ImageError("not a photo") from error
    if source.mode not in ("RGB", "RGBA"):
        source = source.convert("RGBA" if "A" in source.getbands() else "RGB")
    kind, options = _SAVE[extension]
    if kind == "JPEG" and source.mode != "RGB":
        source = source.convert("RGB")
    made: dict[int, bytes] = {}
    for width in widths_for(source.width):
        height = max(1, round(source.height * width / source.width))
        scaled = source.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=2.0)
        clean = Image.new(scaled.mode, scaled.size)  # pixels only: no metadata comes along
        clean.paste(scaled)
        out = io.BytesIO()
        clean.save(out, kind, **options)
        made[width] = out.getvalue()
    return made


def write(directory: Path, name: str, made: dict[int, bytes]) -> str:
    """Write the thumbnails of the photo ``name``; returns what ``thumb_widths`` records."""
    directory.mkdir(parents=True, exist_ok=True)
    for width, data in made.items():
        target = directory / thumb_name(name, width)
        temporary = directory / f".{secrets.token_hex(8)}.tmp"
        temporary.write_bytes(data)
        os.replace(temporary, target)  # atomic: a reader sees the old file or the whole new one
    return ",".join(str(w) for w in sorted(made))


def make_and_write(directory: Path, name: str) -> str:
    """Thumbnails for the stored photo ``name`` in ``directory``, read from its file."""
    extension = name[name.rfind(".") :]
    return write(directory, name, make((directory / name).read_bytes(), extension))


def delete(directory: Path, name: str) -> None:
    """Remove the thumbnails of the photo ``name`` (those that are there)."""
    found = _STORED_NAME.fullmatch(name)
    if found is None:
        raise ValueError(f"not a stored image name: {name!r}")
    # the stem is 22 letters, digits, "-" or "_": nothing in it is a glob pattern
    for path in directory.glob(f"{found.group(1)}-[0-9]*{found.group(2)}"):
        path.unlink(missing_ok=True)
