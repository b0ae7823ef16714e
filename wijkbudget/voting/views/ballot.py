"""The voter's pages: the ballot (choose → review → cast → receipt), code entry, the receipt
check and the public list of receipts. Who may vote and what is wrong with a ballot are the
operations' rules (``operations.voter_refusal``, ``operations.problems``); the ballot form is
read by ``forms.read_ballot``; the ballot's items come from ``ballot_page`` (built once per
change). What these pages keep is the voter's draft and pending receipt in the session."""

from __future__ import annotations

import random
import secrets
from typing import Any

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from limits import parse as parse_limit
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from ...actions import Refusal, run_action
from ...extensions import db, limiter
from ...guards import public
from ...htmx import is_htmx
from ...loaders import load_round, load_wijk_round, visible_or_404
from ...neighbourhoods.models import Neighbourhood
from ...rounds import queries as round_queries
from ...rounds.models import Phase, Round
from ...throttle import address_key
from .. import ballot_page, operations, queries
from ..codes import group, new_receipt
from ..forms import CodeForm, ReceiptForm, read_ballot
from ..models import AlreadyVoted, Channel, VotingError
from ..operations import Turn
from .blueprint import bp, log

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


def _load_vote(slug: str, round_id: int) -> tuple[Neighbourhood, Round, bool]:
    """The wijk, the round, and whether the code this visitor entered for it can still vote,
    in one query (like load_wijk_round: these are the busiest pages of a vote)."""
    found, has_code = queries.round_with_code(slug, round_id, _code_id(round_id))
    rnd = visible_or_404(found)
    return rnd.neighbourhood, rnd, has_code


def _selection(rnd: Round) -> dict[int, int]:
    """The choices the ballot form sent (forms.read_ballot; VotingError for points that are no
    whole number)."""
    return read_ballot(rnd, request.form.items(multi=True))


def _ordered(rnd: Round, proposals: list[Any]) -> list[Any]:
    """A random order per voter (against position bias), the same on every visit."""
    seed = session.setdefault("ballot_seed", secrets.randbelow(2**31))
    items = list(proposals)
    random.Random(seed * 7919 + rnd.id).shuffle(items)  # noqa: S311 (an order, not a secret)
    return items


def _render_ballot(
    wijk: Neighbourhood,
    rnd: Round,
    selection: dict[int, int],
    status: int = 200,
    errors: list[str] | None = None,
) -> Any:
    html, costs = ballot_page.ballot_items(rnd)
    return render_template(
        "voting/ballot.html",
        wijk=wijk,
        rnd=rnd,
        items=ballot_page.fill_choices(rnd, html, _ordered(rnd, costs), selection),
        selection=selection,
        tally=operations.tally(rnd, selection, costs),
        errors=errors or [],
    ), status


def _gate(wijk: Neighbourhood, rnd: Round, has_code: bool) -> Any:
    """Where a visitor who cannot vote (yet) goes (operations.voter_refusal says why); None when
    they can."""
    user = current_user if current_user.is_authenticated else None
    refusal = operations.voter_refusal(rnd, user, has_code=has_code)
    if refusal is None:
        return None
    if refusal.turn == Turn.CLOSED:
        return render_template("voting/closed.html", wijk=wijk, rnd=rnd), 409
    if refusal.turn == Turn.CODE:
        return redirect(url_for(".enter_code", ronde=rnd.id), 303)
    if refusal.turn == Turn.LOGIN:
        return redirect(url_for("accounts.login", next=request.path), 303)
    if refusal.turn == Turn.ADDRESS:
        return redirect(url_for("voting_register.address", slug=wijk.slug, round_id=rnd.id), 303)
    status = 409 if refusal.turn == Turn.VOTED else 403
    return render_template(
        "voting/refused.html", wijk=wijk, rnd=rnd, refusal=refusal.message
    ), status


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
            selection = _selection(rnd)
        except VotingError as error:
            return _render_ballot(wijk, rnd, selection, 422, [error.message])
        _save_draft(rnd, selection)
    gate = _gate(wijk, rnd, has_code)
    if gate is not None:
        return gate
    if request.method == "POST":
        # the costs as on the ballot (the cast checks again, under a lock, from the database)
        errors = operations.problems(rnd, selection, ballot_page.ballot_items(rnd)[1])
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
        selection = _selection(rnd)
    except VotingError:
        selection = draft(rnd)
    _save_draft(rnd, selection)
    proposals = ballot_page.ballot_items(rnd)[1]
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
    code_id = _code_id(round_id) if rnd.eligibility.allows_codes else None
    code = queries.usable_code(code_id, rnd.id) if code_id else None
    gate = _gate(wijk, rnd, code is not None)
    if gate is not None:
        return _already_in(slug, round_id) or gate
    user = current_user if current_user.is_authenticated else None
    selection = draft(rnd)

    def refused(refusal: Refusal) -> Any:
        # a second click (409): the first one's ballot is in, and its receipt is shown
        done = _already_in(slug, round_id) if refusal.status == AlreadyVoted.status else None
        if done is not None:
            return done
        again = load_round(wijk, round_id)  # as it is now (the use case rolled back)
        return _render_ballot(wijk, again, selection, refusal.status, [refusal.message or ""])

    return run_action(
        lambda: operations.cast(
            rnd,
            selection,
            user=user,
            code=code,
            channel=Channel.CODE if code is not None else Channel.ONLINE,
            receipt=_pending_receipt(round_id),
        ),
        # (the round id from the URL, not rnd.id: the commit expired rnd)
        to=lambda receipt: _cast_done(slug, round_id, receipt),
        again=refused,
    )


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
    """Vote without an account: the code from the letter. ``?code=`` (the letter's QR code)
    fills the field in and does nothing else: the code is checked only when sent, the address
    is kept out of every log (logredact.py), of the page cache and of the Referer, and the page
    is never stored. ``?ronde=`` (from a round's pages) names the round, with its login for
    whoever has an account."""
    rnd = _named_round(request.args.get("ronde", ""))
    user = current_user if current_user.is_authenticated else None
    error = None
    status = 200
    typed = request.args.get("code", "")[:64]
    if request.method == "POST":
        form = CodeForm()
        typed = (form.code.data or "")[:64]
        found = operations.look_up_code(typed) if form.validate() else None
        if found is not None and found.code is not None:
            # (in the phase its dates give it: the vote may have opened by date a moment ago,
            # before the tick wrote it)
            rnd = round_queries.as_of_now(found.code.round)
            # may this code vote here now, for whoever holds it (a round that takes codes,
            # in voting; a logged-in account that voted already does not vote again with it)
            refusal = operations.voter_refusal(rnd, user, has_code=True)
            if refusal is None:
                return _code_accepted(rnd, found.code.id)
            error = refusal.message or _("Het stemmen is niet open.")
            status = 409 if refusal.turn in {Turn.VOTED, Turn.CLOSED} else 403
        else:
            g.voting_code_unknown = found is not None and found.unknown
            if g.voting_code_unknown:
                _count_wrong_code()
            # the same answer for a wrong, a used and a revoked code
            error = _(
                "Deze code werkt niet. Kijk of je hem goed hebt overgenomen, "
                "of vraag het bestuur om hulp."
            )
            status = 422
    page = render_template("voting/code.html", error=error, code=typed, rnd=rnd, user=user)
    # a code in the address or the field: kept by no browser cache, sent to no other page
    return page, status, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _named_round(text: str) -> Round | None:
    """The round a link to the code page names (``?ronde=``), if it is public and in voting."""
    if not text.isdecimal() or len(text) > 9:
        return None
    found = db.session.scalar(
        select(Round).options(joinedload(Round.neighbourhood)).where(Round.id == int(text))
    )
    if found is None or not found.is_published:
        return None
    found = round_queries.as_of_now(found)
    return found if found.phase == Phase.VOTING else None


def _code_accepted(rnd: Round, code_id: int) -> Any:
    """The code can vote: keep it in this browser's session for the round; to the ballot."""
    codes = dict(session.get("vote_codes", {}))
    codes[str(rnd.id)] = code_id
    session["vote_codes"] = codes
    # a code that can vote is a new voter in this browser (a used one is refused): what the
    # last one left here (the draft, the receipt of a cast whose answer got lost) is theirs,
    # not this voter's (a shared computer, the table at the buurthuis)
    _clear_draft(rnd.id)
    pending = dict(session.get("pending_receipts", {}))
    if pending.pop(str(rnd.id), None) is not None:
        session["pending_receipts"] = pending
    return redirect(url_for(".ballot", slug=rnd.neighbourhood.slug, round_id=rnd.id), 303)


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
