"""What the in-process benchmarks share: the seed's plan file, the app on the seeded database,
and a visitor who entered a fresh voting code (for the ballot page) (profile_pages.py,
explain.py, cast_capacity.py); the app on a throwaway SQLite file with one resident
(enumeration.py, backtracking.py)."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def plan_file(database: str, given: str = "") -> Path:
    return Path(given or f"/tmp/wijkbudget-bench-{make_url(database).database}.json")  # noqa: S108


def seeded_app(database: str, plan: dict[str, Any], *, page_cache: bool = False) -> Any:
    from wijkbudget import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database,
            "SECRET_KEY": plan["secret_key"],
            "COOKIE_SECURE": False,
            "RATELIMIT_ENABLED": False,
            "PAGE_CACHE_SECONDS": 10 if page_cache else 0,
        }
    )


def fresh_code(path: Path, plan: dict[str, Any], count: int = 1) -> list[str]:
    """Fresh codes from the plan, marked as taken in the plan file."""
    start = plan["next_code"]
    if start + count > len(plan["codes"]):
        raise SystemExit("no fresh voting codes left: run seed.py again")
    plan["next_code"] = start + count
    path.write_text(json.dumps(plan, indent=1))
    return plan["codes"][start : start + count]


def voter_with_code(app: Any, path: Path, plan: dict[str, Any]) -> Any:
    """A test client that entered a fresh code (and never casts): the ballot page needs one."""
    viewer = app.test_client()
    token = CSRF.search(viewer.get("/stem").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    entered = viewer.post("/stem", data={"code": fresh_code(path, plan)[0], "csrf_token": token})
    assert entered.status_code == 303, entered.status_code
    return viewer


def one_resident_app(folder: Path, config: dict[str, Any], password: str) -> tuple[Any, str]:
    """The app on a fresh SQLite file in ``folder`` (``config`` on top), with its tables, wijk
    West (postcodes 3531-3533, buurt Lombok) and one verified resident, jan@example.org with
    ``password``. Returns the app and the registration form's ``place`` for Lombok. The keys a
    site must set (ledger checkpoints, voter fingerprints) are made up for this database."""
    from wijkbudget import create_app
    from wijkbudget.accounts.models import User
    from wijkbudget.accounts.passwords import hash_password
    from wijkbudget.extensions import db, utcnow
    from wijkbudget.neighbourhoods.models import Area, Neighbourhood, PostcodeRange

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'db.sqlite'}",
            "CHECKPOINT_KEY": secrets.token_hex(32),
            "FINGERPRINT_KEY": secrets.token_hex(32),
            **config,
        }
    )
    with app.app_context():
        db.create_all()
        wijk = Neighbourhood(name="West", slug="west", description="")
        wijk.postcode_ranges = [PostcodeRange(first=3531, last=3533)]
        wijk.areas = [Area(name="Lombok", slug="lombok")]
        db.session.add(wijk)
        db.session.add(
            User(
                email="jan@example.org",
                display_name="Jan",
                password_hash=hash_password(password),
                neighbourhood=wijk,
                postcode="3531 AB",
                birth_year=1980,
                email_verified_at=utcnow(),
            )
        )
        db.session.commit()
        return app, f"a{wijk.areas[0].id}"
