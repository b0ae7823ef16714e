"""What the in-process benchmarks share (profile_pages.py, explain.py): the seed's plan file, the
app on the seeded database, and a visitor who entered a fresh voting code (for the ballot page)."""

from __future__ import annotations

import json
import re
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
