"""Signing in (with the second step, or setting that up when a role needs it), signing out, and a
forgotten password."""

from __future__ import annotations

from typing import Any

from flask import (
    after_this_request,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user
from limits import parse as parse_limit

from ...errors import DomainError
from ...extensions import limiter
from ...forms import CONTROL_CHARS
from ...guards import public
from ...throttle import address_key
from .. import devices, operations, queries, sessions
from ..forms import (
    EmptyForm,
    LoginForm,
    ResetPasswordForm,
    ResetRequestForm,
    SecondFactorForm,
    SecondFactorSetupForm,
)
from ..models import User
from .common import (
    bp,
    config_limit,
    email_key,
    enable_second_factor,
    end_here,
    failed,
    safe_next,
    setup_page,
    setup_status,
    sign_in_limit,
)

# --- sign in and out --------------------------------------------------------------------------


def _known_device() -> str | None:
    """This browser's nonce if the account whose address was typed signed in here before (one
    query either way: known and unknown addresses cost the same)."""
    if "login_device" not in g:
        typed = CONTROL_CHARS.sub("", request.form.get("email", "")[:1000])
        email = operations.normalise_email(typed)[:254]
        found = queries.id_and_password_hash(email)
        g.login_device = devices.known_device(
            found[0] if found else None,
            operations.password_fingerprint(found[1]) if found else None,
        )
    return g.login_device


def _device_key() -> str:
    return "device:" + (_known_device() or "none")


@bp.route("/inloggen", methods=["GET", "POST"])
@public
# Failed sign-ins are counted per address and per account, except from a browser where that
# account signed in before: that one has its own counter (devices.py). A flood of wrong
# passwords slows the attacker and new devices, not the owner at home.
@sign_in_limit(address_key, exempt_when=lambda: _known_device() is not None)
@sign_in_limit(email_key, exempt_when=lambda: _known_device() is not None)
@sign_in_limit(_device_key, exempt_when=lambda: _known_device() is None)
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("neighbourhoods.home"), 303)
    form = LoginForm()
    if form.validate_on_submit():
        user = operations.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("Het e-mailadres of het wachtwoord klopt niet."))
        else:
            remember = bool(form.remember.data)
            next_url = safe_next(request.args.get("next"))
            session.clear()
            if user.has_second_factor or user.needs_second_factor:
                sessions.wait_for_second_factor(user, remember=remember, next_url=next_url)
                if user.has_second_factor:
                    return redirect(url_for(".second_factor"), 303)
                return redirect(url_for(".second_factor_setup"), 303)
            return _signed_in(user, remember=remember, next_url=next_url)
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/login.html", form=form), status


def _sign_in(user: User, *, remember: bool, second_factor: bool) -> None:
    """This browser is now signed in as ``user`` ("ingelogd blijven": a lasting session cookie,
    for residents only; sessions.py), and is a known device of the account (devices.py)."""
    user_id, fingerprint = user.id, operations.password_fingerprint(user.password_hash)

    @after_this_request
    def known(response: Any) -> Any:
        devices.remember(response, user_id, fingerprint)
        return response

    login_user(user)
    sessions.start(user, remember=remember, second_factor=second_factor)
    session["lang"] = user.language


def _signed_in(
    user: User, *, remember: bool, next_url: str | None, second_factor: bool = False
) -> Any:
    _sign_in(user, remember=remember, second_factor=second_factor)
    flash(_("Je bent ingelogd."), "success")
    return redirect(next_url or url_for("neighbourhoods.home"), 303)


def _waiting() -> tuple[User, dict[str, Any]] | None:
    """The account whose sign-in waits for its second step, and what it waits with."""
    waiting = sessions.pending()
    if waiting is None:
        return None
    user = queries.user_by_login_token(waiting["token"])
    return (user, waiting) if user is not None else None


def _second_factor_key() -> str:
    """Wrong second-factor codes count per account (by its id: a logout or a new password of
    the owner gives the guesser no fresh count). Whoever got this far knows the password; the
    owner is told by mail, and waits too while the limit holds."""
    waiting = sessions.pending()
    return "second-factor:" + (str(waiting.get("user")) if waiting else "none")


def _warn_owner() -> None:
    """The wrong second-factor codes of one account reached their limit: whoever typed them
    knows the password. The owner gets one mail per window of the limit."""
    found = _waiting()
    if found is None:
        return
    user = found[0]
    window = parse_limit(current_app.config["RATELIMIT_SECOND_FACTOR"])
    once = type(window)(1, window.multiples)  # one per the same window
    if limiter.limiter.hit(once, "second-factor-warning", str(user.id)):
        operations.warn_of_second_factor_attempts(user)


def _start_again() -> Any:
    flash(_("Log opnieuw in. De tweede stap wachtte te lang, of de inlog was al klaar."), "info")
    session.pop(sessions.PENDING, None)
    return redirect(url_for(".login"), 303)


@bp.route("/inloggen/tweede-stap", methods=["GET", "POST"])
@public
@sign_in_limit()
@limiter.limit(
    config_limit("RATELIMIT_SECOND_FACTOR"),
    methods=["POST"],
    deduct_when=failed,
    key_func=_second_factor_key,
    on_breach=lambda _limit: _warn_owner(),
)
def second_factor() -> Any:
    """The second step of signing in: the code from the app, or a recovery code."""
    found = _waiting()
    if found is None:
        return _start_again()
    user, waiting = found
    if not user.has_second_factor:
        return redirect(url_for(".second_factor_setup"), 303)
    form = SecondFactorForm()
    if form.validate_on_submit():
        if operations.use_second_factor(user, form.code.data):
            return _signed_in(
                user, remember=waiting["remember"], next_url=waiting["next"], second_factor=True
            )
        form.code.errors.append(str(operations.WRONG_CODE))
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/second_factor.html", form=form), status


@bp.route("/inloggen/tweede-stap/instellen", methods=["GET", "POST"])
@public
@sign_in_limit()
def second_factor_setup() -> Any:
    """Signing in to an account with a role that has no second factor yet: set it up now."""
    found = _waiting()
    if found is None:
        return _start_again()
    user, waiting = found
    if user.has_second_factor:
        return redirect(url_for(".second_factor"), 303)
    form = SecondFactorSetupForm()
    if form.validate_on_submit():
        codes = enable_second_factor(user, form, password=None)  # the password of this very sign-in
        if codes is not None:
            _sign_in(user, remember=waiting["remember"], second_factor=True)
            flash(_("Je bent ingelogd."), "success")  # shown on the page after the codes
            return render_template(
                "accounts/recovery_codes.html",
                codes=codes,
                onward=waiting["next"] or url_for("neighbourhoods.home"),
            )
    action = url_for(".second_factor_setup")
    return setup_page(user, form, action, setup_status(form))


@bp.post("/uitloggen")
@public
def logout() -> Any:
    """Logging out ends every session of the account (a new login token), so a copied cookie
    stops working too; this browser's session cookie and any remember-me cookie go."""
    EmptyForm().validate_on_submit()  # CSRF is checked globally; nothing else to validate
    if current_user.is_authenticated:
        operations.end_sessions(current_user)
    end_here()
    flash(_("Je bent uitgelogd."), "info")
    return redirect(url_for("neighbourhoods.home"), 303)


# --- password reset ---------------------------------------------------------------------------


@bp.route("/wachtwoord-vergeten", methods=["GET", "POST"])
@public
@limiter.limit(config_limit("RATELIMIT_RESET"), methods=["POST"], key_func=address_key)
@limiter.limit(config_limit("RATELIMIT_RESET"), methods=["POST"], key_func=email_key)
def reset_request() -> Any:
    form = ResetRequestForm()
    if form.validate_on_submit():
        operations.request_password_reset(form.email.data)
        return render_template("accounts/reset_sent.html", email=form.email.data)
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/reset_request.html", form=form), status


@bp.route("/wachtwoord-vergeten/<token>", methods=["GET", "POST"])
@public
@limiter.limit(config_limit("RATELIMIT_RESET"), methods=["POST"], key_func=address_key)
def reset_password(token: str) -> Any:
    try:
        operations.user_for_reset_token(token)
    except operations.AccountError as error:
        return render_template("accounts/token_problem.html", message=error.message), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            operations.reset_password(token, form.password.data)
        except DomainError as error:
            form.password.errors.append(error.message)
        else:
            end_here()
            flash(_("Je wachtwoord is veranderd. Log in met je nieuwe wachtwoord."), "success")
            return redirect(url_for(".login"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/reset_password.html", form=form), status
