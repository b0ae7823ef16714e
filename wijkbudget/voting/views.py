"""Voting pages: the ballot (choose → review → cast → receipt), code entry, the receipt check,
and the board's codes, letters and paper batches. Every step works without JavaScript; htmx
only updates the budget bar while ticking.

The views never commit or roll back: each change is an operation (a use case) that does; a
refusal comes back as a DomainError whose message the page shows with its status."""

from __future__ import annotations

import logging
import random
import secrets
from functools import cache
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
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
from flask_login import current_user
from limits import parse as parse_limit
from markupsafe import Markup
from sqlalchemy import bindparam, select
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import joinedload

from .. import errors
from ..errors import DomainError
from ..exports import to_csv
from ..extensions import db, limiter
from ..forms import database_id
from ..guards import board_required, public
from ..htmx import is_htmx
from ..i18n import current_locale_name
from ..loaders import load_round, load_wijk_round, visible_or_404
from ..neighbourhoods.models import Neighbourhood
from ..pagecache import fragment
from ..rounds.models import Eligibility, Phase, Round
from ..rounds.queries import round_by_slug_query
from ..throttle import address_key
from ..urls import external_url
from . import operations, queries, register
from .codes import group, new_receipt
from .forms import (
    CodeForm,
    GenerateCodesForm,
    PaperBatchForm,
    ReceiptForm,
    RevokeCodeForm,
    SheetForm,
    first_error,
)
from .models import AlreadyVoted, Channel, CodeBatch, PaperBatch, VotingError

log = logging.getLogger(__name__)

bp = Blueprint("voting", __name__)


def _away() -> str:
    return _(
        "Wijkbudget kan even niet bij zijn gegevens. Er is niets verloren gegaan: wat je net "
        "deed, is niet opgeslagen, en een stemcode blijft gewoon geldig. Probeer het over een "
        "minuut opnieuw."
    )


@bp.errorhandler(OperationalError)
@bp.errorhandler(InterfaceError)
def database_away(error: Exception) -> Any:
    """The database cannot be reached (a restart, a network hiccup): a 503 that says to try
    again. Nothing was saved (a use case that failed has rolled back; the request's session is
    closed at its end), a code stays usable, and no limit counted the attempt."""
    log.warning("database unreachable on %s: %s", request.endpoint, error)
    return errors.database_away_response(_away)


# --- the voter's draft, kept in the session until it is cast --------------------------------------


def _drafts() -> dict[str, Any]:
    return dict(session.get("ballots", {}))


def draft(rnd: Round) -> dict[int, int]:
    raw = _drafts().get(str(rnd.id), {})
    return {int(k): int(v) for k, v in raw.items()}


def _save_draft(rnd: Round, selection: dict[int, int]) -> None:
    drafts = _drafts()
    drafts[str(rnd.id)] = {str(k): v for k, v in selection.items()}
    session["ballots"] = drafts


def _clear_draft(round_id: int) -> None:
    drafts = _drafts()
    drafts.pop(str(round_id), None)
    session["ballots"] = drafts


def _selection_from_form(rnd: Round) -> dict[int, int]:
    """The choices the form sent: {proposal id: points}. What is no proposal id (not a number,
    or too big for one) is not a choice."""
    selection: dict[int, int] = {}
    if rnd.ballot_type == "cumulative":
        for key, value in request.form.items():
            proposal_id = database_id(key[4:]) if key.startswith("pts-") else None
            if proposal_id is not None:
                text = value.strip()
                if not text:
                    continue
                if not text.isascii() or not text.isdigit() or len(text) > 4:
                    raise VotingError(_("Vul bij punten een heel getal in, bijvoorbeeld 2."))
                if int(text) > 0:
                    selection[proposal_id] = int(text)
        return selection
    for value in request.form.getlist("p"):
        proposal_id = database_id(value)
        if proposal_id is not None:
            selection[proposal_id] = 1
    return selection


def _pending_receipt(round_id: int) -> str:
    """The receipt code the cast of this round will get, chosen before it is sent (kept in the
    session): a second click on "versturen" carries the same one, so it can show the receipt
    of the ballot the first click cast ("je stem is al binnen") instead of an error."""
    pending = dict(session.get("pending_receipts", {}))
    if str(round_id) not in pending:
        pending[str(round_id)] = new_receipt()
        session["pending_receipts"] = pending
    return str(pending[str(round_id)])


def _cast_done(slug: str, round_id: int, receipt: str | None) -> Any:
    """After the cast: clear the draft, the code and the pending receipt; show the receipt."""
    _clear_draft(round_id)
    for key in ("vote_codes", "pending_receipts"):
        kept = dict(session.get(key, {}))
        kept.pop(str(round_id), None)
        session[key] = kept
    session["receipt"] = {"round": round_id, "code": group(receipt or "", 4)}
    return redirect(url_for(".receipt", slug=slug, round_id=round_id), 303)


def _already_in(slug: str, round_id: int) -> Any:
    """If the ballot of this very visit is in, show its receipt, as the cast would have; else
    None. For a cast that was refused (the first of two clicks cast it), and on the next visit
    to the ballot or the review page after a cast whose answer got lost (the connection broke
    after the commit): the receipt chosen before the cast is still in this browser's session,
    and only this browser holds it. A read, and only when a receipt is pending."""
    pending = dict(session.get("pending_receipts", {})).get(str(round_id))
    if pending and queries.check_receipt(pending) is not None:
        return _cast_done(slug, round_id, pending)
    return None


def _code_id(round_id: int) -> int | None:
    """The code this visitor entered for the round (kept in the session until the cast)."""
    found = dict(session.get("vote_codes", {})).get(str(round_id))
    return int(found) if found else None


@cache
def _round_and_code_query() -> Any:
    return round_by_slug_query().add_columns(queries.code_usable(bindparam("code_id"), Round.id))


def _load_vote(slug: str, round_id: int) -> tuple[Neighbourhood, Round, bool]:
    """The wijk, the round, and whether the code this visitor entered for it can still vote,
    in one query (like load_wijk_round: these are the busiest pages of a vote)."""
    code_id = _code_id(round_id)
    params = {"slug": slug, "round_id": round_id, "code_id": code_id}
    query = _round_and_code_query() if code_id else round_by_slug_query()
    row = db.session.execute(query, params).first()
    rnd = visible_or_404(row[0] if row else None)
    return rnd.neighbourhood, rnd, bool(code_id and row and row[1])


def _refusal(rnd: Round, user: Any, has_code: bool) -> str | None:
    """Why this visitor cannot vote in this round ("code": no usable code yet), or None."""
    if rnd.eligibility == Eligibility.CODES:
        return None if has_code else "code"
    return operations.account_refusal(rnd, user)


def _ordered(rnd: Round, proposals: list[Any]) -> list[Any]:
    """A random order per voter (against position bias), the same on every visit."""
    seed = session.setdefault("ballot_seed", secrets.randbelow(2**31))
    items = list(proposals)
    random.Random(seed * 7919 + rnd.id).shuffle(items)  # noqa: S311 (an order, not a secret)
    return items


# where a proposal on the ballot shows this voter's choice (" checked", or the points); escaped
# user text can never contain it, as "<" always becomes "&lt;"
CHOICE_MARK = "<!--choice-->"


def _ballot_items(rnd: Round) -> tuple[dict[int, str], list[queries.BallotItem]]:
    """Each proposal of the ballot as HTML with CHOICE_MARK where the choice goes, and the
    costs: the same for every voter, so built once per change (see pagecache.fragment)."""

    def build() -> tuple[dict[int, str], list[queries.BallotItem]]:
        proposals = queries.ballot_proposals(rnd)
        template = current_app.jinja_env.get_template("voting/_ballot_items.html")
        module = template.make_module({"rnd": rnd, "mark": Markup(CHOICE_MARK)})  # noqa: S704
        return (
            {p.id: str(module.item(p)) for p in proposals},  # type: ignore[attr-defined]
            [queries.BallotItem(p.id, p.effective_cost_cents) for p in proposals],
        )

    return fragment(f"ballot|{rnd.id}|{rnd.ballot_type}|{current_locale_name()}", build)


def _render_ballot(
    wijk: Neighbourhood,
    rnd: Round,
    selection: dict[int, int],
    status: int = 200,
    errors: list[str] | None = None,
) -> Any:
    html, costs = _ballot_items(rnd)
    items = []
    for item in _ordered(rnd, costs):
        choice = selection.get(item.id)
        if rnd.ballot_type == "cumulative":
            shown = str(choice) if choice is not None else ""
        else:
            shown = " checked" if choice else ""
        items.append(html[item.id].replace(CHOICE_MARK, shown))
    return render_template(
        "voting/ballot.html",
        wijk=wijk,
        rnd=rnd,
        items=Markup("".join(items)),  # noqa: S704 (rendered by our template, escaped there)
        selection=selection,
        tally=operations.tally(rnd, selection, costs),
        errors=errors or [],
    ), status


def _gate(wijk: Neighbourhood, rnd: Round, has_code: bool) -> Any:
    """Where a visitor who cannot vote (yet) goes; None when they can."""
    if rnd.phase != Phase.VOTING:
        return render_template("voting/closed.html", wijk=wijk, rnd=rnd), 409
    user = current_user if current_user.is_authenticated else None
    refusal = _refusal(rnd, user, has_code)
    if refusal == "code":
        return redirect(url_for(".enter_code", ronde=rnd.id), 303)
    if refusal and user is None:
        return redirect(url_for("accounts.login", next=request.path), 303)
    if refusal:
        return render_template("voting/refused.html", wijk=wijk, rnd=rnd, refusal=refusal), 403
    # a code that was used is no code any more (_refusal), so only an account can have voted
    if rnd.eligibility != Eligibility.CODES and queries.has_voted(rnd, user=user):
        return render_template(
            "voting/refused.html",
            wijk=wijk,
            rnd=rnd,
            refusal=_("Je hebt al gestemd in deze ronde. Er telt één stem per persoon."),
        ), 409
    # a round with an address register: an account votes for its postcode and house number
    if (
        rnd.eligibility != Eligibility.CODES
        and register.has_register(rnd)
        and register.account_address_id(rnd, user) is None
    ):
        return redirect(url_for("voting_register.address", slug=wijk.slug, round_id=rnd.id), 303)
    return None


@bp.route("/wijk/<slug>/rondes/<int:round_id>/stemmen", methods=["GET", "POST"])
@public
def ballot(slug: str, round_id: int) -> Any:
    wijk, rnd, has_code = _load_vote(slug, round_id)
    done = _already_in(slug, round_id) if request.method == "GET" else None
    if done is not None:
        return done  # cast, but the answer got lost: the receipt now
    selection = draft(rnd)
    if request.method == "POST":
        try:
            selection = _selection_from_form(rnd)
        except VotingError as error:
            return _render_ballot(wijk, rnd, selection, 422, [error.message])
        _save_draft(rnd, selection)
    gate = _gate(wijk, rnd, has_code)
    if gate is not None:
        return gate
    if request.method == "POST":
        # the costs as on the ballot (the cast checks again, under a lock, from the database)
        errors = operations.problems(rnd, selection, _ballot_items(rnd)[1])
        if request.form.get("action") == "review":
            if errors:
                return _render_ballot(wijk, rnd, selection, 422, errors)
            _pending_receipt(rnd.id)
            return redirect(url_for(".review", slug=wijk.slug, round_id=rnd.id), 303)
        # "bereken": the same page with the totals, and what is still wrong
        return _render_ballot(wijk, rnd, selection, 200, errors if selection else [])
    return _render_ballot(wijk, rnd, selection)


@bp.post("/wijk/<slug>/rondes/<int:round_id>/stemmen/bereken")
@public
def calculate(slug: str, round_id: int) -> Any:
    """htmx: the budget bar for what is ticked now (the selection is kept as a draft)."""
    wijk, rnd = load_wijk_round(slug, round_id)
    try:
        selection = _selection_from_form(rnd)
    except VotingError:
        selection = draft(rnd)
    _save_draft(rnd, selection)
    proposals = _ballot_items(rnd)[1]
    return render_template(
        "voting/_bar.html",
        rnd=rnd,
        tally=operations.tally(rnd, selection, proposals),
        errors=operations.problems(rnd, selection, proposals) if selection else [],
    )


@bp.get("/wijk/<slug>/rondes/<int:round_id>/stemmen/controleren")
@public
def review(slug: str, round_id: int) -> Any:
    wijk, rnd, has_code = _load_vote(slug, round_id)
    done = _already_in(slug, round_id)
    if done is not None:
        return done  # cast, but the answer got lost: the receipt now
    gate = _gate(wijk, rnd, has_code)
    if gate is not None:
        return gate
    selection = draft(rnd)
    proposals = queries.ballot_proposals(rnd, chosen=selection)
    _pending_receipt(rnd.id)
    return render_template(
        "voting/review.html",
        wijk=wijk,
        rnd=rnd,
        chosen=proposals,
        selection=selection,
        tally=operations.tally(rnd, selection, proposals),
        errors=operations.problems(rnd, selection, proposals),
    )


@bp.post("/wijk/<slug>/rondes/<int:round_id>/stemmen/versturen")
@public
def cast(slug: str, round_id: int) -> Any:
    wijk, rnd = load_wijk_round(slug, round_id)
    code_id = _code_id(round_id) if rnd.eligibility == Eligibility.CODES else None
    code = queries.usable_code(code_id, rnd.id) if code_id else None
    gate = _gate(wijk, rnd, code is not None)
    if gate is not None:
        return _already_in(slug, round_id) or gate
    user = current_user if current_user.is_authenticated else None
    selection = draft(rnd)
    channel = Channel.CODE if code is not None else Channel.ONLINE
    try:
        receipt = operations.cast(
            rnd,
            selection,
            user=user,
            code=code,
            channel=channel,
            receipt=_pending_receipt(round_id),
        )
    except DomainError as error:
        done = _already_in(slug, round_id) if isinstance(error, AlreadyVoted) else None
        if done is not None:
            return done  # a second click: the first one's ballot is in
        rnd = load_round(wijk, round_id)
        return _render_ballot(wijk, rnd, selection, error.status, [error.message])
    # (the round id from the URL, not rnd.id: the commit expired rnd, which would be read again)
    return _cast_done(slug, round_id, receipt)


@bp.get("/wijk/<slug>/rondes/<int:round_id>/stemmen/bewijs")
@public
def receipt(slug: str, round_id: int) -> Any:
    wijk, rnd = load_wijk_round(slug, round_id)
    shown = session.pop("receipt", None)
    code = shown["code"] if shown and shown.get("round") == rnd.id else None
    page = render_template("voting/receipt.html", wijk=wijk, rnd=rnd, receipt=code)
    return page, 200, {"Cache-Control": "no-store"}


def _count_wrong_code() -> None:
    """Count a wrong code among everyone's; past ``RATELIMIT_CODES_GLOBAL`` the audit log says
    that many wrong codes come in (once per window). Nobody is refused for it."""
    limit = parse_limit(current_app.config["RATELIMIT_CODES_GLOBAL"])
    if not limiter.limiter.hit(limit, "all-voting-codes"):
        _many_wrong_codes()


def _many_wrong_codes() -> None:
    """Many unknown codes from everywhere at once: the log says so (once per window of the
    threshold). Nobody waits for it, and a log that cannot be written changes no answer."""
    try:
        operations.note_many_wrong_codes(current_app.config["RATELIMIT_CODES_GLOBAL"])
    except SQLAlchemyError as error:
        log.warning("could not log the limit on wrong voting codes: %s", error)


def _code_was_unknown(response: Any) -> bool:
    """Whether a code entry counts against the limits: only when the code typed was not found
    (``enter_code`` says so in ``g``). Never a server error, a database that could not be
    reached, an expired form, a refusal by a limit, a used or revoked code (a real one) or a
    code that worked: a database outage locks nobody out, and the log blames no guessing."""
    return bool(g.get("voting_code_unknown"))


@bp.route("/stem", methods=["GET", "POST"])
@public
# Wrong codes are limited per address (an IPv6 address by its /64), so a guesser is slowed
# where it sits. There is no limit for everyone together: that one was a wall a handful of
# addresses could raise against every voter (issue 18). Wrong codes from everywhere are counted
# only to tell the board in the audit log (``_count_wrong_code``); the codes' 59 bits keep
# guessing hopeless (docs/security.md).
@limiter.limit(
    lambda: current_app.config["RATELIMIT_CODES"],
    methods=["POST"],
    deduct_when=_code_was_unknown,
    key_func=address_key,
)
def enter_code() -> Any:
    """Vote without an account: the code from the letter."""
    error = None
    if request.method == "POST":
        form = CodeForm()
        found = operations.look_up_code(form.code.data or "") if form.validate() else None
        if found is not None and found.code is not None:
            rnd = found.code.round
            codes = dict(session.get("vote_codes", {}))
            codes[str(rnd.id)] = found.code.id
            session["vote_codes"] = codes
            # a code that can vote is a new voter in this browser (a used one is refused): what
            # the last one left here (the draft, the receipt of a cast whose answer got lost)
            # is theirs, not this voter's (a shared computer, the table at the buurthuis)
            _clear_draft(rnd.id)
            pending = dict(session.get("pending_receipts", {}))
            if pending.pop(str(rnd.id), None) is not None:
                session["pending_receipts"] = pending
            return redirect(url_for(".ballot", slug=rnd.neighbourhood.slug, round_id=rnd.id), 303)
        g.voting_code_unknown = found is not None and found.unknown
        if g.voting_code_unknown:
            _count_wrong_code()
        # the same answer for a wrong, a used and a revoked code
        error = _(
            "Deze code werkt niet. Kijk of je hem goed hebt overgenomen, "
            "of vraag het bestuur om hulp."
        )
    return render_template("voting/code.html", error=error), (422 if error else 200)


@bp.route("/controleer", methods=["GET", "POST"])
@public
@limiter.limit("30 per hour", methods=["POST"])
def check() -> Any:
    """Controleer je stem: the receipt shows whether the ballot counts and what is on it."""
    ballot = None
    asked = request.method == "POST"
    if asked:
        form = ReceiptForm()
        ballot = queries.check_receipt(form.receipt.data or "") if form.validate() else None
    proposals = {}
    if ballot is not None and ballot.choices:
        proposals = queries.proposals_by_id(list(ballot.choices))
    page = render_template("voting/check.html", asked=asked, ballot=ballot, proposals=proposals)
    # what a receipt shows is for its holder only: never kept by a browser or a proxy
    return page, (404 if asked and ballot is None else 200), {"Cache-Control": "no-store"}


@bp.get("/wijk/<slug>/rondes/<int:round_id>/bewijzen")
@public
def fingerprints(slug: str, round_id: int) -> Any:
    wijk, rnd = load_wijk_round(slug, round_id)
    if not rnd.has_reached(Phase.RESULT):
        abort(404)
    hashes = queries.receipt_fingerprints(rnd)
    return render_template(
        "voting/fingerprints.html",
        wijk=wijk,
        rnd=rnd,
        hashes=hashes,
        counted=queries.counted_ballots(rnd),
    )


# --- the board: codes ---------------------------------------------------------------------------


def _form_token() -> str:
    """A token for a form that makes something (codes, a paper batch): the same form sent twice
    (a double click) makes it once (the operation keeps the token, unique)."""
    return secrets.token_urlsafe(24)


def _sent_token() -> str | None:
    token = (request.form.get("form_token") or "").strip()
    return token[:64] or None


@bp.route("/wijk/<slug>/bestuur/rondes/<int:round_id>/stemcodes", methods=["GET", "POST"])
@board_required
def codes(wijk: Neighbourhood, round_id: int) -> Any:
    rnd = load_round(wijk, round_id)
    error, status = None, 200
    walk_in = None
    if request.method == "POST":
        action = request.form.get("action", "")
        try:
            if action == "generate":
                form = GenerateCodesForm(areas=wijk.areas)
                if not form.validate():
                    raise VotingError(first_error(form))
                area = next((a for a in wijk.areas if str(a.id) == form.area.data), None)
                batch = operations.generate_codes(
                    current_user,
                    rnd,
                    form.count.data,
                    area=area,
                    label=form.label.data or "",
                    form_token=_sent_token(),
                )
                flash(
                    _(
                        "%(n)d codes gemaakt. Print nu de brieven of download de lijst: "
                        "daarna zijn de codes niet meer te zien.",
                        n=batch.size,
                    ),
                    "success",
                )
                return redirect(url_for(".codes", slug=wijk.slug, round_id=round_id), 303)
            if action == "revoke_code":
                revoke = RevokeCodeForm()
                if not revoke.validate():
                    raise VotingError(first_error(revoke))
                if operations.revoke_code(current_user, rnd, revoke.code.data or ""):
                    flash(_("De code is ingetrokken."), "success")
                else:
                    flash(_("Deze code was al ingetrokken."), "success")
                return redirect(url_for(".codes", slug=wijk.slug, round_id=round_id), 303)
            if action == "from_register":
                batch = register.make_codes_from_register(
                    current_user, rnd, form_token=_sent_token()
                )
                flash(
                    _(
                        "%(n)d codes gemaakt uit de adressenlijst. Print nu de brieven of "
                        "download de lijst: daarna zijn de codes niet meer te zien.",
                        n=batch.size,
                    ),
                    "success",
                )
                return redirect(url_for(".codes", slug=wijk.slug, round_id=round_id), 303)
            if action == "walk_in":
                # in a round with an address register: for the visitor's address
                address_id = register.walk_in_address(
                    rnd,
                    request.form.get("postcode", "")[:16],
                    request.form.get("house_number", "")[:40],
                )
                walk_in = operations.issue_walk_in_code(current_user, rnd, address_id=address_id)
            else:
                batch = _batch(rnd, database_id(request.form.get("batch")) or 0)
                if action == "printed":
                    operations.mark_printed(current_user, batch, rnd)
                elif action == "revoke_batch":
                    operations.revoke_batch(current_user, batch, rnd)
                else:
                    abort(400)
                return redirect(url_for(".codes", slug=wijk.slug, round_id=round_id), 303)
        except DomainError as exc:
            error, status = exc.message, exc.status
        rnd = load_round(wijk, round_id)  # as it is now (after the use case, or its rollback)
    return render_template(
        "voting/codes.html",
        wijk=wijk,
        rnd=rnd,
        usage=queries.code_usage(rnd),
        error=error,
        walk_in=walk_in,
        turnout=queries.turnout(rnd),
        form_token=_form_token(),
    ), status


def _batch(rnd: Round, batch_id: int) -> CodeBatch:
    batch = db.session.get(CodeBatch, batch_id)
    if batch is None or batch.round_id != rnd.id:
        abort(404)
    return batch


def _not_shown(wijk: Neighbourhood, rnd: Round, error: DomainError) -> Any:
    """The codes cannot be shown (printed or revoked already: 410)."""
    status = 410 if type(error) is VotingError else error.status
    return render_template("voting/refused.html", wijk=wijk, rnd=rnd, refusal=error.message), status


@bp.post("/wijk/<slug>/bestuur/rondes/<int:round_id>/stemcodes/<int:batch_id>/brieven")
@board_required
def letters(wijk: Neighbourhood, round_id: int, batch_id: int) -> Any:
    """The letters to print. A form sends for them: showing the codes is logged, and a page
    that is only read writes nothing."""
    rnd = load_round(wijk, round_id)
    batch = _batch(rnd, batch_id)
    try:
        codes = operations.show_codes(current_user, rnd, batch)
    except DomainError as error:
        return _not_shown(wijk, rnd, error)
    vote_url = external_url(".enter_code")
    addresses = register.batch_addresses(batch, codes)  # codes made per address: on the letter
    return (
        render_template(
            "voting/letters.html",
            wijk=wijk,
            rnd=rnd,
            letters=list(zip(codes, addresses, strict=True)),
            vote_url=vote_url,
        ),
        200,
        {"Cache-Control": "no-store"},
    )


@bp.post("/wijk/<slug>/bestuur/rondes/<int:round_id>/stemcodes/<int:batch_id>.csv")
@board_required
def codes_csv(wijk: Neighbourhood, round_id: int, batch_id: int) -> Any:
    """The codes as a CSV file (sent for with a form, as the letters)."""
    rnd = load_round(wijk, round_id)
    batch = _batch(rnd, batch_id)
    try:
        codes = operations.show_codes(current_user, rnd, batch)
    except DomainError as error:
        return _not_shown(wijk, rnd, error)
    addresses = register.batch_addresses(batch, codes)
    if any(addresses):  # codes made per address: the address with each
        table = to_csv(
            ["stemcode", "postcode", "huisnummer"],
            [[c, *(a or ("", ""))] for c, a in zip(codes, addresses, strict=True)],
        )
    else:
        table = to_csv(["stemcode"], [[c] for c in codes])
    return Response(
        table,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="stemcodes-{batch_id}.csv"',
            "Cache-Control": "no-store",
        },
    )


# --- the board: paper ballots --------------------------------------------------------------------


@bp.route("/wijk/<slug>/bestuur/rondes/<int:round_id>/papier", methods=["GET", "POST"])
@board_required
def paper(wijk: Neighbourhood, round_id: int) -> Any:
    rnd = load_round(wijk, round_id)
    error, status = None, 200
    if request.method == "POST":
        form = PaperBatchForm()
        try:
            if not form.validate():
                raise VotingError(first_error(form))
            batch = operations.open_paper_batch(
                current_user,
                rnd,
                form.label.data or "",
                form.declared.data,
                form_token=_sent_token(),
            )
        except DomainError as exc:
            error, status = exc.message, exc.status
            rnd = load_round(wijk, round_id)  # as it is now (the use case rolled back)
        else:
            return redirect(
                url_for(".paper_batch", slug=wijk.slug, round_id=round_id, batch_id=batch.id), 303
            )
    batches = queries.paper_batches(rnd)
    return render_template(
        "voting/paper.html",
        wijk=wijk,
        rnd=rnd,
        batches=batches,
        error=error,
        form_token=_form_token(),
    ), status


@bp.route(
    "/wijk/<slug>/bestuur/rondes/<int:round_id>/papier/<int:batch_id>", methods=["GET", "POST"]
)
@board_required
def paper_batch(wijk: Neighbourhood, round_id: int, batch_id: int) -> Any:
    rnd = load_round(wijk, round_id)
    batch = db.session.get(PaperBatch, batch_id)
    if batch is None or batch.round_id != rnd.id:
        abort(404)
    error = None
    status = 200
    if request.method == "POST":
        action = request.form.get("action", "sheet")
        try:
            if action == "confirm":
                operations.confirm_paper_batch(current_user, rnd, batch)
                message = _("De stapel is bevestigd en telt mee.")
            elif action == "discard":
                operations.discard_paper_batch(current_user, rnd, batch)
                message = _("De stapel is weggegooid; niets ervan telt.")
            else:
                sheet = SheetForm()
                if not sheet.validate():
                    raise VotingError(first_error(sheet))
                operations.enter_sheet(
                    current_user,
                    rnd,
                    batch,
                    sheet.identifier.data or "",
                    _selection_from_form(rnd),
                )
                message = _("Het stembiljet is ingevoerd.")
        except AlreadyVoted as exc:
            # the sheet was not entered; the conflict itself is kept for the board
            operations.record_paper_conflict(current_user, rnd, batch)
            error, status = exc.message, exc.status
        except DomainError as exc:
            error, status = exc.message, exc.status
        else:
            flash(message, "success")
            return redirect(
                url_for(".paper_batch", slug=wijk.slug, round_id=round_id, batch_id=batch_id), 303
            )
        rnd = load_round(wijk, round_id)  # as they are now (the use case rolled back)
        batch = db.session.get(PaperBatch, batch_id)
        if batch is None:
            abort(404)
    return render_template(
        "voting/paper_batch.html",
        wijk=wijk,
        rnd=rnd,
        batch=batch,
        error=error,
        entered=queries.sheets_entered(batch),
        conflicts=queries.paper_conflicts(batch),
        proposals=queries.ballot_proposals(rnd),
    ), status


def voting_banner() -> dict[str, Any]:
    """For every page: the rounds where this visitor chose but did not cast yet."""
    pending = [int(k) for k, v in dict(session.get("ballots", {})).items() if v]
    if (request.endpoint or "").startswith("voting.") and request.view_args:
        # not on the pages of that vote itself (the ballot, the review): they show it already
        here = request.view_args.get("round_id")
        pending = [round_id for round_id in pending if round_id != here]
    if not pending or is_htmx() or request.endpoint in {"voting.receipt", "static"}:
        return {"pending_ballots": []}
    rounds = db.session.scalars(
        select(Round)
        .options(joinedload(Round.neighbourhood))  # for the link to each round's review page
        .where(Round.id.in_(pending), Round.phase == Phase.VOTING)
    ).all()
    return {"pending_ballots": rounds}
