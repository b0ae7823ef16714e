"""Reading results: the stored result with its lines, the sentence that explains each line, the
downloads, and the "what if" recount of the stored ballots under the other rules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..exports import to_csv
from ..extensions import db
from ..money import format_cents
from ..rounds.models import Round
from .models import Result, ResultLine


def result_of(rnd: Round) -> Result | None:
    return db.session.scalar(
        select(Result)
        .where(Result.round_id == rnd.id)
        .options(selectinload(Result.lines).selectinload(ResultLine.proposal))
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
    """One sentence per proposal: why it was (not) chosen, from the engine's figures."""
    cost = format_cents(line.cost_cents)
    votes = (
        ngettext("%(num)d punt", "%(num)d punten", line.score)
        if result.ballot_type == "cumulative"
        else ngettext("%(num)d stem", "%(num)d stemmen", line.score)
    )
    if line.stage == "unsupported":
        return str(_("Niemand heeft op dit voorstel gestemd."))
    if line.stage == "too-expensive":
        return str(_("Dit voorstel kost meer dan het hele budget."))
    if result.rule == "greedy" or line.stage == "completion":
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
                "Niet gekozen: %(votes)s; toen het aan de beurt was, paste %(cost)s niet meer in "
                "wat er over was.",
                votes=votes,
                cost=cost,
            )
        )
    money = format_cents(line.supporters_money_cents or 0)
    if line.funded:
        return str(
            _(
                "Gekozen: de %(n)d voorstanders hadden samen %(money)s, genoeg voor de %(cost)s "
                "die het kost.",
                n=line.supporters,
                money=money,
                cost=cost,
            )
        )
    return str(
        _(
            "De %(n)d voorstanders hadden samen nog %(money)s van de benodigde %(cost)s.",
            n=line.supporters,
            money=money,
            cost=cost,
        )
    )


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
            "explanation": explanation(result, line),
        }
        for line in result.lines
    ]


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
              "kosten_euro", "uitleg"]  # fmt: skip
    rows = [
        [
            row["rank"],
            row["proposal_id"],
            row["title"],
            "ja" if row["funded"] else "nee",
            row["score"],
            row["supporters"],
            f"{row['cost_cents'] // 100}.{row['cost_cents'] % 100:02d}",
            row["explanation"],
        ]
        for row in as_rows(result)
    ]
    return to_csv(header, rows)


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


def bar_chart(result: Result) -> dict[str, Any]:
    """Geometry for the server-rendered SVG: one bar per proposal, scaled to the highest score,
    and where the funding line falls (after the last funded proposal)."""
    top = max((line.score for line in result.lines), default=0) or 1
    row, label_width, bar_width = 28, 0, 100
    bars = [
        {
            "y": i * row,
            "width": round(bar_width * line.score / top, 2),
            "line": line,
        }
        for i, line in enumerate(result.lines)
    ]
    funded = sum(1 for line in result.lines if line.funded)
    return {
        "bars": bars,
        "height": max(len(bars), 1) * row,
        "row": row,
        "label_width": label_width,
        "funding_line_y": funded * row,
        "funded": funded,
    }
