"""The pages as a visitor meets them: Dutch error pages with the right status, the language
switch, the skip link, htmx vendored, and no 500 for oversized or malformed requests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.concurrency import database_outage
from tests.conftest import page_raising
from wijkbudget import create_app
from wijkbudget.extensions import db


def test_home_lists_wijken_with_skip_link_and_local_htmx(client, make_wijk):
    make_wijk("West", areas=("Lombok",))
    make_wijk("Oost", postcodes=((3581, 3585),), areas=("Oudwijk",))
    response = client.get("/")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and '<html lang="nl">' in body
    assert "West" in body and "Oost" in body and "Lombok" in body and "Oudwijk" in body
    assert (
        '<a class="skip-link" href="#inhoud">Naar de inhoud</a>' in body and 'id="inhoud"' in body
    )
    assert '<body hx-boost="true">' in body
    sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', body)
    assert sources and all(src.startswith("/static/") for src in sources)  # nothing from a CDN
    assert "/static/js/htmx.min.js" in sources
    for static in ("/static/js/htmx.min.js", "/static/css/wijkbudget.css"):
        with client.get(static) as response:
            assert response.status_code == 200 and len(response.get_data()) > 1000


def test_404_in_plain_dutch(client):
    response = client.get("/bestaat/niet")
    assert response.status_code == 404
    assert "Deze pagina bestaat niet" in response.get_data(as_text=True)


def test_405_in_plain_dutch(client):
    response = client.get("/uitloggen")
    assert response.status_code == 405 and "Dat kan zo niet" in response.get_data(as_text=True)


def test_413_for_a_huge_body(client):
    token = client.csrf("/inloggen")
    response = client.raw.post(
        "/inloggen",
        data={"csrf_token": token, "email": "a@example.org", "password": "x" * (17 * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert "te groot" in response.get_data(as_text=True)


def test_500_page_in_dutch_and_the_transaction_rolled_back(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get(page_raising(app, RuntimeError("kapot")))
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Foutcode: 500" in body and "kapot" not in body.split("<main")[1]


def test_429_on_register_in_dutch(app, client, make_wijk):
    """Typos do not count towards the registration limit; the cap on all tries
    (RATELIMIT_REGISTER_TRIES) does, and its 429 names the true wait in Dutch."""
    make_wijk("West")
    app.config["RATELIMIT_REGISTER_TRIES"] = "7 per hour"
    for _ in range(7):  # more than RATELIMIT_REGISTER (5): failed forms are no registrations
        assert client.post("/registreren", {"email": "x"}, page="/registreren").status_code == 422
    response = client.post("/registreren", {"email": "x"}, page="/registreren")
    assert response.status_code == 429
    assert 3540 < int(response.headers["Retry-After"]) <= 3601  # the hour's real reset
    assert "Probeer het over 60 minuten opnieuw" in response.get_data(as_text=True)


def test_language_switch_to_english_and_back(client):
    response = client.post("/taal", {"lang": "en", "next": "/inloggen"}, page="/")
    assert response.status_code == 303 and response.headers["Location"].endswith("/inloggen")
    body = client.get("/inloggen").get_data(as_text=True)
    assert '<html lang="en">' in body and "Log in" in body and "Skip to content" in body
    assert client.get("/bestaat-niet").get_data(as_text=True).count("does not exist") >= 1
    client.post("/taal", {"lang": "nl", "next": "/"}, page="/")
    assert '<html lang="nl">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"]
)
def test_language_switch_never_leaves_the_site(client, target):
    response = client.post("/taal", {"lang": "en", "next": target}, page="/")
    assert response.status_code == 303
    assert response.headers["Location"] in ("/", "http://wijkbudget.test/")


def test_security_headers_and_cookie_flags(app, make_wijk, make_user, make_client):
    app.config["SESSION_COOKIE_SECURE"] = True
    west = make_wijk("West")
    user = make_user("a@example.org", wijk=west)
    client = make_client()
    response = client.post(
        "/inloggen",
        {"email": user.email, "password": "een-lang-wachtwoord-voor-tests"},
        page="/inloggen",
    )
    cookie = next(
        v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("session=")
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok"


def test_a_huge_number_in_a_url_is_not_found_not_a_server_error(client):
    for url in (
        "/voorstellen/9223372036854775808",
        "/projecten/2147483648",
        "/api/v1/rondes/99999999999",
    ):
        assert client.get(url).status_code == 404, url


def test_a_control_character_in_a_url_is_not_found_not_a_server_error(client, make_wijk):
    """A NUL in a slug or token reached the database (PostgreSQL refuses it in text: a 500)."""
    make_wijk("West")
    for url in (
        "/wijk/%00",
        "/wijk/we%00st/rondes",
        "/api/v1/wijken/%00",
        "/api/v1/wijken/west%1b/rondes",
        "/beheer/wijken/%0d%0a",
        "/bevestigen/%00",
    ):
        assert client.get(url).status_code == 404, url
    assert client.get("/wijk/west").status_code == 200


def test_a_page_number_too_big_for_the_database_is_a_400_not_a_server_error(
    client, make_wijk, make_round
):
    """``?page=`` beyond the last page is an empty page; beyond a million (where the offset no
    longer fits the database's integer) a 400 with a Dutch message, in the API as well."""
    wijk = make_wijk("West")
    rnd = make_round(wijk)
    url = f"/wijk/west/rondes/{rnd.id}/voorstellen"
    for page in ("1000000", "abc", "٣", "-1", ""):
        assert client.get(f"{url}?page={page}").status_code == 200, page
    for page in ("1000001", "368934881474191034", str(10**30)):
        response = client.get(f"{url}?page={page}")
        assert response.status_code == 400, page
        assert "geen pagina met dat nummer" in response.get_data(as_text=True)
    assert client.get(f"/api/v1/rondes/{rnd.id}/voorstellen?page=1000001").status_code == 400


def test_security_headers_on_every_page(app, client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # the tests run without https
    secure = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "SECRET_KEY": "x", "TESTING": True, "COOKIE_SECURE": True})  # fmt: skip
    hsts = secure.test_client().get("/healthz").headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=31536000")


def test_no_inline_script_or_style_in_the_templates():
    root = Path(__file__).resolve().parents[1] / "templates"
    for template in root.rglob("*.html"):
        source = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", source), template
        assert not re.search(r"\son[a-z]+=\"", source), template
        assert ' style="' not in source and "<style" not in source, template


def test_a_database_outage_is_a_503_that_says_to_try_again_on_any_page(app, client, make_wijk):
    """Not only the voting pages: a page or an API call while the database is away gets a 503
    with Retry-After and a Dutch message (not a 500), and works again when it is back."""
    make_wijk("West")
    with database_outage(db.engine):
        page = client.get("/wijk/west")
        api = client.get("/api/v1/wijken")
    assert page.status_code == 503 and page.headers["Retry-After"] == "60"
    assert "Probeer het over een minuut opnieuw" in page.get_data(as_text=True)
    assert api.status_code == 503 and "opnieuw" in api.get_json()["error"]
    assert client.get("/wijk/west").status_code == 200
