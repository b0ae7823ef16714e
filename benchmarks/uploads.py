"""What one upload costs in memory and time: the largest photos that are accepted (a PNG at the
pixel limit in the modes that cost most, a 48-megapixel camera JPEG), the decompression bomb
that is refused, and receipts as PDF (the largest allowed, and hostile ones).

    .venv/bin/python benchmarks/uploads.py

Each case runs in a fresh process (so the peak is its own): it reads the file, then checks it
as the site does (``images.process_upload``, ``receipts.check_upload``). Printed per case: the
file size, the growth of the peak resident memory (VmHWM, reset before the check; this counts
Pillow's pixel buffers, which tracemalloc does not see), the Python allocations' peak
(tracemalloc, in a second run), the time (of the first run), and the outcome. It asserts
nothing; docs/security.md quotes it."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


# --- the inputs ---------------------------------------------------------------------------------


def _photos() -> dict[str, bytes]:
    from PIL import Image

    from wijkbudget.proposals import images

    side = int(images.MAX_DECODED_PIXELS**0.5)  # 3535 x 3535: at the limit

    def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
        out = io.BytesIO()
        image.save(out, fmt, **params)
        return out.getvalue()

    grey = Image.linear_gradient("L").resize((side, side))
    rgb = Image.merge("RGB", (grey, grey.transpose(Image.Transpose.ROTATE_90), grey))
    rgba = rgb.copy()
    rgba.putalpha(grey)
    camera = Image.merge("RGB", [Image.linear_gradient("L").resize((8000, 6000)) for _ in range(3)])
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.test_uploads import bomb

    return {
        "photo PNG 12.5 MP RGBA": encode(rgba, "PNG"),
        "photo PNG 12.5 MP palette (made RGBA)": encode(rgba.convert("P"), "PNG"),
        "photo PNG 12.5 MP RGB": encode(rgb, "PNG"),
        "photo JPEG 48 MP (decoded at 1/4)": encode(camera, "JPEG", quality=85),
        "photo bomb PNG 40 MP (refused)": bomb(),
    }


def _pdfs() -> dict[str, bytes]:
    from pypdf import PdfWriter

    from wijkbudget.spending import receipts

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.test_uploads import HOSTILE, pdf_of

    writer = PdfWriter()
    for _ in range(receipts.MAX_PDF_PAGES):
        writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    filler = b"0 0 m 1 1 l S\n" * ((receipts.MAX_BYTES - 200_000) // 14)
    big = pdf_of(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(filler), filler),
        ]
    )
    objects = b"".join(b"%d 0 obj\n<< /Type /Page >>\nendobj\n" % n for n in range(1, 290_000))
    rebuilt = b"%PDF-1.7\n" + objects + b"trailer\n<< /Root 1 0 R >>\nstartxref\n9\n%%EOF\n"
    return {
        f"PDF {receipts.MAX_PDF_PAGES} pages": out.getvalue(),
        "PDF 10 MB, one page": big,
        "PDF garbage after %PDF, 10 MB (refused)": b"%PDF-1.7\n"
        + bytes(range(256)) * (receipts.MAX_BYTES // 256 - 1),
        "PDF 5000 pages (refused)": HOSTILE["a huge page count"](),
        "PDF page tree fanning out (refused)": HOSTILE["a page tree that fans out"](),
        "PDF 290,000 objects, broken xref (refused)": rebuilt[: receipts.MAX_BYTES],
    }


# --- one case, in its own process ---------------------------------------------------------------


def measure(kind: str, path: str) -> None:
    import logging
    import tracemalloc

    logging.disable(logging.CRITICAL)  # pypdf logs every repair it tries
    from wijkbudget import create_app
    from wijkbudget.errors import DomainError
    from wijkbudget.proposals import images
    from wijkbudget.spending import receipts

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.test_request_context():
        data = Path(path).read_bytes()
        check = images.process_upload if kind == "photo" else receipts.check_upload

        def run() -> str:
            try:
                check(io.BytesIO(data))
            except DomainError as error:
                return "refused: " + error.message
            return "accepted"

        Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from here
        before = _kib("VmRSS")
        started = time.perf_counter()
        outcome = run()
        seconds = time.perf_counter() - started
        peak = _kib("VmHWM")
        tracemalloc.start()  # a second run: tracemalloc slows Python code down several times
        run()
        python_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(
        json.dumps(
            {
                "rss_mb": (peak - before) / 1024,
                "python_mb": python_peak / 1024 / 1024,
                "seconds": seconds,
                "outcome": outcome,
            }
        )
    )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        measure(sys.argv[2], sys.argv[3])
        return
    cases = [("photo", name, data) for name, data in _photos().items()]
    cases += [("pdf", name, data) for name, data in _pdfs().items()]
    print(f"{'case':44} {'file':>8} {'peak RSS +':>10} {'Python':>8} {'time':>7}  outcome")
    with tempfile.TemporaryDirectory() as directory:
        for kind, name, data in cases:
            path = Path(directory) / "upload"
            path.write_bytes(data)
            result = subprocess.run(  # noqa: S603 (this interpreter, this script)
                [sys.executable, __file__, "--one", kind, str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            print(
                f"{name:44} {len(data) / 1024 / 1024:6.1f}MB {figures['rss_mb']:8.1f}MB"
                f" {figures['python_mb']:6.1f}MB {figures['seconds']:6.2f}s"
                f"  {figures['outcome'][:70]}"
            )


if __name__ == "__main__":
    main()
