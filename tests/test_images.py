"""Photo uploads: checked by content, limited, re-encoded without metadata, stored safely."""

from __future__ import annotations

import io
import re
import resource
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageFile, PngImagePlugin
from werkzeug.datastructures import FileStorage

from wijkbudget.errors import DomainError
from wijkbudget.images import (
    MAX_BYTES,
    MAX_PIXELS,
    MAX_SIDE,
    NAME_RE,
    ImageError,
    ProcessedImage,
    delete,
    process_upload,
    store,
    upload_dir,
)

GPS_IFD = 0x8825
ORIENTATION = 0x0112
NOT_A_PHOTO = "Dit bestand is geen foto in JPEG-, PNG- of WebP-formaat."
TOO_MANY_PIXELS = "te veel pixels"


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def upload(
    data: bytes, filename: str = "foto.jpg", content_type: str = "image/jpeg"
) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=filename, content_type=content_type)


def exif_with_gps(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Telefoonmaker"  # Make
    exif[0x0131] = "Geheime software 1.0"  # Software
    exif[GPS_IFD] = {1: "N", 2: (52.0, 22.0, 30.0), 3: "E", 4: (4.0, 53.0, 0.0)}
    if orientation is not None:
        exif[ORIENTATION] = orientation
    return exif


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height, with a tiny IDAT: Pillow reads only the
    header on open, so the claimed size never gets allocated unless someone decodes it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + png_chunk(b"IEND", b"")
    )


def reopen(processed: ProcessedImage) -> Image.Image:
    return Image.open(io.BytesIO(processed.data))


def accepted(
    original: bytes, filename: str, content_type: str, extension: str
) -> tuple[ProcessedImage, Image.Image]:
    """Upload ``original``: it is kept as ``content_type`` (stored with ``extension``) and
    re-encoded without any Exif block. Returns the processed upload and the image it opens as."""
    processed = process_upload(upload(original, filename, content_type))
    assert processed.content_type == content_type
    assert processed.extension == extension
    assert b"Exif" not in processed.data
    result = reopen(processed)
    assert len(result.getexif()) == 0
    return processed, result


# --- accepted, and cleaned ----------------------------------------------------------------------


def test_jpeg_loses_exif_and_gps(app: Any) -> None:
    original = encode(Image.new("RGB", (64, 48), "orange"), "JPEG", exif=exif_with_gps())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the test is real
    assert b"Exif" in original

    processed, result = accepted(original, "foto.jpg", "image/jpeg", ".jpg")

    assert (processed.width, processed.height) == (64, 48)
    assert b"Telefoonmaker" not in processed.data
    assert result.format == "JPEG"
    assert result.mode == "RGB"
    assert not result.getexif().get_ifd(GPS_IFD)
    assert "exif" not in result.info
    assert "icc_profile" not in result.info


def test_jpeg_is_turned_upright_by_its_orientation_tag(app: Any) -> None:
    # orientation 6: the camera was held sideways; the pixels must be rotated, the tag dropped
    original = encode(Image.new("RGB", (80, 40), "blue"), "JPEG", exif=exif_with_gps(6))
    processed = process_upload(upload(original))
    assert (processed.width, processed.height) == (40, 80)
    assert ORIENTATION not in reopen(processed).getexif()


def test_trailing_data_after_the_image_is_dropped(app: Any) -> None:
    original = encode(Image.new("RGB", (16, 16), "green"), "JPEG")
    processed = process_upload(upload(original + b"<script>alert(1)</script>PK\x03\x04"))
    assert b"<script>" not in processed.data
    assert b"PK\x03\x04" not in processed.data


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_jpeg_modes_become_rgb(app: Any, mode: str) -> None:
    processed = process_upload(upload(encode(Image.new(mode, (20, 10)), "JPEG")))
    assert reopen(processed).mode == "RGB"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("RGBA", "RGBA"), ("RGB", "RGB"), ("L", "RGB"), ("LA", "RGBA"), ("P", "RGBA"), ("1", "RGB")],
)
def test_png_is_accepted_and_keeps_transparency(app: Any, mode: str, expected: str) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "geheim adres: Dorpsstraat 1")
    original = encode(Image.new(mode, (30, 20)), "PNG", pnginfo=info, exif=exif_with_gps())
    assert b"Dorpsstraat" in original

    processed, result = accepted(original, "plaatje.png", "image/png", ".png")

    assert b"Dorpsstraat" not in processed.data
    assert b"eXIf" not in processed.data
    assert result.format == "PNG"
    assert result.mode == expected
    assert "Comment" not in result.info


def test_png_alpha_values_survive(app: Any) -> None:
    original = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    original.putpixel((1, 1), (0, 255, 0, 128))
    result = reopen(process_upload(upload(encode(original, "PNG"))))
    assert result.getpixel((0, 0))[3] == 0
    assert result.getpixel((1, 1)) == (0, 255, 0, 128)


@pytest.mark.parametrize(("mode", "expected"), [("RGB", "RGB"), ("RGBA", "RGBA")])
def test_webp_is_accepted(app: Any, mode: str, expected: str) -> None:
    original = encode(Image.new(mode, (30, 20), (128, 0, 128, 100)), "WEBP", exif=exif_with_gps())
    assert b"EXIF" in original or b"Exif" in original

    processed, result = accepted(original, "foto.webp", "image/webp", ".webp")

    assert b"EXIF" not in processed.data
    assert result.format == "WEBP"
    assert result.mode == expected


def test_type_comes_from_the_content_not_the_name(app: Any) -> None:
    png = encode(Image.new("RGB", (10, 10)), "PNG")
    processed = process_upload(upload(png, "vakantie.jpg", "image/jpeg"))
    assert processed.content_type == "image/png"
    assert processed.extension == ".png"


def test_plain_binary_stream_works_too(app: Any) -> None:
    processed = process_upload(io.BytesIO(encode(Image.new("RGB", (10, 10)), "JPEG")))
    assert processed.extension == ".jpg"


def test_large_photo_is_downscaled(app: Any) -> None:
    original = encode(Image.new("RGB", (4000, 3000), "yellow"), "JPEG", quality=50)
    processed = process_upload(upload(original))
    assert max(processed.width, processed.height) <= MAX_SIDE
    assert (processed.width, processed.height) == (2000, 1500)
    assert reopen(processed).size == (2000, 1500)


def test_tall_photo_is_downscaled_on_its_longest_side(app: Any) -> None:
    original = encode(Image.new("RGB", (1000, 5000), "yellow"), "PNG")
    processed = process_upload(upload(original, "lang.png"))
    assert (processed.width, processed.height) == (400, 2000)


# --- refused ---------------------------------------------------------------------------------


def refused(data: bytes, filename: str = "foto.jpg", **kwargs: Any) -> ImageError:
    with pytest.raises(ImageError) as caught:
        process_upload(upload(data, filename), **kwargs)
    assert isinstance(caught.value, DomainError)
    return caught.value


def test_shell_script_renamed_to_jpg_is_refused(app: Any) -> None:
    error = refused(b"#!/bin/sh\nrm -rf ~\n", "foto.jpg")
    assert error.message == NOT_A_PHOTO


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(encode(Image.new("RGB", (10, 10)), "GIF"), id="gif"),
        pytest.param(encode(Image.new("RGB", (10, 10)), "BMP"), id="bmp"),
        pytest.param(encode(Image.new("RGB", (10, 10)), "TIFF"), id="tiff"),
        pytest.param(
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>', id="svg"
        ),
        pytest.param(b"<html><script>alert(1)</script></html>", id="html"),
        pytest.param(b"%PDF-1.7\n", id="pdf"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"\x00" * 100, id="jpeg-magic-only"),
        pytest.param(b"\x89PNG\r\n\x1a\n", id="png-signature-only"),
    ],
)
def test_other_files_are_refused(app: Any, data: bytes) -> None:
    assert refused(data).message == NOT_A_PHOTO


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_photo_is_refused(app: Any, fmt: str) -> None:
    noise = Image.effect_noise((200, 200), 64).convert("RGB")
    data = encode(noise, fmt)
    assert refused(data[: len(data) // 2]).message == NOT_A_PHOTO


def test_empty_file_is_refused(app: Any) -> None:
    assert refused(b"").message == "Het bestand is leeg."


def test_file_over_5_mb_is_refused(app: Any) -> None:
    error = refused(b"\xff\xd8\xff" + b"\x00" * MAX_BYTES)
    assert error.message.startswith("De foto is groter dan 5 MB.")


def test_file_of_exactly_5_mb_is_not_refused_for_its_size(app: Any) -> None:
    error = refused(b"\x00" * MAX_BYTES)
    assert error.message == NOT_A_PHOTO


def test_own_byte_limit(app: Any) -> None:
    data = encode(Image.effect_noise((100, 100), 64).convert("RGB"), "PNG")
    assert "groter dan" in refused(data, max_bytes=len(data) - 1).message
    assert process_upload(upload(data), max_bytes=len(data)).extension == ".png"


def test_reads_no_more_than_the_limit(app: Any) -> None:
    class Endless(io.RawIOBase):
        given = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            size = len(buffer)
            buffer[:size] = b"\x00" * size
            self.given += size
            return size

    stream = Endless()
    with pytest.raises(ImageError):
        process_upload(stream, max_bytes=1024)
    assert stream.given <= 1025


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (30_000, 30_000),  # over Pillow's own bomb limit: DecompressionBombError
        (10_000, 9_000),  # between Pillow's warning and error limits: the warning is an error
        (3_125, 4_001),  # just over our own limit
    ],
)
def test_too_many_pixels_is_refused_without_decoding(
    app: Any, monkeypatch: pytest.MonkeyPatch, width: int, height: int
) -> None:
    assert width * height > MAX_PIXELS
    data = png_header_only(width, height)
    assert len(data) < 200
    decoded: list[object] = []
    real_load = ImageFile.ImageFile.load

    def spy_load(self: ImageFile.ImageFile) -> Any:
        decoded.append(self)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy_load)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    error = refused(data, "groot.png")

    assert TOO_MANY_PIXELS in error.message
    assert decoded == []  # refused on the header: the pixels were never decoded or allocated
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown < 100 * 1024  # 30,000 x 30,000 RGB would have been 2.7 GB


def test_just_under_the_pixel_limit_is_not_refused_for_pixels(app: Any) -> None:
    # 3125 x 4000 = MAX_PIXELS: allowed by size; this header-only PNG then fails to decode
    assert refused(png_header_only(3_125, 4_000), "groot.png").message == NOT_A_PHOTO


def test_pillow_bomb_check_becomes_image_error_even_below_our_limit(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)
    data = encode(Image.new("RGB", (40, 40)), "PNG")  # 1,600 > 1,000: Pillow warns
    assert TOO_MANY_PIXELS in refused(data, "klein.png").message


# --- storing ---------------------------------------------------------------------------------


def test_store_writes_under_a_generated_name(app: Any, tmp_path: Path) -> None:
    directory = tmp_path / "nieuw" / "uploads"
    names = set()
    for fmt, ext in (("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp")):
        processed = process_upload(
            upload(encode(Image.new("RGB", (10, 10)), fmt), "../../etc/passwd")
        )
        name = store(processed, directory)
        assert NAME_RE.fullmatch(name)
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}\.(jpg|png|webp)", name)
        assert name.endswith(ext)
        assert "passwd" not in name
        assert (directory / name).read_bytes() == processed.data
        names.add(name)
    assert len(names) == 3
    assert sorted(p.name for p in directory.iterdir()) == sorted(names)
    assert {p for p in tmp_path.rglob("*") if p.is_file()} == {directory / n for n in names}


def test_delete_removes_the_file(app: Any, tmp_path: Path) -> None:
    processed = process_upload(upload(encode(Image.new("RGB", (10, 10)), "JPEG")))
    name = store(processed, tmp_path)
    delete(tmp_path, name)
    assert not (tmp_path / name).exists()
    delete(tmp_path, name)  # already gone: nothing happens


@pytest.mark.parametrize(
    "name",
    [
        "../../../etc/passwd",
        "../" + "a" * 22 + ".jpg",
        "a" * 22 + ".jpg/../x",
        "a" * 21 + ".jpg",
        "a" * 22 + ".gif",
        "a" * 22 + ".JPG",
        "a" * 22 + ".jpg\n",
        "a" * 20 + "/." + ".jpg",
        "",
    ],
)
def test_delete_refuses_names_it_did_not_make(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        delete(tmp_path, name)


def test_upload_dir(app: Any, tmp_path: Path) -> None:
    assert upload_dir(app) == Path(app.config["UPLOAD_DIR"])
    app.config["UPLOAD_DIR"] = ""
    assert upload_dir(app) == Path(app.instance_path) / "uploads"
    app.config["UPLOAD_DIR"] = str(tmp_path / "elders")
    assert upload_dir(app) == tmp_path / "elders"
