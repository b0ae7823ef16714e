"""The second factor (issue 18.4): TOTP with recovery codes, required for accounts with a role,
optional for residents; codes work once; rate-limited per account and per address."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from tests.concurrency import assert_no_server_errors, postgres_only, race, repeat, statuses
from tests.conftest import PASSWORD, enrol_second_factor, mail_body, second_factor_code
from wijkbudget.accounts import mfa, sessions
from wijkbudget.accounts.models import RecoveryCode, Role, RoleAssignment, User
from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db

STEP = "/inloggen/tweede-stap"
SETUP = "/inloggen/tweede-stap/instellen"


def password_step(client, email, **extra):
    data = {"email": email, "password": PASSWORD, **extra}
    response = client.post("/inloggen", data, page="/inloggen")
    assert response.status_code == 303
    return response.headers["Location"]


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def secret_of(email: str) -> str:
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == email))
    secret = mfa.unseal(user.totp_secret, user.id)
    assert secret is not None
    return secret


def test_board_signs_in_with_password_and_code(client, board):
    assert password_step(client, board.email).endswith(STEP)
    assert not signed_in(client)  # the password alone signs nobody in
    page = client.get(STEP)
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.get_data(True)

    wrong = client.post(STEP, {"code": "000000"}, page=STEP)
    assert wrong.status_code == 422
    assert "Deze code klopt niet" in wrong.get_data(as_text=True)
    assert not signed_in(client)

    right = client.post(STEP, {"code": second_factor_code(board.email)}, page=STEP)
    assert right.status_code == 303
    assert signed_in(client)


def test_a_code_works_once(client, make_client, board):
    code = pyotp.TOTP(secret_of(board.email)).now()
    password_step(client, board.email)
    assert client.post(STEP, {"code": code}, page=STEP).status_code == 303
    # the same code, read over the shoulder and typed in elsewhere a moment later
    other = make_client()
    password_step(other, board.email)
    replay = other.post(STEP, {"code": code}, page=STEP)
    assert replay.status_code == 422 and not signed_in(other)


@pytest.mark.parametrize(
    "typed",
    ["１２３４５６", "¹²³⁴⁵⁶", "١٢٣٤٥٦", "12345\x00", "9" * 40, "' OR 1=1 --", "\u202e123456"],
)
def test_odd_codes_are_refused_plainly(client, board, typed):
    password_step(client, board.email)
    response = client.post(STEP, {"code": typed}, page=STEP)
    assert response.status_code == 422
    assert not signed_in(client)


def test_a_role_without_second_factor_sets_it_up_at_sign_in(client, west, make_user):
    user = make_user("anna@example.org", wijk=west)
    db.session.add(RoleAssignment(user=user, role=Role.COUNCILLOR, neighbourhood=west))
    db.session.commit()
    assert password_step(client, user.email).endswith(SETUP)
    assert not signed_in(client)
    page = client.get(SETUP).get_data(as_text=True)
    assert "<svg" in page and "QR-code voor je app" in page  # the QR code, inline, titled
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page).group(1)
    assert client.get(SETUP).get_data(as_text=True).count(secret) >= 1  # the same secret again
    assert client.get(STEP).status_code == 303  # nothing to check yet: back to set-up

    assert client.post(SETUP, {"code": "123456"}, page=SETUP).status_code == 422
    done = client.post(SETUP, {"code": pyotp.TOTP(secret).now()}, page=SETUP)
    assert done.status_code == 200 and signed_in(client)
    shown = re.findall(r"<code>([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{2})</code>", done.get_data(True))
    assert len(shown) == mfa.RECOVERY_CODES == len(set(shown))
    assert "no-store" in done.headers["Cache-Control"]

    # what a database reader sees: neither the secret nor a recovery code
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.has_second_factor and secret not in (user.totp_secret or "")
    stored = db.session.scalars(
        select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)
    ).all()
    assert len(stored) == 10
    assert not any(c.replace("-", "") in h or c in h for c in shown for h in stored)
    # a secret copied to another account's row does not open there
    assert mfa.unseal(user.totp_secret, user.id + 1) is None


def test_a_recovery_code_works_once(client, make_client, board):
    client.login(board.email)
    page = client.post(
        "/account/tweede-stap/herstelcodes",
        {"rc-code": second_factor_code(board.email)},
        page="/account",
    )
    assert page.status_code == 200
    codes = re.findall(r"<code>([A-Z2-9-]{12})</code>", page.get_data(as_text=True))
    assert len(codes) == 10

    other = make_client()
    password_step(other, board.email)
    assert other.post(STEP, {"code": codes[0].lower()}, page=STEP).status_code == 303
    third = make_client()
    password_step(third, board.email)
    assert third.post(STEP, {"code": codes[0]}, page=STEP).status_code == 422
    assert third.post(STEP, {"code": codes[1].replace("-", " ")}, page=STEP).status_code == 303
    assert "8 herstelcodes over" in other.get("/account").get_data(as_text=True)


def test_residents_choose_and_staff_cannot_turn_it_off(client, make_client, west, make_user, board):
    resident = make_user("fatima@example.org", wijk=west)
    client.login(resident.email)  # no second step
    assert signed_in(client)
    page = client.get("/account/tweede-stap").get_data(as_text=True)
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page).group(1)
    code = pyotp.TOTP(secret).now()
    without = client.post("/account/tweede-stap", {"code": code}, page="/account/tweede-stap")
    assert without.status_code == 422  # a session alone does not tie the account to a phone
    wrong = {"code": code, "password": "niet-mijn-wachtwoord"}
    assert (
        client.post("/account/tweede-stap", wrong, page="/account/tweede-stap").status_code == 422
    )
    on = client.post(
        "/account/tweede-stap", {"code": code, "password": PASSWORD}, page="/account/tweede-stap"
    )
    assert on.status_code == 200 and signed_in(client)  # this session goes on
    assert password_step(make_client(), resident.email).endswith(STEP)

    off = client.post(
        "/account/tweede-stap/uitzetten",
        {"off-password": PASSWORD, "off-code": second_factor_code(resident.email)},
        page="/account",
    )
    assert off.status_code == 303
    assert not password_step(make_client(), resident.email).endswith(STEP)

    staff = make_client()
    staff.login(board.email)
    refused = staff.post(
        "/account/tweede-stap/uitzetten",
        {"off-password": PASSWORD, "off-code": second_factor_code(board.email)},
        page="/account",
    )
    assert refused.status_code == 422 and "verplicht" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, board.id).has_second_factor


def test_a_role_granted_ends_a_session_without_the_second_step(client, west, make_user):
    user = make_user("piet@example.org", wijk=west)
    client.login(user.email)
    assert signed_in(client)
    db.session.add(RoleAssignment(user=user, role=Role.BOARD, neighbourhood=west))
    db.session.commit()
    assert not signed_in(client)
    assert password_step(client, user.email).endswith(SETUP)


def test_the_second_step_waits_ten_minutes(client, board):
    password_step(client, board.email)
    with client.raw.session_transaction() as session:
        waiting = dict(session[sessions.PENDING])
        waiting["at"] -= sessions.PENDING_SECONDS + 1
        session[sessions.PENDING] = waiting
    response = client.post(STEP, {"code": second_factor_code(board.email)}, page="/inloggen")
    assert response.status_code == 303 and response.headers["Location"].endswith("/inloggen")
    assert not signed_in(client)


def test_wrong_codes_are_limited_per_account_and_the_owner_is_told(
    app, client, make_client, board, inbox
):
    app.config["RATELIMIT_SECOND_FACTOR"] = "3 per 15 minutes"
    for _ in range(3):
        attacker = make_client()  # a fresh address each time does not help
        password_step(attacker, board.email)
        assert attacker.post(STEP, {"code": "111111"}, page=STEP).status_code == 422
    password_step(attacker, board.email)
    refused = attacker.post(STEP, {"code": "111111"}, page=STEP)
    assert refused.status_code == 429
    assert "kwartier" in refused.get_data(as_text=True) or "minuten" in refused.get_data(True)
    warning = inbox.last_to(board.email)
    assert "wachtwoord" in mail_body(warning) and "/wachtwoord-vergeten" in mail_body(warning)
    attacker.post(STEP, {"code": "111111"}, page=STEP)
    assert len([m for m in inbox.to(board.email) if "probeerde" in m["Subject"]]) == 1


def test_admin_clears_a_lost_second_factor(client, make_client, west, make_user, board):
    admin = make_user("beheer@example.org", roles=((Role.ADMIN, None),))
    victim = make_client()
    victim.login(board.email)
    client.login(admin.email)
    url = f"/beheer/accounts/{board.id}/tweede-stap"
    assert client.post(url, page=f"/beheer/accounts/{board.id}").status_code == 303
    db.session.expire_all()
    cleared = db.session.get(User, board.id)
    assert not cleared.has_second_factor and cleared.totp_secret is None
    assert (
        db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == board.id)).all() == []
    )
    assert not signed_in(victim)  # every session ended
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "account.second_factor_reset")
    )
    assert event is not None and event.actor_id == admin.id and event.object_id == board.id
    assert password_step(make_client(), board.email).endswith(SETUP)
    assert (
        client.post(url, page=f"/beheer/accounts/{board.id}").status_code == 303
    )  # flash: 409 msg


def test_the_owner_is_mailed_when_the_second_factor_changes_and_no_admin_clears_their_own(
    client, make_client, west, make_user, inbox
):
    resident = make_user("fatima@example.org", wijk=west)
    client.login(resident.email)
    page = client.get("/account/tweede-stap").get_data(as_text=True)
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page).group(1)
    data = {"code": pyotp.TOTP(secret).now(), "password": PASSWORD}
    assert client.post("/account/tweede-stap", data, page="/account/tweede-stap").status_code == 200
    assert "aangezet" in mail_body(inbox.last_to(resident.email))

    admin = make_user("beheer@example.org", roles=((Role.ADMIN, None),))
    other_admin = make_user("beheer2@example.org", roles=((Role.ADMIN, None),))
    me = make_client()
    me.login(admin.email)
    own = f"/beheer/accounts/{admin.id}"
    assert me.post(f"{own}/tweede-stap", page=own).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, admin.id).has_second_factor  # refused: ask another admin
    theirs = f"/beheer/accounts/{resident.id}"
    assert me.post(f"{theirs}/tweede-stap", page=theirs).status_code == 303
    assert "gewist" in mail_body(inbox.last_to(resident.email))
    assert other_admin.id != admin.id


# --- at the same moment (PostgreSQL) --------------------------------------------------------


def _recovery_code(email: str) -> str:
    user = db.session.scalar(select(User).where(User.email == email))
    codes = mfa.new_recovery_codes()
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=h) for h in codes.hashes)
    db.session.commit()
    return codes.shown[0]


@postgres_only
@pytest.mark.parametrize(
    "make_code", [second_factor_code, _recovery_code], ids=["app code", "recovery code"]
)
def test_one_code_sent_four_times_at_once_works_once(make_client, west, make_user, make_code):
    for attempt in repeat():
        email = f"bestuur{attempt}@example.org"
        make_user(email, wijk=west, roles=((Role.BOARD, west),))
        code = make_code(email)

        def contender(_i: int, email=email, code=code):
            client = make_client()
            password_step(client, email)
            token = client.csrf(STEP)
            return lambda: client.raw.post(STEP, data={"code": code, "csrf_token": token})

        responses = race(4, contender)
        assert_no_server_errors(responses)
        assert sorted(statuses(responses)) == [303, 422, 422, 422]


@postgres_only
def test_two_tabs_enrolling_at_once_turn_it_on_once(make_client, west, make_user):
    for attempt in repeat():
        user = make_user(f"enrol{attempt}@example.org", wijk=west)
        secret = mfa.new_secret()

        def contender(_i: int, user=user, secret=secret):
            client = make_client()
            client.login(user.email)
            client.get("/account/tweede-stap")
            with client.raw.session_transaction() as session:  # both tabs hold one secret
                session[sessions.ENROL_SECRET] = mfa_seal(secret, user.id)
            token = client.csrf("/account/tweede-stap")
            code = pyotp.TOTP(secret).now()
            return lambda: client.raw.post(
                "/account/tweede-stap",
                data={"code": code, "password": PASSWORD, "csrf_token": token},
            )

        responses = race(2, contender)
        assert_no_server_errors(responses)
        assert sorted(statuses(responses)) == [200, 409]
        assert (
            len(
                db.session.scalars(
                    select(RecoveryCode).where(RecoveryCode.user_id == user.id)
                ).all()
            )
            == 10
        )


def mfa_seal(secret: str, user_id: int) -> str:
    return mfa.seal(secret, user_id, purpose="enrol")


def test_enrol_second_factor_helper_matches_the_app(app, west, make_user):
    """The tests' own enrolment writes what the set-up page writes (so the other tests mean it)."""
    user = make_user("x@example.org", wijk=west)
    secret = enrol_second_factor(user)
    assert mfa.unseal(user.totp_secret, user.id) == secret and user.has_second_factor
