"""Notification pages: follow a proposal or a funded project (a button; htmx swaps it in place),
the mail settings at /account/mail, one-click unsubscribe without login (a GET shows the
button, the POST — also a mail client's RFC 8058 one-click POST — unsubscribes), and the Atom
feed of a wijk."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..actions import Refusal, run_action
from ..extensions import csrf
from ..forms import EmptyForm
from ..guards import login_required, public
from ..htmx import is_htmx
from ..loaders import wijk_or_404
from ..proposals import queries as proposal_queries
from ..proposals.models import Proposal
from ..spending import queries as spending_queries
from ..urls import external_url, public_url
from . import operations, queries
from .forms import NotificationSettingsForm
from .models import KIND_LABELS, Kind

bp = Blueprint("notifications", __name__)


@bp.app_context_processor
def _follow_helpers() -> dict[str, Any]:
    """``follows(proposal_id)`` for the follow button on the proposal and project pages."""

    def follows(proposal_id: int) -> bool:
        user = current_user
        return bool(user.is_authenticated) and queries.follows(user.id, proposal_id)

    return {"follows": follows}


# --- follow -------------------------------------------------------------------------------------


def _visible_proposal(proposal_id: int) -> Proposal:
    proposal = proposal_queries.load_proposal(proposal_id)
    if proposal is None or not proposal.can_view(current_user) or not proposal.is_public:
        abort(404)
    return proposal


def _follow(proposal: Proposal, page: str, project_id: int | None = None) -> Any:
    """Follow (``want=1``, also when the form says nothing) or stop (``want=0``): the form
    carries what the button meant, so a double click does it once."""
    want = request.form.get("want", "1") != "0"
    said = (
        _("Je volgt dit nu. Je krijgt mail bij nieuws en uitgaven.")
        if want
        else _("Je volgt dit niet meer.")
    )

    def fragment(_changed: bool) -> Any:
        if not is_htmx():
            return page
        html = render_template(
            "notifications/_follow.html", proposal=proposal, project_id=project_id, said=said
        )
        return html, 200

    return run_action(
        lambda: operations.set_follow(current_user, proposal, want),
        form=EmptyForm(),
        done=None if is_htmx() else said,
        to=fragment,
        back=page,
    )


@bp.post("/voorstellen/<int:proposal_id>/volgen")
@login_required
def follow_proposal(proposal_id: int) -> Any:
    proposal = _visible_proposal(proposal_id)
    return _follow(proposal, url_for("proposals.show", proposal_id=proposal.id))


@bp.post("/projecten/<int:project_id>/volgen")
@login_required
def follow_project(project_id: int) -> Any:
    project = spending_queries.load_project(project_id)
    if project is None:
        abort(404)
    proposal = _visible_proposal(project.proposal_id)
    return _follow(proposal, url_for("spending.project", project_id=project.id), project.id)


# --- settings -----------------------------------------------------------------------------------


@bp.route("/account/mail", methods=["GET", "POST"])
@login_required
def settings() -> Any:
    form = NotificationSettingsForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        saved = operations.settings_of(current_user.id)
        for kind in Kind:
            getattr(form, kind.value).data = saved.wants(kind)
        form.weekly_digest.data = saved.weekly_digest
        return render_template("notifications/settings.html", form=form)
    return run_action(
        lambda: operations.update_settings(
            current_user, form.wanted(), bool(form.weekly_digest.data)
        ),
        form=form,
        done=_("Je keuzes voor mail zijn opgeslagen."),
        to=url_for(".settings"),
        again=lambda refusal: (
            render_template("notifications/settings.html", form=form),
            refusal.status,
        ),
    )


# --- unsubscribe --------------------------------------------------------------------------------


def _unsubscribe_page(token: str, kind: Kind | None, status: int = 200, **context: Any) -> Any:
    label = KIND_LABELS[kind] if kind is not None else None
    return (
        render_template(
            "notifications/unsubscribe.html", token=token, kind=kind, label=label, **context
        ),
        status,
    )


@bp.route("/meldingen/afmelden/<token>", methods=["GET", "POST"])
@public
@csrf.exempt  # the signed token is the proof; mail clients post here without a page (RFC 8058)
def unsubscribe(token: str) -> Any:
    """A GET shows what the link is for and a button (it writes nothing: link checkers and
    previews open links); the POST — the button, or the mail client's one-click — unsubscribes
    from that one kind."""
    if request.method == "GET":
        try:
            kind = operations.token_kind(token)
        except operations.BadLink as error:
            return _unsubscribe_page(token, None, 404, error=error.message)
        return _unsubscribe_page(token, kind)

    def done(outcome: tuple[Kind, bool]) -> Any:
        kind, changed = outcome
        return _unsubscribe_page(token, kind, done=True, already=not changed)

    def refused(refusal: Refusal) -> Any:
        return _unsubscribe_page(token, None, 404, error=refusal.message)

    return run_action(lambda: operations.unsubscribe(token), to=done, again=refused)


# --- the feed -----------------------------------------------------------------------------------


@bp.get("/wijk/<slug>/nieuws.atom")
@public
def feed(slug: str) -> Any:
    """The wijk's news as Atom: rounds' phase changes, results and project updates."""
    wijk = wijk_or_404(slug)
    entries = queries.feed_entries(wijk.id)
    body = render_template(
        "notifications/feed.xml",
        wijk=wijk,
        entries=entries,
        feed_url=external_url("notifications.feed", slug=wijk.slug),
        home_url=external_url("neighbourhoods.show", slug=wijk.slug),
        base=public_url(),
    )
    return Response(body, mimetype="application/atom+xml")
