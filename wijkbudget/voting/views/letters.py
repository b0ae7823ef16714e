"""The board's letters with voting codes (issue 21, "van deur tot deur"): make them from an
address list (a CSV), from the round's address register, or as a number of letters "Aan de
bewoners"; then per batch: download the PDF (one A4 per letter) and the print shop's CSV, say
that the letters are printed, or revoke the codes (after a confirmation).

The downloads show the codes, which writes a line in the audit log, so they are sent for with a
form (POST): a GET writes nothing. Each POST runs one operation through ``actions.run_action``;
the page comes again with the refusal in its status (a file with mistakes: its problems line by
line)."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...actions import Refusal, run_action
from ...forms import database_id
from ...guards import board_required
from ...loaders import load_round
from ...neighbourhoods.models import Neighbourhood
from ...rounds.models import Round
from ...urls import external_url
from .. import operations, register
from ..addresses import MAX_BYTES, MAX_CAPACITY, MAX_ROWS
from ..forms import GenerateCodesForm
from ..letter_content import letter_text, print_shop_csv
from ..letters import MAX_LETTERS, parse_letters
from ..letters_pdf import letters_pdf
from ..models import CodeBatch, VotingError
from ..operations import letters as made
from .blueprint import bp
from .common import code_batch, codes_not_shown, form_token, refusal_message, sent_token

_ROUND = "/wijk/<slug>/bestuur/rondes/<int:round_id>/brieven"
_BATCH = _ROUND + "/<int:batch_id>"


def _overview(
    wijk: Neighbourhood,
    rnd: Round,
    *,
    error: str | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Any:
    return render_template(
        "voting/letters_batches.html",
        wijk=wijk,
        rnd=rnd,
        batches=made.printable_batches(rnd),
        has_register=register.has_register(rnd),
        error=error,
        problems=problems or [],
        form_token=form_token(),
        max_mb=MAX_BYTES // (1024 * 1024),
        max_rows=MAX_ROWS,
        max_letters=MAX_LETTERS,
        max_capacity=MAX_CAPACITY,
    ), status


@bp.route(_ROUND, methods=["GET", "POST"])
@board_required
def letters_overview(wijk: Neighbourhood, round_id: int) -> Any:
    """Make letters (from a list, the register, or a number), and the batches to print."""
    rnd = load_round(wijk, round_id)
    if request.method == "GET":
        return _overview(wijk, rnd)
    problems: list[str] = []

    def again(refusal: Refusal, form: Any = None) -> Any:
        # as it is now (after the use case's rollback)
        return _overview(
            wijk,
            load_round(wijk, round_id),
            error=refusal_message(refusal, form),
            problems=problems,
            status=refusal.status,
        )

    def to_batch(batch: CodeBatch) -> str:
        return url_for(".letters_batch", slug=wijk.slug, round_id=round_id, batch_id=batch.id)

    def done(batch: CodeBatch) -> str:
        return _(
            "%(n)d brieven gemaakt. Download de PDF en druk ze af; zeg daarna hier dat ze "
            "gedrukt zijn.",
            n=batch.size,
        )

    action = request.form.get("action", "")
    if action == "upload":

        def from_list() -> CodeBatch:
            sent = request.files.get("addresses")
            if sent is None or not sent.filename:
                raise VotingError(_("Kies eerst het bestand met de adressen (CSV)."))
            parsed = parse_letters(sent.stream.read(MAX_BYTES + 1))
            if parsed.problem_count:
                problems.extend(parsed.problems)  # shown line by line under the message
                raise VotingError(_refused(parsed.problem_count, len(parsed.problems)))
            return operations.make_letters(
                current_user,
                rnd,
                parsed.lines,
                label=request.form.get("label", "")[:120],
                form_token=sent_token(),
            )

        return run_action(from_list, done=done, to=to_batch, again=again)
    if action == "count":
        form = GenerateCodesForm(areas=wijk.areas)
        return run_action(
            lambda: operations.generate_codes(
                current_user,
                rnd,
                form.count.data or 0,
                label=form.label.data or _("Brieven aan de bewoners"),
                form_token=sent_token(),
            ),
            form=form,
            done=done,
            to=to_batch,
            again=lambda refusal: again(refusal, form),
        )
    if action == "from_register":
        return run_action(
            lambda: operations.make_codes_from_register(current_user, rnd, form_token=sent_token()),
            done=done,
            to=to_batch,
            again=again,
        )
    return again(Refusal(400, _("Er ging iets mis met het formulier. Probeer het opnieuw.")))


def _refused(count: int, named: int) -> str:
    message = _("Er zijn geen brieven gemaakt: er staan fouten in het bestand.")
    if count > named:
        message += " " + _(
            "Hieronder de eerste %(n)d; er zijn er nog %(more)d.", n=named, more=count - named
        )
    return str(message)


def _batch_page(
    wijk: Neighbourhood, rnd: Round, batch: CodeBatch, error: str | None = None, status: int = 200
) -> Any:
    return render_template(
        "voting/letters_batch.html",
        wijk=wijk,
        rnd=rnd,
        batch=batch,
        letters=made.letter_batch(batch),
        first=made.first_addresses(batch),
        parts=made.parts(batch),
        part_size=made.PART_SIZE,
        error=error,
    ), status


@bp.route(_BATCH, methods=["GET", "POST"])
@board_required
def letters_batch(wijk: Neighbourhood, round_id: int, batch_id: int) -> Any:
    """One batch's letters: the downloads, and "the letters are printed"."""
    rnd = load_round(wijk, round_id)
    batch = code_batch(rnd, batch_id)
    if request.method == "GET":
        return _batch_page(wijk, rnd, batch)
    here = url_for(".letters_batch", slug=wijk.slug, round_id=round_id, batch_id=batch_id)

    def again(refusal: Refusal) -> Any:
        now = load_round(wijk, round_id)
        return _batch_page(
            wijk, now, code_batch(now, batch_id), refusal_message(refusal), refusal.status
        )

    if request.form.get("action") != "printed":
        return again(Refusal(400, _("Er ging iets mis met het formulier. Probeer het opnieuw.")))
    return run_action(
        lambda: operations.mark_printed(current_user, batch, rnd),
        done=lambda changed: (
            _("De brieven zijn gedrukt: de codes en de adressen zijn nu gewist.")
            if changed
            else _("Dit was al gedaan.")
        ),
        to=here,
        again=again,
    )


@bp.route(_BATCH + "/intrekken", methods=["GET", "POST"])
@board_required
def letters_revoke(wijk: Neighbourhood, round_id: int, batch_id: int) -> Any:
    """Revoke the batch's codes: first a page that asks whether you are sure."""
    rnd = load_round(wijk, round_id)
    batch = code_batch(rnd, batch_id)
    letters = made.letter_batch(batch)
    if request.method == "GET":
        return render_template(
            "voting/letters_revoke.html", wijk=wijk, rnd=rnd, batch=batch, letters=letters
        )
    return run_action(
        lambda: operations.revoke_batch(current_user, batch, rnd),
        done=lambda changed: (
            _("De codes zijn ingetrokken. Een code waarmee al gestemd is, blijft tellen.")
            if changed
            else _("Deze codes waren al ingetrokken.")
        ),
        to=url_for(".letters_batch", slug=wijk.slug, round_id=round_id, batch_id=batch_id),
        again=lambda refusal: _batch_page(
            wijk,
            rnd,
            code_batch(load_round(wijk, round_id), batch_id),
            refusal.message,
            refusal.status,
        ),
    )


def _file_name(wijk: Neighbourhood, rnd: Round, batch: CodeBatch, ext: str, part: int) -> str:
    """``brieven-west-3-12.pdf``, ``brieven-west-3-12-deel-2.pdf`` (the slug is letters, digits
    and ``-``)."""
    name = f"brieven-{wijk.slug}-{rnd.id}-{batch.id}"
    return f"{name}-deel-{part}.{ext}" if part else f"{name}.{ext}"


def _download(body: bytes | str, mimetype: str, name: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@bp.post(_BATCH + ".pdf")
@board_required
def letters_pdf_download(wijk: Neighbourhood, round_id: int, batch_id: int) -> Any:
    """The letters as a PDF (a part of them, for a large batch), sent for with a form."""
    rnd = load_round(wijk, round_id)
    batch = code_batch(rnd, batch_id)
    part = database_id(request.form.get("part")) or 0

    def download(letters: list[made.Letter]) -> Response:
        pdf = letters_pdf(letters, letter_text(wijk, rnd))
        return _download(pdf, "application/pdf", _file_name(wijk, rnd, batch, "pdf", part))

    return run_action(
        lambda: operations.show_letters(current_user, rnd, batch, file="pdf", part=part or None),
        to=download,
        again=codes_not_shown(wijk, rnd),
    )


@bp.post(_BATCH + "/drukker.csv")
@board_required
def letters_csv_download(wijk: Neighbourhood, round_id: int, batch_id: int) -> Any:
    """The letters as a CSV file for a print shop, sent for with a form."""
    rnd = load_round(wijk, round_id)
    batch = code_batch(rnd, batch_id)

    def download(letters: list[made.Letter]) -> Response:
        table = print_shop_csv(letters, external_url(".enter_code"))
        return _download(table, "text/csv", _file_name(wijk, rnd, batch, "csv", 0))

    return run_action(
        lambda: operations.show_letters(current_user, rnd, batch, file="csv"),
        to=download,
        again=codes_not_shown(wijk, rnd),
    )
