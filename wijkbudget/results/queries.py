"""Reading results: the stored result with its lines, the sentence that explains each line, the
downloads, and the "what if" recount of the stored ballots under the other rules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from babel.lists import format_list
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..exports import to_csv
from ..extensions import db
from ..money import format_cents
from ..proposals.models import Proposal
from ..rounds.models import Round
from ..spending.models import FundedProject
from .models import Result, ResultLine


def result_of(rnd: Round) -> Result | None:
    return db.session.scalar(
        select(Result)
        .where(Result.round_id == rnd.id)
        .options(
            selectinload(Result.lines)
            .selectinload(ResultLine.proposal)
            .selectinload(Proposal.images)  # the photo beside each line
        )
    )


def has_result(rnd: Round) -> bool:
    return db.session.scalar(select(Result.id).where(Result.round_id == rnd.id)) is not None


def rule_explained(result: Result) -> str:
    """The rule in two or three plain sentences."""
    if result.rule == "greedy":
        return str(
            _(
                "De voorstellen met de meeste stemmen gaan voor. Van boven naar beneden krijgt elk "
                "voorstel geld als het nog in het budget past; past het niet meer, dan komt het "
                "volgende aan de beurt."
            )
        )
    return str(
        _(
            "Elke stemmer krijgt een gelijk deel van het budget. Een voorstel wordt gekozen als de "
            "stemmers die het willen het samen kunnen betalen; voorstellen die minder geld per "
            "stemmer vragen gaan voor. Zo krijgt elke groep in de wijk een eerlijk deel, niet "
            "alleen de grootste groep."
        )
    )


def explanation(result: Result, line: ResultLine) -> str:
    """Why a proposal was (not) chosen, in a few plain sentences, from the figures the tally
    stored with the line (``ResultLine``: what was left of the budget at its turn; for equal
    shares what its supporters had and paid). The page, the CSV, the JSON and the API all read
    it from here. A result stored before those figures were kept gets a shorter sentence that
    is still true."""
    if line.stage == "unsupported":
        return str(_("Niemand heeft op dit voorstel gestemd."))
    if line.stage == "too-expensive":
        return str(_("Dit voorstel kost meer dan het hele budget."))
    if result.rule == "greedy" or line.stage == "completion":
        return _by_most_votes(result, line)
    if line.funded:
        return _bought_by_supporters(result, line)
    money = format_cents(line.supporters_money_cents or 0)
    cost = format_cents(line.cost_cents)
    if line.supporters == 1:
        had = _(
            "De enige voorstander had nog %(money)s van de benodigde %(cost)s.",
            money=money,
            cost=cost,
        )
    else:
        had = _(
            "De %(n)d voorstanders hadden samen nog %(money)s van de benodigde %(cost)s.",
            n=line.supporters,
            money=money,
            cost=cost,
        )
    said = [
        _("Niet gekozen."),
        had,
        _("Dat was te weinig: alleen wie voor een voorstel stemt, betaalt eraan mee."),
    ]
    return " ".join(str(part) for part in said)


def _votes(result: Result, line: ResultLine) -> str:
    if result.ballot_type == "cumulative":
        return str(ngettext("%(num)d punt", "%(num)d punten", line.score))
    return str(ngettext("%(num)d stem", "%(num)d stemmen", line.score))


def _by_most_votes(result: Result, line: ResultLine) -> str:
    """Greedy, and the greedy completion after equal shares: what was left at its turn."""
    votes = _votes(result, line)
    cost = format_cents(line.cost_cents)
    left = line.budget_left_cents
    if left is None:  # (a result stored before issue 22)
        if line.funded and line.stage == "completion":
            return str(
                _(
                    "Gekozen bij het aanvullen: na de verdeling was er nog geld over en dit "
                    "voorstel (%(votes)s) paste daarin.",
                    votes=votes,
                )
            )
        if line.funded:
            return str(_("Gekozen: %(votes)s, en het paste nog in het budget.", votes=votes))
        return str(
            _(
                "Niet gekozen: %(votes)s; toen het aan de beurt was, paste %(cost)s niet meer "
                "in wat er over was.",
                votes=votes,
                cost=cost,
            )
        )
    if line.funded and line.stage == "completion":
        return str(
            _(
                "Gekozen bij het aanvullen, als nummer %(rank)d. Na de verdeling in gelijke "
                "delen was er nog %(left)s over. Dit voorstel (%(votes)s) kost %(cost)s en "
                "paste daarin; het is betaald van het geld dat over was. Daarna was er nog "
                "%(after)s over.",
                rank=line.rank,
                left=format_cents(left),
                votes=votes,
                cost=cost,
                after=format_cents(left - line.cost_cents),
            )
        )
    if line.funded:
        return str(
            _(
                "Gekozen als nummer %(rank)d: %(votes)s. Toen het aan de beurt was, was er nog "
                "%(left)s van het budget over. Het kost %(cost)s en dat paste. Daarna was er "
                "nog %(after)s over.",
                rank=line.rank,
                votes=votes,
                left=format_cents(left),
                cost=cost,
                after=format_cents(left - line.cost_cents),
            )
        )
    return str(
        _(
            "Niet gekozen: %(votes)s. Toen het aan de beurt was, was er nog %(left)s van het "
            "budget over. Het kost %(cost)s en dat paste niet meer.",
            votes=votes,
            left=format_cents(left),
            cost=cost,
        )
    )


def _bought_by_supporters(result: Result, line: ResultLine) -> str:
    """Chosen by equal shares: what its supporters had left, what they paid, who else paid."""
    cost = format_cents(line.cost_cents)
    if line.supporters_had_cents is None or line.price_cents is None:  # (before issue 22)
        return str(
            _(
                "Gekozen als nummer %(rank)d: de voorstanders konden de %(cost)s samen betalen "
                "van hun deel van het budget.",
                rank=line.rank,
                cost=cost,
            )
        )
    said = [_("Gekozen als nummer %(rank)d.", rank=line.rank)]
    share = result.voter_share_cents
    if share is not None:
        said.append(
            _("Iedereen die stemde, kreeg %(share)s te besteden.", share=format_cents(share))
        )
    said.append(
        ngettext(
            "Toen dit voorstel aan de beurt was, had de enige voorstander nog %(had)s over.",
            "Toen dit voorstel aan de beurt was, hadden de %(num)d voorstanders samen nog "
            "%(had)s over.",
            line.supporters,
            had=format_cents(line.supporters_had_cents),
        )
    )
    if share is not None and line.supporters_had_cents < line.supporters * share:
        said.append(_("De rest was al betaald aan voorstellen die eerder gekozen werden."))
    said.append(_("Samen betaalden ze de %(cost)s die het kost:", cost=cost))
    price = format_cents(line.price_cents)
    full = line.paid_in_full or 0
    if full and result.ballot_type == "cumulative":
        said.append(
            ngettext(
                "%(num)d voorstander betaalde %(price)s per punt dat hij of zij gaf.",
                "%(num)d voorstanders betaalden ieder %(price)s per punt dat ze gaven.",
                full,
                price=price,
            )
        )
    elif full:
        said.append(
            ngettext(
                "%(num)d voorstander betaalde %(price)s.",
                "%(num)d voorstanders betaalden ieder %(price)s.",
                full,
                price=price,
            )
        )
    if line.paid_all_left:
        said.append(
            ngettext(
                "%(num)d voorstander had minder over en betaalde alles wat er nog was: %(money)s.",
                "%(num)d voorstanders hadden minder over en betaalden alles wat ze nog "
                "hadden: samen %(money)s.",
                line.paid_all_left,
                money=format_cents(line.paid_all_left_cents or 0),
            )
        )
    if line.had_nothing_left:
        said.append(
            ngettext(
                "%(num)d voorstander had niets meer over en betaalde niet mee.",
                "%(num)d voorstanders hadden niets meer over en betaalden niet mee.",
                line.had_nothing_left,
            )
        )
    said.append(_("Wie niet voor dit voorstel stemde, betaalde er niet aan mee."))
    return " ".join(str(part) for part in said)


def lines_with_explanations(result: Result) -> list[tuple[ResultLine, str]]:
    return [(line, explanation(result, line)) for line in result.lines]


def as_rows(result: Result) -> list[dict[str, Any]]:
    return [
        {
            "rank": line.rank,
            "proposal_id": line.proposal_id,
            "title": line.proposal.title,
            "funded": line.funded,
            "score": line.score,
            "supporters": line.supporters,
            "cost_cents": line.cost_cents,
            "supporters_money_cents": line.supporters_money_cents,
            **figures(line),
            "explanation": explanation(result, line),
        }
        for line in result.lines
    ]


def figures(line: ResultLine) -> dict[str, int | None]:
    """The figures behind a line's explanation, as the downloads and the API give them."""
    return {
        "budget_left_cents": line.budget_left_cents,
        "supporters_had_cents": line.supporters_had_cents,
        "price_cents": line.price_cents,
        "paid_in_full": line.paid_in_full,
        "paid_all_left": line.paid_all_left,
        "paid_all_left_cents": line.paid_all_left_cents,
        "had_nothing_left": line.had_nothing_left,
    }


def as_json(result: Result) -> str:
    return json.dumps(
        {
            "round_id": result.round_id,
            "rule": result.rule,
            "completion": result.completion,
            "tie_break": result.tie_break,
            "ballot_type": result.ballot_type,
            "budget_cents": result.budget_cents,
            "cost_cents": result.cost_cents,
            "left_cents": result.left_cents,
            "voter_share_cents": result.voter_share_cents,
            "ballots_counted": result.ballots_counted,
            "ballots_sha256": result.ballots_sha256,
            "closed_at": result.closed_at.isoformat(),
            "proposals": as_rows(result),
        },
        ensure_ascii=False,
        indent=2,
    )


def as_csv(result: Result) -> str:
    """The result as a CSV file; titles and explanations that look like a formula arrive as
    text (exports.neutralise)."""
    header = ["plek", "voorstel", "titel", "gekozen", "stemmen_of_punten", "voorstanders",
              "kosten_euro", "uitleg", "over_bij_beurt_euro", "voorstanders_hadden_euro",
              "volle_deel_euro", "betaalden_vol", "betaalden_alles_wat_over_was",
              "betaalden_alles_wat_over_was_euro", "hadden_niets_meer"]  # fmt: skip
    rows = [
        [
            row["rank"],
            row["proposal_id"],
            row["title"],
            "ja" if row["funded"] else "nee",
            row["score"],
            row["supporters"],
            _euros(row["cost_cents"]),
            row["explanation"],
            _euros(row["budget_left_cents"]),
            _euros(row["supporters_had_cents"]),
            _euros(row["price_cents"]),
            _count(row["paid_in_full"]),
            _count(row["paid_all_left"]),
            _euros(row["paid_all_left_cents"]),
            _count(row["had_nothing_left"]),
        ]
        for row in as_rows(result)
    ]
    return to_csv(header, rows)


def _euros(cents: int | None) -> str:
    """Cents as euros with a decimal point (as a spreadsheet reads them); empty for none."""
    return "" if cents is None else f"{cents // 100}.{cents % 100:02d}"


def _count(n: int | None) -> str | int:
    return "" if n is None else n


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    official: bool
    funded: list[int]  # proposal ids in selection order
    cost_cents: int


VARIANTS = (
    ("greedy", None),
    ("equal-shares", "add1"),
    ("equal-shares", "greedy"),
)


def variant_label(rule: str, completion: str | None) -> str:
    if rule == "greedy":
        return str(_("Meeste stemmen (greedy)"))
    if completion == "greedy":
        return str(_("Gelijke delen, aangevuld met meeste stemmen"))
    return str(_("Gelijke delen (Method of Equal Shares)"))


def what_if(result: Result) -> list[Variant]:
    """The same stored ballots under each rule. Only the official one is the result."""
    from ..tally import pabulib, rules  # numpy: loaded when counting, not at start-up

    election = pabulib.parse(result.ballots_file)
    cost_of = {line.proposal_id: line.cost_cents for line in result.lines}
    variants = []
    for rule, completion in VARIANTS:
        outcome = rules.run(election, rule, completion, parallel=False)  # a page view: no fork
        funded = [int(pid) for pid in outcome.funded]
        variants.append(
            Variant(
                key=f"{rule}/{completion or '-'}",
                label=variant_label(rule, completion),
                official=(rule, completion) == (result.rule, result.completion),
                funded=funded,
                cost_cents=sum(cost_of.get(pid, 0) for pid in funded),
            )
        )
    return variants


@dataclass(frozen=True)
class Bar:
    line: ResultLine
    width: float  # percent of the longest bar (the most votes or points)


@dataclass(frozen=True)
class Piece:
    """A piece of the budget bar: a chosen proposal's cost, or what is left (``line`` None)."""

    line: ResultLine | None
    cents: int
    x: float  # where it starts and how wide it is, in percent of the budget
    width: float


@dataclass(frozen=True)
class Chart:
    """What the result page draws: a bar per proposal (votes or points) in the order of the
    list, the money line after the last chosen one, and the budget as the chosen proposals'
    costs and what is left. The text beside each bar says the same in words."""

    bars: list[Bar]
    funded: int
    budget: list[Piece]
    chosen: str  # the chosen proposals' titles as a list in words ("A, B en C")


def bar_chart(result: Result) -> Chart:
    top = max((line.score for line in result.lines), default=0) or 1
    total = result.budget_cents or 1
    bars = [Bar(line, round(100 * line.score / top, 1)) for line in result.lines]
    funded = [line for line in result.lines if line.funded]
    budget: list[Piece] = []
    x = 0.0
    for line in [*funded, None]:
        cents = line.cost_cents if line is not None else result.left_cents
        width = round(100 * cents / total, 1)
        budget.append(Piece(line, cents, x, width))
        x = round(x + width, 1)
    return Chart(
        bars=bars,
        funded=len(funded),
        budget=budget,
        chosen=format_list([line.proposal.title for line in funded], locale=get_locale()),
    )


def projects_of(result: Result) -> dict[int, int]:
    """The funded project of each chosen proposal (proposal id → project id), one query."""
    return {
        proposal_id: project_id
        for proposal_id, project_id in db.session.execute(
            select(FundedProject.proposal_id, FundedProject.id).where(
                FundedProject.round_id == result.round_id
            )
        )
    }


def chosen_projects(rnd: Round) -> list[tuple[FundedProject, int]]:
    """The round's chosen proposals as projects, in the order the count chose them, with the
    money each got: one query (the proposal's title loaded with it)."""
    rows = db.session.execute(
        select(FundedProject, ResultLine.cost_cents)
        .join(ResultLine, ResultLine.proposal_id == FundedProject.proposal_id)
        .join(Result, Result.id == ResultLine.result_id)
        .where(Result.round_id == rnd.id, ResultLine.funded.is_(True))
        .options(joinedload(FundedProject.proposal))
        .order_by(ResultLine.rank)
    )
    return [(project, int(cents)) for project, cents in rows]
