"""Receipts and invoices with an expense: PDF, JPEG or PNG, at most 10 MB, checked by their
content (never their name). A photo is re-encoded like a proposal photo (nothing of the original
file survives, and the same pixel limits hold before anything is decoded); a PDF must open as a
PDF without a password, with 1 to ``MAX_PDF_PAGES`` pages. Stored under a generated name
(``images.store``, as photos are).

A PDF is read with pypdf under tight limits (the page tree may hold at most a few hundred
entries, a few levels deep), and any error pypdf raises on a broken or hostile file (truncated,
garbage after ``%PDF-``, cyclic or nested objects, a bomb) refuses the file with a 422: it is
never a 500. The pages are counted, never drawn or decompressed."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import gettext as _

from .. import images
from .models import SpendingError

MAX_BYTES = 10 * 1024 * 1024
MAX_PDF_PAGES = 100

log = logging.getLogger(__name__)
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
        check_pdf(data)
        return Receipt(data, "application/pdf", ".pdf")
    try:
        photo = images.process_upload(io.BytesIO(data), max_bytes=MAX_BYTES)
    except images.TooManyPixels as error:
        raise SpendingError(error.message) from error
    except images.ImageError as error:
        raise _not_a_receipt() from error
    if photo.extension not in (".jpg", ".png"):
        raise _not_a_receipt()
    return Receipt(photo.data, photo.content_type, photo.extension)


def check_pdf(data: bytes) -> None:
    """A PDF that opens without a password and has 1 to MAX_PDF_PAGES pages; anything else is
    a SpendingError (422)."""
    from pypdf import PdfReader, apply_configuration  # loaded for a receipt, not at start-up
    from pypdf.errors import LimitReachedError  # (as above: pypdf only for a receipt)

    too_many = SpendingError(
        _(
            "Deze PDF heeft te veel pagina's (meer dan %(max)s). Stuur alleen de bon of factuur.",
            max=MAX_PDF_PAGES,
        )
    )
    locked = SpendingError(
        _("Deze PDF is beveiligd met een wachtwoord. Stuur een PDF zonder wachtwoord.")
    )
    encrypted = False
    try:
        with apply_configuration(
            page_tree_maximum_entries=4 * MAX_PDF_PAGES,
            page_tree_maximum_depth=16,
            page_tree_maximum_page_entries=100 * MAX_PDF_PAGES,
        ):
            pdf = PdfReader(io.BytesIO(data), strict=False)
            encrypted = pdf.is_encrypted
            if encrypted and not pdf.decrypt(""):  # opens without asking: an owner password
                raise locked
            pages = len(pdf.pages)
    except SpendingError:
        raise
    except LimitReachedError as error:
        raise too_many if "page tree entry" in str(error) else _not_a_receipt() from error
    except Exception as error:  # hostile input: pypdf may raise anything (even RecursionError)
        log.info("receipt PDF refused: %s: %s", type(error).__name__, error)
        raise (locked if encrypted else _not_a_receipt()) from error
    if pages < 1:
        raise _not_a_receipt()
    if pages > MAX_PDF_PAGES:
        raise too_many


def receipt_dir(app: Flask) -> Path:
    return images.upload_dir(app) / "receipts"


def path_of(directory: Path, name: str) -> Path:
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"not a stored receipt name: {name!r}")
    return directory / name


def delete(directory: Path, name: str) -> None:
    path_of(directory, name).unlink(missing_ok=True)
