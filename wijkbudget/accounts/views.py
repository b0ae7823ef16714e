"""Register, verify, sign in and out, reset the password, the account page, the language switch,
and the admin's page for accounts and roles."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
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
from sqlalchemy import select

from ..errors import DomainError
from ..extensions import db, limiter, login_manager, paginate
from ..forms import database_id, options
from ..neighbourhoods import queries as neighbourhood_queries
from ..neighbourhoods.models import Area, Neighbourhood
from ..permissions import admin_required, login_required, public
from . import operations, queries, sessions
from .forms import (
    ChangePasswordForm,
    DeleteAccountForm,
    EmptyForm,
    GrantRoleForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
    ResetRequestForm,
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
    user = db.session.scalar(
        select(User).where(User.login_token == login_token, User.deleted_at.is_(None))
    )
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
    """Only local paths: never send someone to another site after login."""
    if not target:
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
@limiter.limit(_limit("RATELIMIT_REGISTER"), methods=["POST"])
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


@bp.route("/inloggen", methods=["GET", "POST"])
@public
@limiter.limit(_limit("RATELIMIT_LOGIN"), methods=["POST"], deduct_when=_failed)
@limiter.limit(
    _limit("RATELIMIT_LOGIN"), methods=["POST"], deduct_when=_failed, key_func=_email_key
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
            session.clear()
            login_user(user)  # "ingelogd blijven": a lasting session cookie (sessions.py)
            sessions.start(user, remember=form.remember.data)
            session["lang"] = user.language
            flash(_("Je bent ingelogd."), "success")
            return redirect(
                _safe_next(request.args.get("next")) or url_for("neighbourhoods.home"), 303
            )
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/login.html", form=form), status


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
@limiter.limit(_limit("RATELIMIT_RESET"), methods=["POST"])
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
@limiter.limit(_limit("RATELIMIT_RESET"), methods=["POST"])
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
            user = current_user._get_current_object()
            login_user(user)
            sessions.start(user, remember=session.permanent)
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
