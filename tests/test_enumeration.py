"""No enumeration (issue 18.5): registration, sign-in and the password reset say the same thing
and do the same work whether or not an address has an account.

"The same work" is asserted by counting what costs time, not by timing (timed tests flake):
argon2 hashes and verifications, and mails handed to the SMTP server. The figures measured in
real time are printed by ``benchmarks/enumeration.py`` and written in docs/security.md."""

from __future__ import annotations

import re
from typing import Any

import pytest
from argon2 import PasswordHasher

from tests.conftest import PASSWORD
from tests.test_accounts import register_data


@pytest.fixture
def argon2_calls(monkeypatch) -> dict[str, int]:
    """How often argon2 hashed and verified during the test (the costly work)."""
    calls = {"hash": 0, "verify": 0}
    real_hash, real_verify = PasswordHasher.hash, PasswordHasher.verify

    def counting_hash(self, *args, **kwargs):
        calls["hash"] += 1
        return real_hash(self, *args, **kwargs)

    def counting_verify(self, *args, **kwargs):
        calls["verify"] += 1
        return real_verify(self, *args, **kwargs)

    monkeypatch.setattr(PasswordHasher, "hash", counting_hash)
    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    return calls


def _page(response: Any, address: str) -> str:
    """The page as the person sees it, with their own address and the form token left out."""
    text = response.get_data(as_text=True).replace(address, "ADDRESS")
    return re.sub(r'name="csrf_token"[^>]*value="[^"]*"', "", text)


def _work(argon2_calls: dict[str, int], inbox: Any, action: Any) -> tuple[Any, dict[str, int]]:
    before = dict(argon2_calls)
    mails = len(inbox.messages)
    response = action()
    used = {key: argon2_calls[key] - before[key] for key in before}
    used["mail"] = len(inbox.messages) - mails
    return response, used


@pytest.mark.parametrize(
    "password",
    ["lombok-is-de-mooiste-buurt", "wachtwoord", "kort"],
    ids=["good password", "common password", "short password"],
)
def test_registration_same_answer_and_work(client, west, make_user, inbox, argon2_calls, password):
    make_user("jan@example.org", wijk=west)
    place = f"a{west.areas[0].id}"
    client.csrf("/registreren")  # the first page costs nothing extra for either

    def register(address: str) -> Any:
        data = register_data(email=address, place=place, password=password)
        return client.post("/registreren", data, page="/registreren")

    known, known_work = _work(argon2_calls, inbox, lambda: register("jan@example.org"))
    unknown, unknown_work = _work(argon2_calls, inbox, lambda: register("nieuw@example.org"))
    assert known.status_code == unknown.status_code
    assert known.headers.get("Location") == unknown.headers.get("Location")
    assert _page(known, "jan@example.org") == _page(unknown, "nieuw@example.org")
    assert known_work == unknown_work
    if known.status_code == 303:  # a good password: one hash and one mail for both
        assert known_work == {"hash": 1, "verify": 0, "mail": 1}
    else:  # a refused password is refused for both, before any work
        assert known.status_code == 422 and known_work["mail"] == 0


def test_registration_same_answer_for_a_deleted_account(
    client, west, make_user, inbox, argon2_calls
):
    """A deleted account's address is free again: it registers like any new address."""
    gone = make_user("weg@example.org", wijk=west)
    gone_client = client
    gone_client.login("weg@example.org")
    gone_client.post("/account/verwijderen", {"del-password": PASSWORD}, page="/account")
    place = f"a{west.areas[0].id}"
    response, work = _work(
        argon2_calls,
        inbox,
        lambda: client.post(
            "/registreren", register_data(email="weg@example.org", place=place), page="/registreren"
        ),
    )
    assert response.status_code == 303 and work["hash"] == 1 and work["mail"] == 1
    assert gone.id is not None


@pytest.mark.parametrize("password", [PASSWORD, "fout-wachtwoord-123"], ids=["right", "wrong"])
def test_login_same_answer_and_work_for_unknown_address(
    client, west, make_user, inbox, argon2_calls, password
):
    make_user("jan@example.org", wijk=west)
    client.csrf("/inloggen")

    def login(address: str, pw: str) -> Any:
        return client.post("/inloggen", {"email": address, "password": pw}, page="/inloggen")

    wrong, wrong_work = _work(argon2_calls, inbox, lambda: login("jan@example.org", "fout-ww-1"))
    unknown, unknown_work = _work(
        argon2_calls, inbox, lambda: login("niemand@example.org", password)
    )
    assert wrong.status_code == unknown.status_code == 422
    assert _page(wrong, "jan@example.org") == _page(unknown, "niemand@example.org")
    assert wrong_work == unknown_work == {"hash": 0, "verify": 1, "mail": 0}


def test_reset_same_answer_and_work(client, west, make_user, inbox, argon2_calls):
    make_user("jan@example.org", wijk=west)
    client.csrf("/wachtwoord-vergeten")

    def reset(address: str) -> Any:
        return client.post("/wachtwoord-vergeten", {"email": address}, page="/wachtwoord-vergeten")

    known, known_work = _work(argon2_calls, inbox, lambda: reset("jan@example.org"))
    unknown, unknown_work = _work(argon2_calls, inbox, lambda: reset("niemand@example.org"))
    assert known.status_code == unknown.status_code == 200
    assert _page(known, "jan@example.org") == _page(unknown, "niemand@example.org")
    assert known_work == unknown_work == {"hash": 0, "verify": 0, "mail": 1}
