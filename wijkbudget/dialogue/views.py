"""Wijkdialoog pages: a thread with its comments, posting and replying (htmx inline, or a plain
POST that redirects to the new comment), reports, the board's moderation queue, blocks, topics,
meetings, and mail settings with one-click unsubscribe.

Size: a little over 500 lines, as one blueprint of short routes (each load → run_action); a
split would part the thread page from the actions that show it again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from .. import permissions
from ..accounts.models import User
from ..actions import Refusal, run_action, this_route
from ..extensions import csrf, db, paginate
from ..forms import database_id, options
from ..guards import board_required, login_required, public
from ..htmx import is_htmx
from ..i18n import local_to_utc
from ..loaders import in_wijk_or_404, load_round, wijk_or_404
from ..neighbourhoods.models import Neighbourhood
from ..proposals import queries as proposal_queries
from . import after_the_vote, operations, queries
from .forms import (
    BlockForm,
    CommentForm,
    EditForm,
    HideForm,
    MailSettingsForm,
    MeetingForm,
    ReportForm,
    TopicForm,
)
from .models import Comment, DialogueError, Meeting, Thread, ThreadStatus

if TYPE_CHECKING:
    from ..proposals.models import Proposal
    from ..rounds.models import Round

bp = Blueprint("dialogue", __name__)
bp.register_blueprint(after_the_vote.bp)  # about funded projects and expenses: dialogue.after.*


def _thread(thread_id: int) -> Thread:
    thread = db.session.get(Thread, thread_id)
    if thread is None or not thread.can_view(current_user):
        abort(404)
    return thread


def _comment(comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None or not comment.thread.can_view(current_user):
        abort(404)
    return comment


def _order() -> str:
    order = request.args.get("volgorde", "turns")
    return order if order in queries.ORDERS else "turns"


def _comments_context(thread: Thread, replies: queries.Replies) -> dict[str, Any]:
    """What rendering comments needs (dialogue/_comment.html), on a thread page or on one
    comment's page: the replies, and what this visitor may do."""
    wijk = thread.round.neighbourhood
    return {
        "thread": thread,
        "wijk": wijk,
        "rnd": thread.round,
        "replies": replies.by_parent,
        "authors": replies.authors,
        "order": _order(),
        "refusal": thread.post_refusal(current_user),
        "is_board": permissions.is_board(current_user, wijk),
        "report_form": ReportForm(formdata=None) if current_user.is_authenticated else None,
    }


def _render_thread(
    thread: Thread,
    status: int = 200,
    form: CommentForm | None = None,
    error: str | None = None,
    fragment: bool = False,
) -> Any:
    page = paginate(queries.top_level(thread, _order()))
    replies = queries.replies_by_parent(list(page.items))
    context = {
        **_comments_context(thread, replies),
        "page": page,
        "more": replies.more,
        # forms only for those who can post (a form token would keep the page from the cache)
        "form": form or (CommentForm(formdata=None) if current_user.is_authenticated else None),
        "error": error,
        "following": queries.follows(
            current_user.id if current_user.is_authenticated else None, thread
        ),
    }
    template = "dialogue/_thread.html" if fragment else "dialogue/thread.html"
    return render_template(template, **context), status


def _visible_proposal(proposal_id: int) -> Proposal:
    proposal = proposal_queries.load_proposal(proposal_id)
    if proposal is None or not proposal.can_view(current_user):
        abort(404)
    return proposal


@bp.get("/voorstellen/<int:proposal_id>/gesprek")
@public
def proposal_thread(proposal_id: int) -> Any:
    """The conversation about a proposal. Every proposal gets one when it is made; one made
    before that has none until someone starts it (a GET writes nothing: the page offers the
    button that does)."""
    proposal = _visible_proposal(proposal_id)
    thread = db.session.scalar(select(Thread).where(Thread.proposal_id == proposal.id))
    if thread is not None:
        return redirect(url_for(".thread", thread_id=thread.id), 303)
    return render_template("dialogue/start.html", proposal=proposal)


@bp.post("/voorstellen/<int:proposal_id>/gesprek")
@login_required
def start_proposal_thread(proposal_id: int) -> Any:
    proposal = _visible_proposal(proposal_id)
    return run_action(
        lambda: operations.thread_for_proposal(proposal),
        to=lambda thread: url_for(".thread", thread_id=thread.id),
        back=url_for("proposals.show", proposal_id=proposal_id),
    )


@bp.get("/gesprekken/<int:thread_id>")
@public
def thread(thread_id: int) -> Any:
    return _render_thread(_thread(thread_id), fragment=is_htmx())


@bp.get("/reacties/<int:comment_id>")
@public
def comment_replies(comment_id: int) -> Any:
    """One top-level comment with all its replies, a page at a time: where "show all replies"
    leads when the thread page shows only the first ones."""
    root = db.session.get(Comment, comment_id)
    if root is None or root.parent_id is not None:
        abort(404)
    thread = _thread(root.thread_id)
    page = queries.replies_page(root)
    replies = queries.replies_on_page(root, list(page.items))
    shown = {c.id for c in page.items}
    return render_template(
        "dialogue/replies.html",
        **_comments_context(thread, replies),
        root=root,
        page=page,
        # page 1 starts at the comment itself; later pages at replies whose parent came earlier
        starts=[root] if page.page == 1 else [c for c in page.items if c.parent_id not in shown],
        more={},
    )


@bp.post("/gesprekken/<int:thread_id>/reacties")
@login_required
def post(thread_id: int) -> Any:
    thread = _thread(thread_id)
    form = CommentForm()

    def post_it() -> Comment:
        parent = None
        if (form.parent_id.data or "").strip():
            parent_id = database_id(form.parent_id.data)
            parent = db.session.get(Comment, parent_id) if parent_id is not None else None
            if parent is None or parent.thread_id != thread.id:
                abort(404)
        return operations.post_comment(
            current_user,
            thread,
            form.body.data or "",
            parent=parent,
            as_board=bool(form.as_board.data),
        )

    def posted(comment: Comment) -> Any:
        if is_htmx():
            return _render_thread(thread, fragment=True)
        return url_for(".thread", thread_id=thread.id, volgorde=_order()) + f"#reactie-{comment.id}"

    return run_action(
        post_it,
        form=form,
        to=posted,
        again=lambda refusal: _render_thread(
            _thread(thread_id), refusal.status, form=form, error=refusal.message, fragment=is_htmx()
        ),
    )


@bp.route("/reacties/<int:comment_id>/bewerken", methods=["GET", "POST"])
@login_required
def edit(comment_id: int) -> Any:
    comment = _comment(comment_id)
    if comment.author_id != current_user.id:
        abort(403)
    form = EditForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        form.body.data = comment.body

    def page(refusal: Refusal | None = None) -> Any:
        if refusal is not None:
            shown = _comment(comment_id) if refusal.message else comment
            return render_template(
                "dialogue/edit.html", comment=shown, form=form, error=refusal.message
            ), refusal.status
        error = None
        if not comment.can_edit(current_user):
            error = _("Je kunt een reactie alleen in de eerste 15 minuten aanpassen.")
        return render_template("dialogue/edit.html", comment=comment, form=form, error=error)

    if request.method == "GET":
        return page()
    return run_action(
        lambda: operations.edit_comment(current_user, comment, form.body.data or ""),
        form=form,
        to=url_for(".thread", thread_id=comment.thread_id) + f"#reactie-{comment.id}",
        again=page,
    )


@bp.post("/reacties/<int:comment_id>/verwijderen")
@login_required
def delete(comment_id: int) -> Any:
    comment = _comment(comment_id)
    if comment.author_id != current_user.id:
        abort(403)
    thread_id = comment.thread_id
    return run_action(
        lambda: operations.delete_comment(current_user, comment),
        done=_("Je reactie is verwijderd."),
        to=url_for(".thread", thread_id=thread_id) + f"#reactie-{comment.id}",
        again=lambda refusal: _render_thread(
            _thread(thread_id), refusal.status, error=refusal.message
        ),
    )


@bp.post("/reacties/<int:comment_id>/melden")
@login_required
def report(comment_id: int) -> Any:
    comment = _comment(comment_id)
    thread_id = comment.thread_id
    form = ReportForm()
    return run_action(
        lambda: operations.report_comment(current_user, comment, form.reason.data or ""),
        form=form,
        done=_("Bedankt. Het bestuur kijkt naar je melding."),
        to=url_for(".thread", thread_id=thread_id) + f"#reactie-{comment.id}",
        again=lambda refusal: _render_thread(
            _thread(thread_id),
            refusal.status,
            error=refusal.message or " ".join(str(e) for e in form.reason.errors),
        ),
    )


@bp.post("/gesprekken/<int:thread_id>/volgen")
@login_required
def follow(thread_id: int) -> Any:
    """Follow (``want=1``, also when the form says nothing) or stop (``want=0``): the form
    carries what the button meant, so a double click does it once."""
    thread = _thread(thread_id)
    want = request.form.get("want", "1") != "0"
    return run_action(
        lambda: operations.set_follow(current_user, thread, want),
        done=(
            _("Je krijgt een mail bij nieuwe reacties.")
            if want
            else _("Je volgt dit gesprek niet meer.")
        ),
        to=url_for(".thread", thread_id=thread_id),
    )


# --- topics -------------------------------------------------------------------------------------


def _form_page(template: str, rnd: Round, form: Any, refusal: Refusal | None = None) -> Any:
    """A form of a round's dialogue (a topic, a meeting); after a refused action with the
    refusal's message, and 422 (as before: the form page answers 422)."""
    error = refusal.message if refusal is not None else None
    status = 200 if refusal is None else 422
    return render_template(
        template, wijk=rnd.neighbourhood, rnd=rnd, form=form, error=error
    ), status


@bp.route("/wijk/<slug>/rondes/<int:round_id>/onderwerpen/nieuw", methods=["GET", "POST"])
@login_required
def new_topic(slug: str, round_id: int) -> Any:
    wijk = wijk_or_404(slug)
    rnd = load_round(wijk, round_id)
    form = TopicForm()
    refusal = rnd.topic_refusal(current_user)
    if refusal is not None:  # said before anything is written, not after
        return render_template(
            "dialogue/topic_form.html", wijk=wijk, rnd=rnd, form=form, error=refusal, refused=True
        ), 403

    def page(refusal: Refusal | None = None) -> Any:
        return _form_page("dialogue/topic_form.html", rnd, form, refusal)

    if request.method == "GET":
        return page()
    return run_action(
        lambda: operations.propose_topic(
            current_user, rnd, form.title.data or "", form.body.data or ""
        ),
        form=form,
        done=lambda thread: (
            _("Het onderwerp staat open voor gesprek.")
            if thread.status == ThreadStatus.OPEN
            else _("Bedankt. Het bestuur kijkt of het onderwerp erbij kan.")
        ),
        to=lambda thread: url_for(".thread", thread_id=thread.id),
        again=page,
    )


@bp.post("/wijk/<slug>/bestuur/onderwerpen/<int:thread_id>/goedkeuren")
@board_required
def approve_topic(wijk: Neighbourhood, thread_id: int) -> Any:
    thread = in_wijk_or_404(db.session.get(Thread, thread_id), wijk)
    return run_action(
        lambda: operations.approve_topic(current_user, thread),
        done=_("Het onderwerp staat open voor gesprek."),
        to=url_for(".thread", thread_id=thread_id),
    )


# --- moderation ---------------------------------------------------------------------------------


@bp.get("/wijk/<slug>/bestuur/moderatie")
@board_required
def moderation(wijk: Neighbourhood) -> str:
    reported = paginate(queries.moderation_queue(wijk))
    return render_template(
        "dialogue/moderation.html",
        wijk=wijk,
        reported=reported,
        # why each was reported (never by whom)
        report_reasons=queries.report_reasons([c.id for c in reported.items]),
        hidden=list(db.session.scalars(queries.hidden_comments(wijk).limit(50))),
        hide_form=HideForm(formdata=None),
        block_form=BlockForm(formdata=None),
    )


def _moderated(wijk: Neighbourhood, comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.thread.neighbourhood_id != wijk.id:
        abort(404)
    return comment


@bp.post("/wijk/<slug>/bestuur/reacties/<int:comment_id>/verbergen")
@board_required
def hide(wijk: Neighbourhood, comment_id: int) -> Any:
    comment = _moderated(wijk, comment_id)
    form = HideForm()
    # the moderation page lists many comments: an invalid form or a refusal is flashed there
    return run_action(
        lambda: operations.hide_comment(current_user, comment, form.reason.data or ""),
        form=form,
        done=_("De reactie is verborgen. De reden staat erbij."),
        to=url_for(".moderation", slug=wijk.slug),
    )


#: the board's buttons on a comment that need no form, by endpoint: the operation and what is
#: said when it is done
_BUTTONS = {
    "restore": (operations.restore_comment, _l("De reactie is weer zichtbaar.")),
    "dismiss": (operations.dismiss_reports, _l("De meldingen zijn afgehandeld.")),
}


@bp.post("/wijk/<slug>/bestuur/reacties/<int:comment_id>/herstellen", endpoint="restore")
@bp.post("/wijk/<slug>/bestuur/reacties/<int:comment_id>/meldingen-afwijzen", endpoint="dismiss")
@board_required
def moderate(wijk: Neighbourhood, comment_id: int) -> Any:
    """Show a hidden comment again, or find its reports unfounded."""
    comment = _moderated(wijk, comment_id)
    operation, done = this_route(_BUTTONS)
    return run_action(
        lambda: operation(current_user, comment),
        done=str(done),
        to=url_for(".moderation", slug=wijk.slug),
    )


@bp.post("/wijk/<slug>/bestuur/blokkeren")
@board_required
def block(wijk: Neighbourhood) -> Any:
    form = BlockForm()
    user_id = database_id(form.user_id.data)
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None:
        abort(404)
    return run_action(
        lambda: operations.block_user(
            current_user, wijk, user, form.days.data or 0, form.reason.data or ""
        ),
        form=form,
        done=_("%(name)s kan tijdelijk niet reageren in deze wijk.", name=user.public_name),
        to=url_for(".moderation", slug=wijk.slug),
    )


# --- meetings -----------------------------------------------------------------------------------


@bp.route("/wijk/<slug>/bestuur/rondes/<int:round_id>/bijeenkomsten/nieuw", methods=["GET", "POST"])
@board_required
def new_meeting(wijk: Neighbourhood, round_id: int) -> Any:
    rnd = load_round(wijk, round_id)
    form = MeetingForm()
    form.proposals.choices = options(
        [
            (p.id, f"#{p.id} {p.title}")
            for p in db.session.scalars(
                proposal_queries.proposal_list(
                    rnd, proposal_queries.ListFilter(sort="newest")
                ).limit(200)
            )
        ]
    )

    def page(refusal: Refusal | None = None) -> Any:
        return _form_page("dialogue/meeting_form.html", rnd, form, refusal)

    if request.method == "GET":
        return page()

    def record() -> Meeting:
        held_at = local_to_utc(form.held_at.data)
        if held_at is None:  # the form requires it: not reached with a valid form
            raise DialogueError(_("Vul de datum en tijd in."))
        return operations.record_meeting(
            current_user,
            rnd,
            held_at=held_at,
            place=form.place.data or "",
            attendees=form.attendees.data or 0,
            summary=form.summary.data or "",
            proposal_ids=list(form.proposals.data or []),
        )

    return run_action(
        record,
        form=form,
        done=_("De bijeenkomst staat in de tijdlijn van de ronde."),
        to=url_for("rounds.show", slug=wijk.slug, round_id=rnd.id),
        again=page,
    )


# --- mail ----------------------------------------------------------------------------------------


@bp.route("/account/meldingen", methods=["GET", "POST"])
@login_required
def mail_settings() -> Any:
    form = MailSettingsForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        form.comment_mail.data = operations.mail_settings(current_user).comment_mail
        return render_template("dialogue/mail_settings.html", form=form)
    return run_action(
        lambda: operations.set_comment_mail(current_user, bool(form.comment_mail.data)),
        form=form,
        done=_("Je voorkeuren zijn opgeslagen."),
        to=url_for(".mail_settings"),
        again=lambda refusal: (
            render_template("dialogue/mail_settings.html", form=form),
            refusal.status,
        ),
    )


@bp.route("/afmelden/<token>", methods=["GET", "POST"])
@public
@csrf.exempt  # the signed token is the proof; mail clients post here without a page (RFC 8058)
def unsubscribe(token: str) -> Any:
    """One click in the mail (POST from mail clients that support it, or the button here)."""
    if request.method == "GET":
        return render_template("dialogue/unsubscribe.html", token=token, done=False)
    return run_action(
        lambda: operations.unsubscribe(token),
        to=lambda _user: (
            render_template("dialogue/unsubscribe.html", token=token, done=True),
            200,
        ),
        # a link that does not hold is "not found", whatever the refusal's own status
        again=lambda refusal: (
            render_template(
                "dialogue/unsubscribe.html", token=token, done=False, error=refusal.message
            ),
            404,
        ),
    )
