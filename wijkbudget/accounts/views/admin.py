"""The admin's pages for accounts and their roles."""

from __future__ import annotations

from typing import Any

from flask import (
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ...actions import Refusal, run_action
from ...extensions import db, paginate
from ...forms import options
from ...guards import admin_required
from ...neighbourhoods import queries as neighbourhood_queries
from ...neighbourhoods.models import Neighbourhood
from .. import operations, queries
from ..forms import (
    EmptyForm,
    GrantRoleForm,
)
from ..models import Role, RoleAssignment, User
from .common import (
    bp,
)

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

    def again(refusal: Refusal) -> Any:
        if refusal.message:
            form.role.errors.append(refusal.message)
        return _render_admin_user(user, form, refusal.status)

    def grant() -> None:
        wijk = (
            db.session.scalar(select(Neighbourhood).where(Neighbourhood.slug == form.wijk.data))
            if form.wijk.data
            else None
        )
        operations.grant_role(current_user, user, Role(form.role.data), wijk)

    return run_action(
        grant,
        form=form,
        done=_("De rol is toegekend."),
        to=url_for(".admin_user", user_id=user.id),
        again=again,
    )


@bp.post("/beheer/accounts/<int:user_id>/tweede-stap")
@admin_required
def admin_reset_second_factor(user_id: int) -> Any:
    """A lost phone and no recovery codes: the admin clears the second factor; the person sets
    it up again at the next sign-in (every session of theirs ends). In the audit log."""
    user = db.get_or_404(User, user_id)
    return run_action(
        lambda: operations.reset_second_factor(current_user, user),
        form=EmptyForm(),
        done=_(
            "De tweede stap is gewist. Bij de volgende keer inloggen stelt deze persoon "
            "hem opnieuw in."
        ),
        to=url_for(".admin_user", user_id=user.id),
    )


@bp.post("/beheer/rollen/<int:assignment_id>/intrekken")
@admin_required
def admin_revoke(assignment_id: int) -> Any:
    assignment = db.get_or_404(RoleAssignment, assignment_id)
    return run_action(
        lambda: operations.revoke_role(current_user, assignment),
        form=EmptyForm(),
        done=_("De rol is ingetrokken."),
        to=url_for(".admin_user", user_id=assignment.user_id),
    )
