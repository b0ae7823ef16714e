"""Conversation after the vote (issue 22.7): the wijkdialoog about a funded project and about
each of its expenses. The same thread, comments, moderation, reports and pace as every other
conversation (dialogue/models.py: a thread has a ``project_id`` or an ``expense_id``); these
views only find the thread of a project or an expense, show an expense's own page, and take the
first question, which makes the thread (operations.ask_after_the_vote). A GET writes nothing.

URLs carry the wijk: a project or expense of another wijk is a 404. The conversation is open
while the project runs and ``AFTER_CLOSE`` (30 days) after the board closed it
(docs/dialogue-after-the-vote.md)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import permissions
from ..actions import Refusal, run_action
from ..extensions import db
from ..guards import login_required, public
from ..loaders import in_wijk_or_404, wijk_or_404
from ..spending import queries as spending_queries
from ..spending.models import Expense, FundedProject
from . import operations
from .forms import CommentForm
from .models import Comment, Thread

bp = Blueprint("after", __name__)


def _project(slug: str, project_id: int) -> FundedProject:
    project = in_wijk_or_404(spending_queries.load_project(project_id), wijk_or_404(slug))
    if not project.round.can_view(current_user):
        abort(404)
    return project


def _expense(slug: str, project_id: int, expense_id: int) -> Expense:
    project = _project(slug, project_id)
    expense = db.session.get(Expense, expense_id)
    if expense is None or expense.project_id != project.id:
        abort(404)
    return expense


def thread_of(subject: FundedProject | Expense) -> Thread | None:
    """The conversation about a project or an expense, if anyone asked something yet."""
    column = Thread.project_id if isinstance(subject, FundedProject) else Thread.expense_id
    return db.session.scalar(select(Thread).where(column == subject.id))


def _page(
    project: FundedProject,
    expense: Expense | None = None,
    *,
    form: CommentForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> Any:
    """The page of an expense, or the first-question page of a project without a thread yet:
    what the conversation is about, and the form for the first question (or why not)."""
    subject: FundedProject | Expense = expense if expense is not None else project
    thread = thread_of(subject)
    would_be = thread or (
        Thread.about_expense(expense) if expense is not None else Thread.about_project(project)
    )
    if form is None and current_user.is_authenticated:
        form = CommentForm(formdata=None)
    return render_template(
        "dialogue/after_the_vote.html",
        project=project,
        expense=expense,
        wijk=project.neighbourhood,
        thread=thread,
        closes_at=would_be.closes_at,
        refusal=would_be.post_refusal(current_user),
        is_board=permissions.is_board(current_user, project.neighbourhood),
        form=form,
        error=error,
    ), status


def _ask(project: FundedProject, expense: Expense | None) -> Any:
    form = CommentForm()
    subject: FundedProject | Expense = expense if expense is not None else project

    def posted(comment: Comment) -> str:
        return url_for("dialogue.thread", thread_id=comment.thread_id) + f"#reactie-{comment.id}"

    def again(refusal: Refusal) -> Any:
        return _page(project, expense, form=form, error=refusal.message, status=refusal.status)

    return run_action(
        lambda: operations.ask_after_the_vote(
            current_user, subject, form.body.data or "", as_board=bool(form.as_board.data)
        ),
        form=form,
        to=posted,
        again=again,
    )


@bp.get("/wijk/<slug>/projecten/<int:project_id>/gesprek")
@public
def project_thread(slug: str, project_id: int) -> Any:
    """The conversation about a funded project: its thread, or the form for the first question
    (the thread is made with it)."""
    project = _project(slug, project_id)
    thread = thread_of(project)
    if thread is not None:
        return redirect(url_for("dialogue.thread", thread_id=thread.id), 303)
    return _page(project)


@bp.post("/wijk/<slug>/projecten/<int:project_id>/gesprek")
@login_required
def ask_about_project(slug: str, project_id: int) -> Any:
    return _ask(_project(slug, project_id), None)


@bp.get("/wijk/<slug>/projecten/<int:project_id>/uitgaven/<int:expense_id>")
@public
def expense(slug: str, project_id: int, expense_id: int) -> Any:
    """An expense's own page: what was paid, to whom (a private person as "particulier"), its
    receipt when this visitor may see it, and the conversation about it."""
    expense = _expense(slug, project_id, expense_id)
    return _page(expense.project, expense)


@bp.post("/wijk/<slug>/projecten/<int:project_id>/uitgaven/<int:expense_id>/gesprek")
@login_required
def ask_about_expense(slug: str, project_id: int, expense_id: int) -> Any:
    expense = _expense(slug, project_id, expense_id)
    return _ask(expense.project, expense)
