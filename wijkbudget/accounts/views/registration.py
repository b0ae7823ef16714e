"""Registering an account and confirming its e-mail address."""

from __future__ import annotations

from typing import Any

from flask import (
    flash,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from ...errors import DomainError
from ...extensions import db, limiter
from ...forms import database_id
from ...guards import login_required, public
from ...neighbourhoods import queries as neighbourhood_queries
from ...neighbourhoods.models import Area, Neighbourhood
from ...throttle import address_key
from .. import operations, queries
from ..forms import (
    EmptyForm,
    RegisterForm,
    ResendConfirmationForm,
)
from .common import (
    bp,
    config_limit,
    email_key,
)

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


def _registered(response: Any) -> bool:
    """Only an account made (the 303 to "kijk in je mail") counts towards RATELIMIT_REGISTER: a
    typo in the form is no registration, so four typos on a shared connection (a library, a
    community centre) do not block the next person."""
    return bool(response.status_code == 303)


def _tries_key() -> str:
    return "register-tries:" + address_key()


@bp.route("/registreren", methods=["GET", "POST"])
@public
@limiter.limit(
    config_limit("RATELIMIT_REGISTER"),
    methods=["POST"],
    key_func=address_key,
    deduct_when=_registered,
)
@limiter.limit(config_limit("RATELIMIT_REGISTER_TRIES"), methods=["POST"], key_func=_tries_key)
def register() -> Any:
    """Register. Two limits per address: RATELIMIT_REGISTER counts accounts made (successes),
    RATELIMIT_REGISTER_TRIES every submission, so trying is not an open door either."""
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


@bp.route("/bevestigingsmail-opnieuw", methods=["GET", "POST"])
@public
@limiter.limit(config_limit("RATELIMIT_RESEND"), methods=["POST"], key_func=address_key)
@limiter.limit(config_limit("RATELIMIT_RESEND"), methods=["POST"], key_func=email_key)
def resend_confirmation() -> Any:
    """ "Stuur de bevestigingsmail opnieuw" without signing in: the same answer whether the
    address has an account, is confirmed already, or is unknown (operations.resend_confirmation
    sends one mail in each case). Limited per address and per e-mail address."""
    form = ResendConfirmationForm()
    if form.validate_on_submit():
        operations.resend_confirmation(form.email.data)
        return render_template("accounts/resend_sent.html", email=form.email.data)
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/resend_confirmation.html", form=form), status
