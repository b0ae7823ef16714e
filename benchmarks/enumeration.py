"""How long registration, sign-in and the password reset take for an address that has an account
and for one that has not: the figures behind "no enumeration" (docs/security.md).

    .venv/bin/python benchmarks/enumeration.py [rounds]

It runs the real app in-process on a fresh SQLite file, with the mail written to files (the
SMTP server's own time is the same for both kinds of address, and left out), and times each
request over ``rounds`` alternating tries (default 20). Printed per action: the median and the
spread (10th–90th percentile) in milliseconds for a known and an unknown address, and their
ratio. It asserts nothing; tests/test_enumeration.py holds "the same work" by counting hashes
and mails."""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
logging.disable(logging.INFO)

from _inprocess import CSRF, one_resident_app  # noqa: E402

PASSWORD = "lombok-is-de-mooiste-buurt"  # noqa: S105 (the demo account of this run)


def main(rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="wb-enum-"))
    app, place = one_resident_app(
        folder,
        {
            "SECRET_KEY": "benchmark",
            "MAIL_BACKEND": "file",
            "MAIL_DIR": str(folder / "mail"),
            "RATELIMIT_ENABLED": False,
            "PUBLIC_URL": "http://localhost",
            "SERVER_NAME": "localhost",
            "COOKIE_SECURE": False,
            "SESSION_COOKIE_SECURE": False,
        },
        PASSWORD,
    )
    client = app.test_client()

    def post(url: str, data: dict[str, Any]) -> float:
        token = CSRF.search(client.get(url).get_data(as_text=True))
        assert token, url
        started = time.perf_counter()
        response = client.post(url, data={**data, "csrf_token": token.group(1)})
        elapsed = time.perf_counter() - started
        assert response.status_code < 500, (url, response.status_code)
        return elapsed * 1000

    counter = iter(range(10**6))
    actions = {
        "register": lambda address: post(
            "/registreren",
            {
                "email": address if address == "jan@example.org" else f"n{next(counter)}@x.org",
                "password": PASSWORD,
                "display_name": "Iemand",
                "place": place,
                "postcode": "3531 AB",
                "birth_year": "1980",
                "language": "nl",
            },
        ),
        "login (wrong password / unknown)": lambda address: post(
            "/inloggen", {"email": address, "password": "niet-het-goede-wachtwoord"}
        ),
        "password reset": lambda address: post("/wachtwoord-vergeten", {"email": address}),
    }
    print(f"{'action':34} {'known ms':>18} {'unknown ms':>18} {'ratio':>6}")
    for name, action in actions.items():
        times: dict[str, list[float]] = {"known": [], "unknown": []}
        for _ in range(rounds):
            times["known"].append(action("jan@example.org"))
            times["unknown"].append(action("niemand@example.org"))

        def show(values: list[float]) -> str:
            cuts = statistics.quantiles(values, n=10)
            return f"{statistics.median(values):6.1f} ({cuts[0]:.0f}–{cuts[-1]:.0f})"

        ratio = statistics.median(times["known"]) / statistics.median(times["unknown"])
        print(f"{name:34} {show(times['known']):>18} {show(times['unknown']):>18} {ratio:6.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
