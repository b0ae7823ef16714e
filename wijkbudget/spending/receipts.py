"""Receipts and invoices with an expense: PDF, JPEG or PNG, at most 10 MB, checked by their
content (never their name). A photo is re-encoded like a proposal photo (nothing of the original
file survives); a PDF must open as a PDF with at least one page. Stored under a generated name."""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import gettext as _

from ..proposals import images
from .models import SpendingError

MAX_BYTES = 10 * 1024 * 1024
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{22}\.(pdf|jpg|png)$")


@dataclass(frozen=True)
class Receipt:
    data: bytes
    content_type: str
    extension: str


def _not_a_receipt() -> SpendingError:
    return SpendingError(_("Dit bestand is geen bon of factuur in PDF-, JPEG- of PNG-formaat."))


def rewound(upload: Any) -> Any:
    """The uploaded file from its first byte: a use case that runs again (after a deadlock)
    reads it again."""
    reader = getattr(upload, "stream", upload)
    if getattr(reader, "seekable", lambda: False)():
        reader.seek(0)
    return upload


def check_upload(stream: Any) -> Receipt:
    reader = getattr(rewound(stream), "stream", stream)
    data = reader.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise SpendingError(_("Het bestand is groter dan 10 MB. Maak het kleiner."))
    if not data:
        raise SpendingError(_("Het bestand is leeg."))
    if data.startswith(b"%PDF-"):
        from pypdf import PdfReader  # loaded for a receipt, not at start-up
        from pypdf.errors import PdfReadError

        try:
            pdf = PdfReader(io.BytesIO(data), strict=False)
            if len(pdf.pages) < 1:
                raise _not_a_receipt()
        except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
            raise _not_a_receipt() from error
        return Receipt(data, "application/pdf", ".pdf")
    try:
        photo = images.process_upload(io.BytesIO(data), max_bytes=MAX_BYTES)
    except images.ImageError as error:
        raise _not_a_receipt() from error
    if photo.extension not in (".jpg", ".png"):
        raise _not_a_receipt()
    return Receipt(photo.data, photo.content_type, photo.extension)


def receipt_dir(app: Flask) -> Path:
    return images.upload_dir(app) / "receipts"


def store(receipt: Receipt, directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    name = secrets.token_urlsafe(16) + receipt.extension
    (directory / name).write_bytes(receipt.data)
    return name


def path_of(directory: Path, name: str) -> Path:
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"not a stored receipt name: {name!r}")
    return directory / name


def delete(directory: Path, name: str) -> None:
    path_of(directory, name).unlink(missing_ok=True)
