"""First steps that work (issue 22.8): the registration limit counts accounts made, not typos,
with a cap on all tries; the 429 names the true wait; "stuur de bevestigingsmail opnieuw"
without telling who has an account; ``make run`` takes a port and no test extras."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import link_in, mail_body
from tests.test_accounts import path_of, register_data
from wijkbudget.extensions import limiter

ROOT = Path(__file__).resolve().parents[1]


def typo(client, west):
    """A registration form with a postcode outside the wijk: refused, no account."""
    data = register_data(place=f"w{west.id}", postcode="9999 ZZ", email="typo@example.org")
    return client.post("/registreren", data, page="/registreren")


def test_typos_do_not_block_the_next_person(client, west, inbox):
    for _ in range(8):  # more than RATELIMIT_REGISTER (5): typos are no registrations
        assert typo(client, west).status_code == 422
    response = client.post("/registreren", register_data(place=f"w{west.id}"), page="/registreren")
    assert response.status_code == 303
    assert "bevestigen" in mail_body(inbox.last_to("fatima@example.org"))


def test_registrations_count_successes(app, client, west):
    app.config["RATELIMIT_REGISTER"] = "2 per hour"
    limiter.reset()
    for n in range(2):
        data = register_data(place=f"w{west.id}", email=f"buur{n}@example.org")
        assert client.post("/registreren", data, page="/registreren").status_code == 303
    assert typo(client, west).status_code == 429  # the third account would be one too many
    data = register_data(place=f"w{west.id}", email="buur9@example.org")
    assert client.post("/registreren", data, page="/registreren").status_code == 429


def test_a_cap_on_all_tries(app, client, west):
    app.config["RATELIMIT_REGISTER_TRIES"] = "4 per hour"
    limiter.reset()
    for _ in range(4):
        assert typo(client, west).status_code == 422
    response = typo(client, west)
    assert response.status_code == 429
    # the cap holds for a good form too: trying is not an open door
    data = register_data(place=f"w{west.id}")
    assert client.post("/registreren", data, page="/registreren").status_code == 429


def test_the_429_names_the_true_wait_in_dutch(app, client, west):
    app.config["RATELIMIT_REGISTER_TRIES"] = "2 per 10 minutes"
    limiter.reset()
    for _ in range(2):
        typo(client, west)
    response = typo(client, west)
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 540 < wait <= 601  # the window's real reset (in whole seconds), not a fixed minute
    body = response.get_data(as_text=True)
    minutes = re.search(r"Probeer het over (\d+) minuten opnieuw", body)
    assert minutes, body
    assert int(minutes.group(1)) == 10


def test_resend_confirmation_same_answer_for_every_address(client, west, make_user, inbox):
    make_user("nog@example.org", wijk=west, verified=False)
    make_user("al@example.org", wijk=west, verified=True)
    page = "/bevestigingsmail-opnieuw"
    assert client.get(page).status_code == 200
    bodies = []
    for address in ("nog@example.org", "al@example.org", "niemand@example.org"):
        response = client.post(page, {"email": address}, page=page)
        assert response.status_code == 200
        bodies.append(response.get_data(as_text=True).replace(address, "ADRES"))
    assert bodies[0] == bodies[1] == bodies[2]
    # one mail each: a new link, "already confirmed", "no account here"
    assert [len(inbox.to(a)) for a in ("nog@example.org", "al@example.org")] == [1, 1]
    assert len(inbox.to("niemand@example.org")) == 1
    link = link_in(inbox.last_to("nog@example.org"))
    assert "/bevestigen/" in link
    assert client.get(path_of(link)).status_code == 200
    assert "al bevestigd" in mail_body(inbox.last_to("al@example.org"))
    assert "geen account" in mail_body(inbox.last_to("niemand@example.org"))


def test_resend_confirmation_is_limited_per_address_and_per_ip(client, inbox):
    page = "/bevestigingsmail-opnieuw"
    for _ in range(3):  # RATELIMIT_RESEND, per e-mail address
        assert client.post(page, {"email": "x@example.org"}, page=page).status_code == 200
    other_ip = {"environ_base": {"REMOTE_ADDR": "192.0.2.7"}}
    refused = client.post(page, {"email": "x@example.org"}, page=page, **other_ip)
    assert refused.status_code == 429  # the address is limited from any connection
    assert len(inbox.to("x@example.org")) == 3
    # and per IP: this connection used its three, another e-mail address waits as well
    assert client.post(page, {"email": "y@example.org"}, page=page).status_code == 429
    assert inbox.to("y@example.org") == []


def test_resend_confirmation_refuses_a_bad_address(client):
    page = "/bevestigingsmail-opnieuw"
    response = client.post(page, {"email": "geen-adres"}, page=page)
    assert response.status_code == 422


def test_make_run_takes_a_port_and_no_test_extras():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^PORT\s*\?=\s*5000$", makefile, re.M)
    assert "WIJKBUDGET_PUBLIC_URL=http://127.0.0.1:$(PORT)" in makefile
    assert "--port $(PORT)" in makefile
    run = re.search(r"^run:(.*)$", makefile, re.M)
    assert run and "install-run" in run.group(1) and " install " not in run.group(1) + " "
    assert re.search(r"pip install --quiet -e \.$", makefile, re.M)  # run: no extras
    assert 'pip install --quiet -e ".[test]"' in makefile  # test: with them
