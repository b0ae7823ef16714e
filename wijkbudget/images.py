"""Photos with a proposal: checked by their content (never the name), limited in bytes and
pixels, re-encoded with Pillow so that nothing of the original file (EXIF, GPS, comments,
trailing data) survives, and stored under a generated name.

Memory: the pixels are counted from the file's header before anything is decoded. A file may
say at most ``MAX_FILE_PIXELS`` (Pillow's own decompression-bomb guard is set to the same, for
every image this process opens); a JPEG is then decoded at a reduced scale where that still
gives the stored size (``draft``), and what is decoded may be at most ``MAX_DECODED_PIXELS``.
So one upload decodes at most 12.5 million pixels: ``benchmarks/uploads.py`` measures what that
costs (about 120 MB at most, for a transparent PNG), docs/security.md states it."""

from __future__ import annotations

import io
import re
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from flask import Flask, abort, after_this_request, send_file
from flask_babel import format_decimal
from flask_babel import gettext as _
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from .errors import DomainError

MAX_BYTES = 5 * 1024 * 1024
#: the most pixels a file may say it has (read from its header, before decoding): a 48 MP
#: phone photo fits
MAX_FILE_PIXELS = 64_000_000
#: the most pixels that are decoded (a JPEG after ``draft``; a PNG or WebP as it is): a
#: 12-megapixel phone photo (4032 x 3024) fits
MAX_DECODED_PIXELS = 12_500_000
MAX_PIXELS = MAX_DECODED_PIXELS  # a PNG or WebP is decoded as it is: this is its limit
MAX_SIDE = 2000
# Pillow refuses (DecompressionBombError) beyond twice this and warns beyond it; the warning is
# an error too (below), so nothing over MAX_FILE_PIXELS is decoded anywhere in this process
Image.MAX_IMAGE_PIXELS = MAX_FILE_PIXELS
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
# text chunks (zTXt, iTXt) are thrown away: do not let them take 64 MB on the way
PngImagePlugin.MAX_TEXT_MEMORY = 4 * PngImagePlugin.MAX_TEXT_CHUNK
FORMATS = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{22}\.(jpg|png|webp)$")


class ImageError(DomainError):
    pass


class TooManyPixels(ImageError):
    """The image is too large in pixels (its message fits a photo and a receipt alike)."""


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
    too_big = _(
        "Deze afbeelding heeft te veel pixels (meer dan %(mp)s miljoen). Maak hem kleiner en "
        "probeer het opnieuw.",
        mp=format_decimal(MAX_DECODED_PIXELS / 1_000_000),
    )
    try:
        # reads the header only: nothing is decoded yet
        image: Image.Image = Image.open(io.BytesIO(data), formats=list(FORMATS))
        kind = image.format or ""
        if image.width * image.height > MAX_FILE_PIXELS:
            raise TooManyPixels(too_big)
        if getattr(image, "is_animated", False):  # an animated PNG or WebP: only still photos
            raise ImageError(
                _("Een bewegende afbeelding kan niet. Kies een gewone foto (zonder beweging).")
            )
        if kind == "JPEG":  # decode at 1/2, 1/4 or 1/8 when that still gives the stored size
            scale = min(MAX_SIDE / image.width, MAX_SIDE / image.height, 1)
            image.draft(None, (max(1, int(image.width * scale)), max(1, int(image.height * scale))))
        if image.width * image.height > MAX_DECODED_PIXELS:
            raise TooManyPixels(too_big)
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise TooManyPixels(too_big) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageError(not_a_photo) from error
    if kind not in FORMATS:
        raise ImageError(not_a_photo)
    if kind == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() or image.mode == "P" else "RGB")
    # smaller first (the turn below copies the pixels); reducing_gap=1: first a box reduction
    # by a whole factor, so a 4000-pixel RGBA image is not also premultiplied at full size
    image.thumbnail((MAX_SIDE, MAX_SIDE), reducing_gap=1.0)
    image = ImageOps.exif_transpose(image) or image
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


class Storable(Protocol):
    """What :func:`store` writes: a checked upload's bytes and its extension (a processed photo,
    a receipt)."""

    @property
    def data(self) -> bytes: ...

    @property
    def extension(self) -> str: ...


def store(upload: Storable, directory: Path) -> str:
    """Write ``upload`` under a new random name in ``directory``; returns the name."""
    directory.mkdir(parents=True, exist_ok=True)
    name = secrets.token_urlsafe(16) + upload.extension
    (directory / name).write_bytes(upload.data)
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
    max_age: int = 3600,
) -> Any:
    """Serve an uploaded file: 404 when it is gone; never sniffed or run as a page; a private
    one (a receipt of a payment to a person) is not kept in any cache."""
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
        max_age=0 if private else max_age,
    )
