"""The accounts blueprint and what its pages share: the session's account (``load_user``), the
limits read from the configuration, a safe ``next``, ending or going on with this browser's
session, and setting up the second factor (at sign-in and from the account page)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    render_template,
    request,
    session,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user

from ...errors import DomainError
from ...extensions import limiter, login_manager
from ...throttle import address_key
from .. import mfa, operations, queries, sessions
from ..forms import (
    SecondFactorSetupForm,
)
from ..models import User

bp = Blueprint("accounts", __name__)

login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Log in om deze pagina te zien.")
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(login_token: str) -> User | None:
    """The account of this session, if the session still holds: the login token is the
    account's current one (not logged out, no new password since) and the session is neither
    idle too long nor too old (sessions.py). Otherwise the session ends here."""
    user = queries.user_by_login_token(login_token)
    if user is not None and sessions.still_valid(user):
        return user
    sessions.forget()
    flash(_("Je bent uitgelogd. Log opnieuw in om verder te gaan."), "info")
    return None


def config_limit(key: str) -> Any:
    return lambda: current_app.config[key]


def email_key() -> str:
    return "email:" + operations.normalise_email(request.form.get("email", ""))[:254]


def safe_next(target: str | None) -> str | None:
    """Only local paths: never send someone to another site after login. A backslash or a
    control character is refused too: browsers read ``/\\evil.example`` as ``//evil.example``."""
    if not target or "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def failed(response: Any) -> bool:
    return response.status_code != 303


def sign_in_limit(
    key_func: Callable[[], str] = address_key, *, exempt_when: Callable[[], bool] | None = None
) -> Any:
    """The limit on guessing a password or a code (``RATELIMIT_LOGIN``): a POST that fails
    (anything but the 303 of success) counts, per ``key_func`` (the address by default)."""
    return limiter.limit(
        config_limit("RATELIMIT_LOGIN"),
        methods=["POST"],
        deduct_when=failed,
        key_func=key_func,
        exempt_when=exempt_when,
    )


def enrol_secret(user: User) -> str:
    """The secret being set up: made once and kept, encrypted, in the session until the app's
    first code proves it arrived (nothing is written before that: a GET writes nothing)."""
    secret = mfa.unseal(session.get(sessions.ENROL_SECRET), user.id, purpose="enrol")
    if secret is None:
        secret = mfa.new_secret()
        session[sessions.ENROL_SECRET] = mfa.seal(secret, user.id, purpose="enrol")
    return secret


def setup_status(form: SecondFactorSetupForm) -> int:
    return getattr(form, "refused_with", 422) if form.is_submitted() else 200


def setup_page(user: User, form: SecondFactorSetupForm, action: str, status: int) -> Any:
    secret = enrol_secret(user)
    uri = mfa.provisioning_uri(secret, user.email or "")
    return render_template(
        "accounts/second_factor_setup.html",
        form=form,
        action=action,
        qr=mfa.qr_svg(uri, _("QR-code voor je app")),
        secret=mfa.grouped(secret),
        required=user.needs_second_factor,
    ), status


def enable_second_factor(
    user: User, form: SecondFactorSetupForm, password: str | None
) -> list[str] | None:
    """Turn the second factor on with the session's secret; None (and the form's error) when
    the code or the password does not fit."""
    try:
        codes = operations.enable_second_factor(
            user, enrol_secret(user), form.code.data, password=password
        )
    except DomainError as error:
        form.code.errors.append(error.message)
        form.refused_with = error.status  # 422 for a wrong code, 409 when it is already on
        return None
    session.pop(sessions.ENROL_SECRET, None)
    return codes


def end_here() -> None:
    """Sign this browser out: the session emptied, and (set after emptying it, so it is not
    lost) the order to delete a remember-me cookie."""
    logout_user()
    session.clear()
    sessions.forget()


def go_on_here(user: User, *, second_factor: bool) -> None:
    """The account got a new login token (every other session ended): this browser goes on
    with it."""
    login_user(user)
    sessions.start(user, remember=session.permanent, second_factor=second_factor)
