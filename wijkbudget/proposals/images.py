"""Photos with a proposal: checked by their content (never the name), limited in bytes and
pixels, re-encoded with Pillow so that nothing of the original file (EXIF, GPS, comments,
trailing data) survives, and stored under a generated name."""

from __future__ import annotations

import io
import re
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from flask import Flask
from flask_babel import format_decimal
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DomainError

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 2000
FORMATS = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{22}\.(jpg|png|webp)$")


class ImageError(DomainError):
    pass


@dataclass(frozen=True)
class ProcessedImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _read(stream: BinaryIO | Any, max_bytes: int) -> bytes:
    reader = getattr(stream, "stream", stream)
    data = reader.read(max_bytes + 1)
    if len(data) > max_bytes:
        size = format_decimal(round(max_bytes / (1024 * 1024), 1))
        raise ImageError(
            _(
                "De foto is groter dan %(size)s MB. Maak hem kleiner en probeer het opnieuw.",
                size=size,
            )
        )
    if not data:
        raise ImageError(_("Het bestand is leeg."))
    return data


def process_upload(stream: BinaryIO | Any, *, max_bytes: int = MAX_BYTES) -> ProcessedImage:
    data = _read(stream, max_bytes)
    not_a_photo = _("Dit bestand is geen foto in JPEG-, PNG- of WebP-formaat.")
    too_big = _("Deze foto heeft te veel pixels. Maak hem kleiner en probeer het opnieuw.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
            if image.width * image.height > MAX_PIXELS:
                raise ImageError(too_big)
            kind = image.format or ""
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageError(too_big) from error
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise ImageError(not_a_photo) from error
    if kind not in FORMATS:
        raise ImageError(not_a_photo)
    image = ImageOps.exif_transpose(image) or image
    if kind == "JPEG":
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() or image.mode == "P" else "RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    # a fresh image holds only pixels: no EXIF, GPS, ICC, text chunks or trailing bytes
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    out = io.BytesIO()
    if kind == "JPEG":
        clean.save(out, "JPEG", quality=85, optimize=True)
    elif kind == "PNG":
        clean.save(out, "PNG", optimize=True)
    else:
        clean.save(out, "WEBP", quality=85)
    content_type, extension = FORMATS[kind]
    return ProcessedImage(out.getvalue(), content_type, extension, clean.width, clean.height)


def upload_dir(app: Flask) -> Path:
    return Path(app.config.get("UPLOAD_DIR") or Path(app.instance_path) / "uploads")


def store(processed: ProcessedImage, directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    name = secrets.token_urlsafe(16) + processed.extension
    (directory / name).write_bytes(processed.data)
    return name


def delete(directory: Path, name: str) -> None:
    if not NAME_RE.fullmatch(name):  # fullmatch: "$" alone would let a trailing newline in
        raise ValueError(f"not a stored image name: {name!r}")
    (directory / name).unlink(missing_ok=True)


def send_stored(
    path: Path,
    mimetype: str,
    *,
    private: bool = False,
    download_name: str | None = None,
) -> Any:
    """Serve an uploaded file: 404 when it is gone; never sniffed or run as a page; a private
    one (a receipt of a payment to a person) is not kept in any cache."""
    from flask import abort, after_this_request, send_file

    if not path.is_file():
        abort(404)

    @after_this_request
    def headers(response: Any) -> Any:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'"
        if private:
            response.headers["Cache-Control"] = "private, no-store"
        return response

    return send_file(
        path,
        mimetype=mimetype,
        as_attachment=mimetype == "application/pdf",
        download_name=download_name,
        max_age=0 if private else 3600,
    )
