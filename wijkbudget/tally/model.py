"""An election as the rules count it. Everything is exact: costs and the budget are whole numbers
of internal units (``scale`` internal units make one unit of the currency)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class BallotKind(enum.StrEnum):
    APPROVAL = "approval"  # a set of projects (choose-1 files are approval with one project)
    CUMULATIVE = "cumulative"  # points per project (scoring files are read as cumulative)
    ORDINAL = "ordinal"  # a ranking; the rules count it as approval of every ranked project


@dataclass(frozen=True)
class Project:
    id: str
    cost: int  # internal units, > 0 unless the file says 0
    name: str = ""


@dataclass
class Election:
    """``ballots``: one dict per voter, project id → points (1 for approval and ordinal; ordinal
    ballots keep the ranking in the dict's order). Empty ballots count as voters."""

    projects: dict[str, Project]
    budget: int
    kind: BallotKind
    ballots: list[dict[str, int]]
    scale: int = 1  # decimal costs in a file ("1234.50") are scaled to whole units: here 100
    meta: dict[str, str] = field(default_factory=dict)
    selected: set[str] | None = None  # the PROJECTS section's "selected" column, when present
    notes: list[str] = field(default_factory=list)  # e.g. "ordinal ballots counted as approval"

    @property
    def voters(self) -> int:
        return len(self.ballots)
