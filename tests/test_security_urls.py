"""Links in mail come from WIJKBUDGET_PUBLIC_URL, never from the Host or X-Forwarded-Host a
request names; a request for another host is refused with 400 (issue 18, point 2)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FormClient, link_in
from wijkbudget import create_app
from wijkbudget.config import ConfigError
from wijkbudget.extensions import db

FORGED = "evil.example"
PUBLIC = "http://wijkbudget.test/"

REGISTER = {
    "email": "fatima@example.org",
    "password": "lombok-is-de-mooiste-buurt",
    "display_name": "Fatima",
    "postcode": "3531 AB",
    "birth_year": "1984",
    "language": "nl",
}


@pytest.fixture
def west(make_wijk):
    return make_wijk("West", areas=("Lombok",))


@pytest.fixture
def app_for(app_config: dict[str, Any]) -> Any:
    """Another app on the same database and mail server, with some settings changed."""
    made: list[Any] = []

    def make(**changes: Any) -> FormClient:
        # no CSRF token: the token's cookie lives on the real host, and a 400 for a missing
        # token must not pass for the refusal of the host
        # and no SERVER_NAME (as in production): with it, Flask builds links from it
        base = {**app_config, "WTF_CSRF_ENABLED": False, "SERVER_NAME": None}
        other = create_app({**base, **changes})
        made.append(other)
        return FormClient(other.test_client())

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


# the ways a request can name a host the site is not
FORGERIES = {
    "Host": ({}, {"Host": FORGED}),
    "X-Forwarded-Host": ({"PROXY_FIX": True}, {"X-Forwarded-Host": FORGED}),
}


def _reset(client: FormClient, headers: dict[str, str]) -> Any:
    data = {"email": "jan@example.org"}
    return client.raw.post("/wachtwoord-vergeten", data=data, headers=headers)


def _register(client: FormClient, west: Any, email: str, headers: dict[str, str]) -> Any:
    data = {**REGISTER, "email": email, "place": f"w{west.id}"}
    return client.raw.post("/registreren", data=data, headers=headers)


def _refused(response: Any) -> bool:
    return response.status_code == 400 and "andere naam" in response.get_data(as_text=True)


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_reset_for_a_forged_host_is_refused_and_mails_nothing(
    forgery, app_for, west, make_user, inbox
):
    settings, headers = FORGERIES[forgery]
    make_user("jan@example.org", wijk=west)
    client = app_for(**settings)
    assert _refused(_reset(client, headers))
    assert inbox.to("jan@example.org") == []


@pytest.mark.parametrize("forgery", FORGERIES)
@pytest.mark.parametrize("known", [False, True], ids=["new", "known"])
def test_a_registration_for_a_forged_host_is_refused_and_mails_nothing(
    forgery, known, app_for, west, make_user, inbox
):
    settings, headers = FORGERIES[forgery]
    if known:  # a known address gets a "you already have an account" mail with a link
        make_user("fatima@example.org", wijk=west)
    client = app_for(**settings)
    assert _refused(_register(client, west, "fatima@example.org", headers))
    assert inbox.to("fatima@example.org") == []


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_host_the_site_answers_to_still_gets_links_to_the_public_url(
    forgery, app_for, west, make_user, inbox
):
    """Even a host that is let in (EXTRA_HOSTS, e.g. an internal name) never shapes a link."""
    settings, headers = FORGERIES[forgery]
    make_user("jan@example.org", wijk=west)
    client = app_for(**settings, EXTRA_HOSTS=f"intern.test, {FORGED}")
    assert _reset(client, headers).status_code == 200
    link = link_in(inbox.last_to("jan@example.org"))
    assert link.startswith(PUBLIC), link
    assert FORGED not in link

    assert _register(client, west, "nieuw@example.org", headers).status_code == 303
    link = link_in(inbox.last_to("nieuw@example.org"))
    assert link.startswith(PUBLIC) and FORGED not in link


def test_the_public_host_is_answered(client, west):
    assert client.get("/", headers={"Host": "wijkbudget.test"}).status_code == 200
    assert _refused(client.get("/", headers={"Host": FORGED}))


# --- the setting ------------------------------------------------------------------------------


@pytest.fixture
def production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test or debug mode, and no WIJKBUDGET_* setting from outside."""
    monkeypatch.setenv("WIJKBUDGET_INSTANCE_PATH", str(tmp_path / "instance"))
    for key in list(os.environ):
        if key.startswith(("WIJKBUDGET_", "FLASK_")) and key != "WIJKBUDGET_INSTANCE_PATH":
            monkeypatch.delenv(key)
    # required in production too (tests/test_trust_ledger.py checks that)
    monkeypatch.setenv("WIJKBUDGET_CHECKPOINT_PUBLIC_KEY", "ab" * 32)
    # and the key of the voters' fingerprints (tests/test_one_person_one_vote.py)
    monkeypatch.setenv("WIJKBUDGET_FINGERPRINT_KEY", "cd" * 32)


def test_production_does_not_start_without_a_public_url(production):
    with pytest.raises(ConfigError, match="WIJKBUDGET_PUBLIC_URL"):
        create_app()


@pytest.mark.parametrize("url", ["wijkbudget.example.nl", "ftp://x.nl", "https://x.nl/pad"])
def test_a_malformed_public_url_is_named(production, monkeypatch, url):
    monkeypatch.setenv("WIJKBUDGET_PUBLIC_URL", url)
    with pytest.raises(ConfigError, match="WIJKBUDGET_PUBLIC_URL"):
        create_app()


def test_the_public_url_sets_the_trusted_hosts(production, monkeypatch):
    monkeypatch.setenv("WIJKBUDGET_PUBLIC_URL", "https://wijkbudget.example.nl/")
    monkeypatch.setenv("WIJKBUDGET_EXTRA_HOSTS", "intern.local")
    app = create_app()
    assert app.config["PUBLIC_URL"] == "https://wijkbudget.example.nl"
    assert app.config["TRUSTED_HOSTS"] == ["wijkbudget.example.nl", "intern.local"]


def test_make_run_sets_the_public_url():
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    # the links in mail follow the port `make run PORT=…` serves on (5000 by default)
    assert "WIJKBUDGET_PUBLIC_URL=http://127.0.0.1:$(PORT)" in makefile
    assert "PORT   ?= 5000" in makefile and "--port $(PORT)" in makefile
