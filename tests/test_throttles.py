"""Limits that stop the attacker, not the people they protect (issue 18.6): the sign-in limit
counts a browser where the account signed in before on its own, so a flood of wrong passwords
from many addresses slows the attacker and new devices but never locks the owner out of their
own browser; and a 429 says how long to wait, truly. (The voting codes: tests/test_voting.py,
"the limits on voting codes".)"""

from __future__ import annotations

import math
import re

import pytest

from tests.conftest import PASSWORD
from wijkbudget.accounts import devices


@pytest.fixture
def owner(make_user, west):
    return make_user("jan@example.org", wijk=west)


def attempt(client, email, password, address="192.0.2.1"):
    token = client.csrf("/inloggen")
    return client.raw.post(
        "/inloggen",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def flood(make_client, email, addresses=20, tries=8):
    """Wrong passwords for ``email`` from many addresses; returns how many were refused."""
    attacker = make_client()
    refused = 0
    for a in range(addresses):
        for _ in range(tries):
            status = attempt(attacker, email, "raad-maar-raak", f"198.51.100.{a}").status_code
            assert status in (422, 429)
            refused += status == 429
    return refused


def test_a_flood_of_wrong_passwords_does_not_lock_the_owner_out(app, make_client, owner):
    app.config["RATELIMIT_LOGIN"] = "5 per 15 minutes"
    home = make_client()
    home.login(owner.email)  # signed in here before: a known device
    home.logout()

    refused = flood(make_client, owner.email)
    assert refused >= 20 * 8 - 5  # after five wrong ones for the account, every try waits

    # the owner, at home, from the same busy mobile network as the attacker: straight in
    assert attempt(home, owner.email, PASSWORD, "198.51.100.3").status_code == 303

    # a new device must wait, and is told how long, truly, and what to do meanwhile
    laptop = make_client()
    waiting = attempt(laptop, owner.email, PASSWORD, "203.0.113.9")
    assert waiting.status_code == 429
    seconds = int(waiting.headers["Retry-After"])
    assert 0 < seconds <= 15 * 60 + 1  # the limiter's reset time is rounded up to a second
    page = waiting.get_data(as_text=True)
    assert f"over {math.ceil(seconds / 60)} minu" in page
    assert "eerder bent ingelogd" in page and "nieuw wachtwoord" in page


def test_a_known_device_has_its_own_count(app, make_client, owner):
    app.config["RATELIMIT_LOGIN"] = "3 per 15 minutes"
    home = make_client()
    home.login(owner.email)
    home.logout()
    for _ in range(3):
        assert attempt(home, owner.email, "typfout-typfout").status_code == 422
    assert attempt(home, owner.email, PASSWORD).status_code == 429  # its own three are used
    assert attempt(make_client(), owner.email, PASSWORD).status_code == 303  # not the account's


def test_a_device_cookie_counts_only_for_its_own_account(app, make_client, make_user, west, owner):
    app.config["RATELIMIT_LOGIN"] = "3 per 15 minutes"
    other = make_user("piet@example.org", wijk=west)
    attacker = make_client()
    attacker.login(other.email)  # the attacker's own account gives a device cookie
    attacker.logout()
    statuses = [attempt(attacker, owner.email, "raad-maar-raak").status_code for _ in range(5)]
    assert statuses == [422, 422, 422, 429, 429]


def test_a_forged_device_cookie_is_ignored(app, make_client, owner):
    app.config["RATELIMIT_LOGIN"] = "3 per 15 minutes"
    forger = make_client()
    forger.raw.set_cookie(devices.cookie_name(), f"{owner.id}.forged", domain="wijkbudget.test")
    statuses = [attempt(forger, owner.email, "raad-maar-raak").status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]


def test_the_device_cookie_is_set_after_a_full_sign_in_only(client, owner):
    response = client.post(
        "/inloggen", {"email": owner.email, "password": "fout-fout-fout"}, page="/inloggen"
    )
    assert devices.cookie_name() + "=" not in response.headers.get("Set-Cookie", "")
    response = client.login(owner.email)
    cookies = response.headers.getlist("Set-Cookie")
    device = [c for c in cookies if c.startswith(devices.cookie_name() + "=")]
    assert device and "HttpOnly" in device[0] and "SameSite=Lax" in device[0]
    assert re.search(r"Max-Age=3153\d{4}", device[0])


def test_the_429_of_the_api_says_the_wait_too(app, client):
    app.config["RATELIMIT_API"] = "2 per minute"
    for _ in range(2):
        assert client.get("/api/v1/wijken").status_code == 200
    refused = client.get("/api/v1/wijken")
    assert refused.status_code == 429
    seconds = int(refused.headers["Retry-After"])
    assert 0 < seconds <= 61  # the reset time in whole seconds
    assert f"over {seconds} seconde" in refused.get_json()["error"]
