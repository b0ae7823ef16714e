"""Sessions that end (issue 18, point 3): logging out, "overal uitloggen", a new password and a
reset end every session and remember-me cookie of the account, also copies; sessions end when
idle or old (shorter for accounts with a role); __Host- cookies when cookies are secure."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, IsolatedClient
from flask_login.utils import encode_cookie

from wijkbudget import create_app
from wijkbudget.accounts import operations, sessions
from wijkbudget.accounts.models import User
from wijkbudget.extensions import db

DOMAIN = "wijkbudget.test"
NEW_PASSWORD = "een-ander-lang-wachtwoord-2027"


@pytest.fixture
def resident(make_user, west):
    return make_user("fatima@example.org", wijk=west)


def login(client, user, *, remember=False):
    return client.login(user.email, remember=remember)


def signed_in(client) -> bool:
    response = client.get("/account")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/inloggen" in response.headers["Location"]
    return False


def session_cookie(client):
    cookie = client.raw.get_cookie("session", domain=DOMAIN)
    assert cookie is not None
    return cookie


def copy_to(make_client, name, value):
    other = make_client()
    other.raw.set_cookie(name, value, domain=DOMAIN)
    return other


def remember_cookie(user) -> str:
    """A remember-me cookie as Flask-Login made them before (signed with the app's key)."""
    return encode_cookie(db.session.get(User, user.id).login_token)


def test_copied_session_and_remember_cookies_are_refused_after_logout(
    client, make_client, resident
):
    login(client, resident, remember=True)
    copy = copy_to(make_client, "session", session_cookie(client).value)
    assert signed_in(copy)  # a copy works as long as the session does...
    remembered = remember_cookie(resident)

    client.logout()

    assert not signed_in(copy)  # ...and not after logging out
    assert not signed_in(copy_to(make_client, "remember_token", remembered))
    assert not signed_in(client)


def test_logout_after_staying_signed_in_signs_this_browser_out(client, resident):
    login(client, resident, remember=True)
    assert session_cookie(client).expires is not None  # outlives the browser
    # a remember-me cookie left from before (they are no longer set) is deleted on logout
    client.raw.set_cookie("remember_token", remember_cookie(resident), domain=DOMAIN)

    response = client.logout()

    assert response.status_code == 303
    assert client.raw.get_cookie("remember_token", domain=DOMAIN) is None
    assert not signed_in(client)
    cookie = client.raw.get_cookie("session", domain=DOMAIN)
    assert cookie is None or cookie.expires is None  # no lasting session cookie is left


def test_a_remember_me_cookie_alone_opens_nothing(client, make_client, resident):
    """There is no remember-me cookie any more: one (from before, or made with a stolen key
    and an old token) carries no sign-in time, so it never starts a session."""
    login(client, resident)
    stranger = copy_to(make_client, "remember_token", remember_cookie(resident))
    assert not signed_in(stranger)
    assert signed_in(client)  # the person's own session is not touched


def test_a_new_password_ends_the_other_sessions_and_keeps_this_one(client, make_client, resident):
    login(client, resident)
    phone = make_client()
    login(phone, resident, remember=True)
    copy = copy_to(make_client, "session", session_cookie(client).value)

    response = client.post(
        "/account/wachtwoord",
        {"pw-current": PASSWORD, "pw-password": NEW_PASSWORD},
        page="/account",
    )

    assert response.status_code == 303
    assert signed_in(client)
    assert not signed_in(phone)
    assert not signed_in(copy)  # the cookie from before the change is refused


def test_a_password_reset_ends_every_session(client, make_client, resident):
    login(client, resident, remember=True)
    token = operations.make_reset_token(resident)
    stranger = make_client()
    response = stranger.post(
        f"/wachtwoord-vergeten/{token}",
        {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        page=f"/wachtwoord-vergeten/{token}",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert not signed_in(client)


def test_log_out_everywhere(client, make_client, resident):
    login(client, resident)
    laptop = make_client()
    login(laptop, resident, remember=True)
    assert "Overal uitloggen" in client.get("/account").get_data(as_text=True)

    response = client.post("/account/overal-uitloggen", {}, page="/account")

    assert response.status_code == 303 and response.headers["Location"].endswith("/inloggen")
    assert not signed_in(client)
    assert not signed_in(laptop)
    login(laptop, resident)  # signing in again works
    assert signed_in(laptop)


def shift(client, key: str, seconds: int) -> None:
    """Move a session time back (as if it happened ``seconds`` earlier): no sleeping."""
    with client.raw.session_transaction() as session:
        session[key] -= seconds


MINUTE, HOUR, DAY = 60, 3600, 24 * 3600


@pytest.mark.parametrize(
    ("who", "key", "kept", "ended"),
    [
        ("resident", sessions.SEEN_AT, 13 * DAY, 15 * DAY),  # idle: 14 days
        ("resident", sessions.LOGIN_AT, 29 * DAY, 31 * DAY),  # lifetime: 30 days
        ("board", sessions.SEEN_AT, 29 * MINUTE, 31 * MINUTE),  # idle: 30 minutes
        ("board", sessions.LOGIN_AT, 11 * HOUR, 13 * HOUR),  # lifetime: 12 hours
    ],
)
def test_idle_and_old_sessions_end(request, make_client, who, key, kept, ended):
    user = request.getfixturevalue(who)
    client = make_client()
    login(client, user, remember=True)
    shift(client, key, kept)
    assert signed_in(client)
    if key == sessions.LOGIN_AT:
        shift(client, key, ended - kept)
    else:
        shift(client, key, ended)  # (the GET above renewed seen_at)
    response = client.get("/account")
    assert response.status_code == 302 and "/inloggen" in response.headers["Location"]
    assert "Je bent uitgelogd" in client.get("/inloggen").get_data(as_text=True)


def test_board_members_do_not_stay_signed_in_after_the_browser_closes(client, board):
    login(client, board, remember=True)
    assert session_cookie(client).expires is None
    assert client.raw.get_cookie("remember_token", domain=DOMAIN) is None


def test_last_seen_is_written_to_the_cookie_at_most_once_a_minute(client, resident):
    login(client, resident)
    client.get("/account")  # shows (and so takes out of the session) "Je bent ingelogd"
    first = client.get("/account")
    assert first.status_code == 200 and "Set-Cookie" not in first.headers
    shift(client, sessions.SEEN_AT, 2 * MINUTE)
    with client.raw.session_transaction() as session:
        before = session[sessions.SEEN_AT]
    renewed = client.get("/account")
    assert "Set-Cookie" in renewed.headers
    with client.raw.session_transaction() as session:
        assert session[sessions.SEEN_AT] >= before + 2 * MINUTE
    assert "Set-Cookie" not in client.get("/account").headers


def test_a_visitor_without_a_session_gets_no_cookie(client, west):
    response = client.get("/")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers


def test_host_prefixed_cookies_when_cookies_are_secure(app_config, resident):
    app = create_app(
        {
            k: v
            for k, v in app_config.items()
            if k not in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE")
        }
        | {"COOKIE_SECURE": True}
    )
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    assert app.config["REMEMBER_COOKIE_NAME"] == "__Host-remember"
    app.test_client_class = IsolatedClient
    client = app.test_client()
    page = client.get("/inloggen", base_url=f"https://{DOMAIN}")
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie


def test_plain_cookie_names_for_make_run(app):
    assert app.config["SESSION_COOKIE_NAME"] == "session"
