"""The account page (details, password, second factor, deleting the account, logging out
everywhere) and the language switch."""

from __future__ import annotations

from typing import Any

from flask import (
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
from flask_login import current_user
from flask_wtf import FlaskForm

from ...actions import Refusal, run_action
from ...errors import DomainError
from ...extensions import db
from ...forms import options
from ...guards import login_required, public
from ...neighbourhoods.models import Area
from .. import operations, queries, sessions
from ..forms import (
    AccountSecondFactorSetupForm,
    ChangePasswordForm,
    DeleteAccountForm,
    DisableSecondFactorForm,
    EmptyForm,
    ProfileForm,
    RenewRecoveryCodesForm,
)
from ..models import User
from .common import (
    bp,
    enable_second_factor,
    end_here,
    go_on_here,
    safe_next,
    setup_page,
    setup_status,
    sign_in_limit,
)

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

    def change() -> None:
        operations.change_password(current_user, form.current.data, form.password.data)
        # this browser goes on with the new login token (every other session has ended)
        go_on_here(
            current_user._get_current_object(),
            second_factor=bool(session.get(sessions.SECOND_FACTOR)),
        )

    return run_action(
        change,
        form=form,
        done=_("Je wachtwoord is veranderd. Op andere apparaten ben je nu uitgelogd."),
        to=url_for(".account"),
        again=lambda refusal: _render_account(
            refusal.status, password_form=_noted(form, form.current, refusal)
        ),
    )


def _noted(form: FlaskForm, field: Any, refusal: Refusal) -> FlaskForm:
    """``form`` with the operation's refusal among ``field``'s errors (the form's own errors
    are on its fields already)."""
    if refusal.message:
        field.errors.append(refusal.message)
    return form


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
            end_here()
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

    def end_everywhere() -> None:
        operations.end_sessions(current_user)
        end_here()

    return run_action(
        end_everywhere,
        form=EmptyForm(),
        done=_("Je bent nu overal uitgelogd, ook hier."),
        to=url_for(".login"),
        back=url_for(".account"),
    )


@bp.route("/account/tweede-stap", methods=["GET", "POST"])
@login_required
@sign_in_limit()
def account_second_factor() -> Any:
    """A resident turns the second factor on from the account page."""
    user: User = current_user._get_current_object()
    if user.has_second_factor:
        return redirect(url_for(".account"), 303)
    form = AccountSecondFactorSetupForm()
    if form.validate_on_submit():
        codes = enable_second_factor(user, form, password=form.password.data)
        if codes is not None:
            go_on_here(user, second_factor=True)  # this session goes on; the others end
            return render_template(
                "accounts/recovery_codes.html", codes=codes, onward=url_for(".account")
            )
    action = url_for(".account_second_factor")
    return setup_page(user, form, action, setup_status(form))


@bp.post("/account/tweede-stap/herstelcodes")
@login_required
@sign_in_limit()
def renew_recovery_codes() -> Any:
    form = RenewRecoveryCodesForm(prefix="rc")
    return run_action(
        lambda: operations.renew_recovery_codes(current_user, form.code.data),
        form=form,
        # the page with the new codes (a string alone would be taken for a URL)
        to=lambda codes: (
            render_template(
                "accounts/recovery_codes.html", codes=codes, onward=url_for(".account")
            ),
            200,
        ),
        again=lambda refusal: _render_account(
            refusal.status, renew_form=_noted(form, form.code, refusal)
        ),
    )


@bp.post("/account/tweede-stap/uitzetten")
@login_required
@sign_in_limit()
def disable_second_factor() -> Any:
    form = DisableSecondFactorForm(prefix="off")
    if form.validate_on_submit():
        try:
            operations.disable_second_factor(current_user, form.password.data, form.code.data)
        except DomainError as error:
            form.code.errors.append(error.message)
        else:
            go_on_here(current_user._get_current_object(), second_factor=False)
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
    return redirect(safe_next(request.form.get("next")) or url_for("neighbourhoods.home"), 303)


@bp.get("/taal/<lang>")
@public
def language_link(lang: str) -> Any:
    """The language link for visitors who are not logged in: a link, not a form, so public
    pages carry no form token and can come from the page cache. It only sets this browser's
    language (an account's language changes through the form above)."""
    if lang not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = lang
    return redirect(safe_next(request.args.get("next")) or url_for("neighbourhoods.home"), 303)
