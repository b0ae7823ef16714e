"""Register, verify, sign in and out, reset the password, the account page, the language switch,
and the admin's page for accounts and roles."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
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
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from limits import parse as parse_limit
from sqlalchemy import select

from ..errors import DomainError
from ..extensions import db, limiter, login_manager, paginate
from ..forms import CONTROL_CHARS, database_id, options
from ..guards import admin_required, login_required, public
from ..neighbourhoods import queries as neighbourhood_queries
from ..neighbourhoods.models import Area, Neighbourhood
from ..throttle import address_key
from . import devices, mfa, operations, queries, sessions
from .forms import (
    AccountSecondFactorSetupForm,
    ChangePasswordForm,
    DeleteAccountForm,
    DisableSecondFactorForm,
    EmptyForm,
    GrantRoleForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    RenewRecoveryCodesForm,
    ResetPasswordForm,
    ResetRequestForm,
    SecondFactorForm,
    SecondFactorSetupForm,
)
from .models import Role, RoleAssignment, User

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


def _limit(key: str) -> Any:
    return lambda: current_app.config[key]


def _email_key() -> str:
    return "email:" + operations.normalise_email(request.form.get("email", ""))[:254]


def _safe_next(target: str | None) -> str | None:
    """Only local paths: never send someone to another site after login. A backslash or a
    control character is refused too: browsers read ``/\\evil.example`` as ``//evil.example``."""
    if not target or "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


# --- register and verify ----------------------------------------------------------------------


def _register_form() -> RegisterForm:
    wijken = neighbourhood_queries.all_neighbourhoods_with_areas()
    places = neighbourhood_queries.registration_places(wijken, _("Andere buurt / weet ik niet"))
    return RegisterForm(places=places)


def _resolve_place(value: str) -> tuple[Neighbourhood | None, Area | None]:
    kind, place_id = value[:1], database_id(value[1:])
    if place_id is None:
        return None, None
    if kind == "a":
        area = db.session.get(Area, place_id)
        return (area.neighbourhood, area) if area else (None, None)
    if kind == "w":
        return db.session.get(Neighbourhood, place_id), None
    return None, None


@bp.route("/registreren", methods=["GET", "POST"])
@public
@limiter.limit(_limit("RATELIMIT_REGISTER"), methods=["POST"], key_func=address_key)
def register() -> Any:
    form = _register_form()
    if form.validate_on_submit():
        wijk, area = _resolve_place(form.place.data)
        if wijk is None:
            form.place.errors.append(_("Kies je wijk en buurt."))
        elif not wijk.covers(form.postcode.data):
            other = queries.neighbourhood_for_postcode(form.postcode.data)
            message = _(
                "Postcode %(pc)s hoort niet bij wijk %(wijk)s.",
                pc=form.postcode.data,
                wijk=wijk.name,
            )
            if other is not None:
                message += " " + _("Deze postcode hoort bij wijk %(wijk)s.", wijk=other.name)
            form.postcode.errors.append(message)
        else:
            try:
                operations.register(
                    email=form.email.data,
                    password=form.password.data,
                    display_name=form.display_name.data,
                    neighbourhood=wijk,
                    area=area,
                    postcode=form.postcode.data,
                    birth_year=form.birth_year.data,
                    language=form.language.data,
                )
            except DomainError as error:
                form.password.errors.append(error.message)
            else:
                session["registered_email"] = operations.normalise_email(form.email.data)
                return redirect(url_for(".registered"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/register.html", form=form), status


@bp.get("/registreren/verstuurd")
@public
def registered() -> str:
    return render_template("accounts/registered.html", email=session.get("registered_email"))


@bp.route("/bevestigen/<token>", methods=["GET", "POST"])
@public
def verify(token: str) -> Any:
    """The link in the mail opens a page with one button: opening a page writes nothing (and
    a mail scanner that opens every link confirms nobody's address); the button does."""
    try:
        user = operations.user_for_verify_token(token)
    except operations.AccountError as error:
        return render_template("accounts/token_problem.html", message=error.message), 400
    form = EmptyForm()
    if not form.validate_on_submit():
        return render_template("accounts/verify.html", form=form, email=user.email), (
            422 if form.is_submitted() else 200
        )
    try:
        user = operations.verify_email(token)
    except DomainError as error:
        return render_template("accounts/token_problem.html", message=error.message), 400
    flash(_("Je e-mailadres is bevestigd. Welkom bij wijkbudget!"), "success")
    if current_user.is_authenticated and current_user.id == user.id:
        return redirect(url_for(".account"), 303)
    return redirect(url_for(".login"), 303)


@bp.post("/bevestigen/opnieuw")
@login_required
@limiter.limit("3 per hour", methods=["POST"])
def resend_verification() -> Any:
    EmptyForm().validate_on_submit()
    if not current_user.is_verified:
        operations.send_verification(current_user)
    flash(_("We hebben de link opnieuw gestuurd naar %(email)s.", email=current_user.email), "info")
    return redirect(url_for(".account"), 303)


# --- sign in and out --------------------------------------------------------------------------


def _failed(response: Any) -> bool:
    return response.status_code != 303


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
@limiter.limit(
    _limit("RATELIMIT_LOGIN"),
    methods=["POST"],
    deduct_when=_failed,
    key_func=address_key,
    exempt_when=lambda: _known_device() is not None,
)
@limiter.limit(
    _limit("RATELIMIT_LOGIN"),
    methods=["POST"],
    deduct_when=_failed,
    key_func=_email_key,
    exempt_when=lambda: _known_device() is not None,
)
@limiter.limit(
    _limit("RATELIMIT_LOGIN"),
    methods=["POST"],
    deduct_when=_failed,
    key_func=_device_key,
    exempt_when=lambda: _known_device() is None,
)
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
            next_url = _safe_next(request.args.get("next"))
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
@limiter.limit(
    _limit("RATELIMIT_LOGIN"), methods=["POST"], deduct_when=_failed, key_func=address_key
)
@limiter.limit(
    _limit("RATELIMIT_SECOND_FACTOR"),
    methods=["POST"],
    deduct_when=_failed,
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


def _enrol_secret(user: User) -> str:
    """The secret being set up: made once and kept, encrypted, in the session until the app's
    first code proves it arrived (nothing is written before that: a GET writes nothing)."""
    secret = mfa.unseal(session.get(sessions.ENROL_SECRET), user.id, purpose="enrol")
    if secret is None:
        secret = mfa.new_secret()
        session[sessions.ENROL_SECRET] = mfa.seal(secret, user.id, purpose="enrol")
    return secret


def _status(form: SecondFactorSetupForm) -> int:
    return getattr(form, "refused_with", 422) if form.is_submitted() else 200


def _setup_page(user: User, form: SecondFactorSetupForm, action: str, status: int) -> Any:
    secret = _enrol_secret(user)
    uri = mfa.provisioning_uri(secret, user.email or "")
    return render_template(
        "accounts/second_factor_setup.html",
        form=form,
        action=action,
        qr=mfa.qr_svg(uri, _("QR-code voor je app")),
        secret=mfa.grouped(secret),
        required=user.needs_second_factor,
    ), status


def _enable(user: User, form: SecondFactorSetupForm, password: str | None) -> list[str] | None:
    """Turn the second factor on with the session's secret; None (and the form's error) when
    the code or the password does not fit."""
    try:
        codes = operations.enable_second_factor(
            user, _enrol_secret(user), form.code.data, password=password
        )
    except DomainError as error:
        form.code.errors.append(error.message)
        form.refused_with = error.status  # 422 for a wrong code, 409 when it is already on
        return None
    session.pop(sessions.ENROL_SECRET, None)
    return codes


@bp.route("/inloggen/tweede-stap/instellen", methods=["GET", "POST"])
@public
@limiter.limit(
    _limit("RATELIMIT_LOGIN"), methods=["POST"], deduct_when=_failed, key_func=address_key
)
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
        codes = _enable(user, form, password=None)  # the password of this very sign-in
        if codes is not None:
            _sign_in(user, remember=waiting["remember"], second_factor=True)
            flash(_("Je bent ingelogd."), "success")  # shown on the page after the codes
            return render_template(
                "accounts/recovery_codes.html",
                codes=codes,
                onward=waiting["next"] or url_for("neighbourhoods.home"),
            )
    action = url_for(".second_factor_setup")
    return _setup_page(user, form, action, _status(form))


@bp.post("/uitloggen")
@public
def logout() -> Any:
    """Logging out ends every session of the account (a new login token), so a copied cookie
    stops working too; this browser's session cookie and any remember-me cookie go."""
    EmptyForm().validate_on_submit()  # CSRF is checked globally; nothing else to validate
    if current_user.is_authenticated:
        operations.end_sessions(current_user)
    _end_here()
    flash(_("Je bent uitgelogd."), "info")
    return redirect(url_for("neighbourhoods.home"), 303)


def _end_here() -> None:
    """Sign this browser out: the session emptied, and (set after emptying it, so it is not
    lost) the order to delete a remember-me cookie."""
    logout_user()
    session.clear()
    sessions.forget()


# --- password reset ---------------------------------------------------------------------------


@bp.route("/wachtwoord-vergeten", methods=["GET", "POST"])
@public
@limiter.limit(_limit("RATELIMIT_RESET"), methods=["POST"], key_func=address_key)
@limiter.limit(_limit("RATELIMIT_RESET"), methods=["POST"], key_func=_email_key)
def reset_request() -> Any:
    form = ResetRequestForm()
    if form.validate_on_submit():
        operations.request_password_reset(form.email.data)
        return render_template("accounts/reset_sent.html", email=form.email.data)
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/reset_request.html", form=form), status


@bp.route("/wachtwoord-vergeten/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_limit("RATELIMIT_RESET"), methods=["POST"], key_func=address_key)
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
            _end_here()
            flash(_("Je wachtwoord is veranderd. Log in met je nieuwe wachtwoord."), "success")
            return redirect(url_for(".login"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/reset_password.html", form=form), status


# --- the account page -------------------------------------------------------------------------


def _profile_form(formdata: Any = None) -> ProfileForm:
    user: User = current_user
    form = ProfileForm(
        prefix="profile",
        formdata=formdata,
        data={
            "display_name": user.display_name,
            "language": user.language,
            "area": str(user.area_id or ""),
            "work_postcode": user.work_postcode or "",
        },
    )
    areas = user.neighbourhood.areas if user.neighbourhood else []
    form.area.choices = options(
        [("", _("Weet ik niet / andere buurt"))] + [(str(a.id), a.name) for a in areas]
    )
    return form


def _render_account(status: int = 200, **forms: FlaskForm) -> Any:
    context = {
        "profile_form": forms.get("profile_form") or _profile_form(),
        "password_form": forms.get("password_form")
        or ChangePasswordForm(prefix="pw", formdata=None),
        "delete_form": forms.get("delete_form") or DeleteAccountForm(prefix="del", formdata=None),
        "resend_form": EmptyForm(),
        "renew_form": forms.get("renew_form") or RenewRecoveryCodesForm(prefix="rc", formdata=None),
        "disable_form": forms.get("disable_form")
        or DisableSecondFactorForm(prefix="off", formdata=None),
        "codes_left": queries.recovery_codes_left(current_user)
        if current_user.has_second_factor
        else 0,
    }
    return render_template("accounts/account.html", **context), status


@bp.get("/account")
@login_required
def account() -> Any:
    return _render_account()


@bp.post("/account/gegevens")
@login_required
def update_profile() -> Any:
    form = _profile_form(formdata=request.form)
    if form.validate_on_submit():
        area = db.session.get(Area, int(form.area.data)) if form.area.data else None
        try:
            operations.update_profile(
                current_user,
                display_name=form.display_name.data,
                language=form.language.data,
                area=area,
                work_postcode=form.work_postcode.data or "",
            )
        except operations.WorkPostcodeError as error:
            form.work_postcode.errors.append(error.message)
        except DomainError as error:
            form.area.errors.append(error.message)
        else:
            session["lang"] = current_user.language
            flash(_("Je gegevens zijn opgeslagen."), "success")
            return redirect(url_for(".account"), 303)
    return _render_account(422, profile_form=form)


@bp.post("/account/wachtwoord")
@login_required
def change_password() -> Any:
    form = ChangePasswordForm(prefix="pw")
    if form.validate_on_submit():
        try:
            operations.change_password(current_user, form.current.data, form.password.data)
        except DomainError as error:
            form.current.errors.append(error.message)
        else:
            # this browser goes on with the new login token (every other session has ended)
            _go_on_here(
                current_user._get_current_object(),
                second_factor=bool(session.get(sessions.SECOND_FACTOR)),
            )
            flash(
                _("Je wachtwoord is veranderd. Op andere apparaten ben je nu uitgelogd."), "success"
            )
            return redirect(url_for(".account"), 303)
    return _render_account(422, password_form=form)


@bp.post("/account/verwijderen")
@login_required
def delete_account() -> Any:
    form = DeleteAccountForm(prefix="del")
    if form.validate_on_submit():
        try:
            operations.delete_account(current_user, form.password.data)
        except DomainError as error:
            form.password.errors.append(error.message)
        else:
            _end_here()
            flash(
                _("Je account is verwijderd. Wat je schreef blijft staan als 'oud-bewoner'."),
                "info",
            )
            return redirect(url_for("neighbourhoods.home"), 303)
    return _render_account(422, delete_form=form)


@bp.post("/account/overal-uitloggen")
@login_required
def end_all_sessions() -> Any:
    """Log out everywhere ("Overal uitloggen"): every session of the account ends, here too."""
    if not EmptyForm().validate_on_submit():
        return redirect(url_for(".account"), 303)
    operations.end_sessions(current_user)
    _end_here()
    flash(_("Je bent nu overal uitgelogd, ook hier."), "success")
    return redirect(url_for(".login"), 303)


def _go_on_here(user: User, *, second_factor: bool) -> None:
    """The account got a new login token (every other session ended): this browser goes on
    with it."""
    login_user(user)
    sessions.start(user, remember=session.permanent, second_factor=second_factor)


@bp.route("/account/tweede-stap", methods=["GET", "POST"])
@login_required
@limiter.limit(
    _limit("RATELIMIT_LOGIN"), methods=["POST"], deduct_when=_failed, key_func=address_key
)
def account_second_factor() -> Any:
    """A resident turns the second factor on from the account page."""
    user: User = current_user._get_current_object()
    if user.has_second_factor:
        return redirect(url_for(".account"), 303)
    form = AccountSecondFactorSetupForm()
    if form.validate_on_submit():
        codes = _enable(user, form, password=form.password.data)
        if codes is not None:
            _go_on_here(user, second_factor=True)  # this session goes on; the others end
            return render_template(
                "accounts/recovery_codes.html", codes=codes, onward=url_for(".account")
            )
    action = url_for(".account_second_factor")
    return _setup_page(user, form, action, _status(form))


@bp.post("/account/tweede-stap/herstelcodes")
@login_required
@limiter.limit(
    _limit("RATELIMIT_LOGIN"), methods=["POST"], deduct_when=_failed, key_func=address_key
)
def renew_recovery_codes() -> Any:
    form = RenewRecoveryCodesForm(prefix="rc")
    if form.validate_on_submit():
        try:
            codes = operations.renew_recovery_codes(current_user, form.code.data)
        except DomainError as error:
            form.code.errors.append(error.message)
        else:
            return render_template(
                "accounts/recovery_codes.html", codes=codes, onward=url_for(".account")
            )
    return _render_account(422, renew_form=form)


@bp.post("/account/tweede-stap/uitzetten")
@login_required
@limiter.limit(
    _limit("RATELIMIT_LOGIN"), methods=["POST"], deduct_when=_failed, key_func=address_key
)
def disable_second_factor() -> Any:
    form = DisableSecondFactorForm(prefix="off")
    if form.validate_on_submit():
        try:
            operations.disable_second_factor(current_user, form.password.data, form.code.data)
        except DomainError as error:
            form.code.errors.append(error.message)
        else:
            _go_on_here(current_user._get_current_object(), second_factor=False)
            flash(_("De tweede stap staat uit. Je logt weer in met alleen je wachtwoord."), "info")
            return redirect(url_for(".account"), 303)
    return _render_account(422, disable_form=form)


# --- language ---------------------------------------------------------------------------------


@bp.post("/taal")
@public
def set_language() -> Any:
    EmptyForm().validate_on_submit()
    language = request.form.get("lang", "")
    if language in current_app.config["LANGUAGES"]:
        session["lang"] = language
        if current_user.is_authenticated:
            operations.set_language(current_user, language)
    return redirect(_safe_next(request.form.get("next")) or url_for("neighbourhoods.home"), 303)


@bp.get("/taal/<lang>")
@public
def language_link(lang: str) -> Any:
    """The language link for visitors who are not logged in: a link, not a form, so public
    pages carry no form token and can come from the page cache. It only sets this browser's
    language (an account's language changes through the form above)."""
    if lang not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = lang
    return redirect(_safe_next(request.args.get("next")) or url_for("neighbourhoods.home"), 303)


# --- admin: accounts and roles ----------------------------------------------------------------


def _grant_form(formdata: Any = None) -> GrantRoleForm:
    form = GrantRoleForm(formdata=formdata)
    form.wijk.choices = options(
        [("", _("Geen / alle wijken"))]
        + [(w.slug, w.name) for w in neighbourhood_queries.all_neighbourhoods_with_areas()]
    )
    return form


@bp.get("/beheer/accounts")
@admin_required
def admin_users() -> str:
    search = request.args.get("q", "").strip()[:100]
    page = paginate(queries.users_listing(search))
    return render_template("accounts/admin_users.html", page=page, search=search)


def _render_admin_user(user: User, form: GrantRoleForm, status: int = 200) -> Any:
    return render_template(
        "accounts/admin_user.html", user=user, form=form, revoke_form=EmptyForm()
    ), status


@bp.get("/beheer/accounts/<int:user_id>")
@admin_required
def admin_user(user_id: int) -> Any:
    return _render_admin_user(db.get_or_404(User, user_id), _grant_form())


@bp.post("/beheer/accounts/<int:user_id>/rollen")
@admin_required
def admin_grant(user_id: int) -> Any:
    user = db.get_or_404(User, user_id)
    form = _grant_form(request.form)
    if form.validate_on_submit():
        wijk = (
            db.session.scalar(select(Neighbourhood).where(Neighbourhood.slug == form.wijk.data))
            if form.wijk.data
            else None
        )
        try:
            operations.grant_role(current_user, user, Role(form.role.data), wijk)
        except DomainError as error:
            form.role.errors.append(error.message)
            return _render_admin_user(user, form, error.status)
        flash(_("De rol is toegekend."), "success")
        return redirect(url_for(".admin_user", user_id=user.id), 303)
    return _render_admin_user(user, form, 422)


@bp.post("/beheer/accounts/<int:user_id>/tweede-stap")
@admin_required
def admin_reset_second_factor(user_id: int) -> Any:
    """A lost phone and no recovery codes: the admin clears the second factor; the person sets
    it up again at the next sign-in (every session of theirs ends). In the audit log."""
    user = db.get_or_404(User, user_id)
    if EmptyForm().validate_on_submit():
        try:
            operations.reset_second_factor(current_user, user)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(
                _(
                    "De tweede stap is gewist. Bij de volgende keer inloggen stelt deze persoon "
                    "hem opnieuw in."
                ),
                "success",
            )
    return redirect(url_for(".admin_user", user_id=user.id), 303)


@bp.post("/beheer/rollen/<int:assignment_id>/intrekken")
@admin_required
def admin_revoke(assignment_id: int) -> Any:
    assignment = db.get_or_404(RoleAssignment, assignment_id)
    user_id = assignment.user_id
    if EmptyForm().validate_on_submit():
        try:
            operations.revoke_role(current_user, assignment)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(_("De rol is ingetrokken."), "success")
    return redirect(url_for(".admin_user", user_id=user_id), 303)
