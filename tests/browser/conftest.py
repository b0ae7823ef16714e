"""Browser journeys: the app served on a free loopback port by a real WSGI server in a thread,
driven by Playwright through Debian's chromium (never a browser Playwright downloads).

Screenshots go to ``test-artifacts/screenshots/`` (not committed), at 375 and 1280 px."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from wijkbudget import create_app
from wijkbudget.extensions import db

CHROMIUM = shutil.which("chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]

if CHROMIUM is None:
    pytest.skip(
        "browser journeys skipped: Debian's chromium is not installed (apt-get install chromium; "
        ".ci/run does this)",
        allow_module_level=True,
    )

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def live_server(app: Any, app_config: dict[str, Any]) -> Iterator[str]:
    """The same database and mail server as the test's ``app``, served over HTTP."""
    config = {**app_config, "SERVER_NAME": None, "RATELIMIT_ENABLED": False}
    served = create_app({**config, "PUBLIC_URL": "http://127.0.0.1"})
    server = make_server("127.0.0.1", 0, served, threaded=True)
    served.config["PUBLIC_URL"] = f"http://127.0.0.1:{server.server_port}"  # links in mail
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with served.app_context():  # close the served app's own pooled connections
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(params=[True, False], ids=["js", "no-js"])
def javascript(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def new_page(browser: Any, live_server: str, javascript: bool) -> Any:
    """``new_page()``: a fresh browser context (its own cookies), JavaScript on or off."""
    contexts = []

    def make(width: int = 1280) -> Any:
        context = browser.new_context(
            java_script_enabled=javascript,
            base_url=live_server,
            viewport={"width": width, "height": 900},
            locale="nl-NL",
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Any:
    """``shoot(page, "name")``: full-page screenshots at 375 and 1280 px for people to look at."""

    def take(page: Any, name: str) -> None:
        folder = SHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        folder.mkdir(parents=True, exist_ok=True)
        original = page.viewport_size
        for width in (375, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
        page.set_viewport_size(original)

    return take


def follow(page: Any, link: str, heading: str | None = None) -> None:
    """Click the link named ``link`` and see the page it leads to: its heading (``heading``, or
    the link's own name) is shown."""
    page.get_by_role("link", name=link).click()
    playwright_api.expect(page.get_by_role("heading", name=heading or link)).to_be_visible()


def finish_sign_in(page: Any, email: str) -> None:
    """After the password: the second step of an account that has one (the code its app shows
    now), or the set-up of one for a role that has none yet (the secret read off the page, as a
    phone would scan it), as a person does it in the browser."""
    import pyotp

    from tests.conftest import second_factor_code

    page.wait_for_url(lambda url: urlsplit(url).path != "/inloggen")
    path = urlsplit(page.url).path
    if path == "/inloggen/tweede-stap":
        page.get_by_label("Code uit je app, of een herstelcode").fill(second_factor_code(email))
        page.get_by_role("button", name="Inloggen").click()
    elif path == "/inloggen/tweede-stap/instellen":
        secret = page.locator("code.secret").get_attribute("data-secret")
        page.get_by_label("De code die je app nu laat zien").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Tweede stap aanzetten").click()
        page.get_by_role("link", name="Ik heb ze bewaard, ga verder").click()
    page.wait_for_url(lambda url: not urlsplit(url).path.startswith("/inloggen"))


def sign_in(page: Any, email: str) -> None:
    """Sign in as ``email`` (the tests' one password) the way a person does, the second step
    included, and see the page say so."""
    from tests.conftest import PASSWORD  # the tests' settings: loaded with the browser tests only

    page.goto("/inloggen")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    finish_sign_in(page, email)
    playwright_api.expect(page.get_by_role("button", name="Uitloggen")).to_be_visible()


def no_axe_findings(page: Any, javascript: bool) -> None:
    """axe-core on the page at 1280 and at 375 px finds nothing serious or critical (axe runs in
    the page: without JavaScript there is nothing to run)."""
    if not javascript:
        return
    # axe is a test extra: a journey without JavaScript needs none of it
    from tests.browser.test_accessibility import blocking_violations

    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        found = blocking_violations(page)
        assert not found, f"{page.url} at {width} px:\n" + "\n".join(found)
    page.set_viewport_size({"width": 1280, "height": 900})
