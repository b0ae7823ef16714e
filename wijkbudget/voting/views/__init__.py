"""Voting pages: the ballot (choose → review → cast → receipt), code entry and the receipt check
(``ballot``), the board's codes (``board``), the letters with codes from an address list
(``letters``), paper batches and the paper kit (``paper``), on one blueprint
(``blueprint``). Every step works without JavaScript; htmx only updates the budget bar while
ticking.

The views never commit or roll back: each change is an operation (a use case) run through
``actions.run_action``; a refusal comes back as a DomainError whose message the page shows with
its status.
"""

from __future__ import annotations

from . import board as board  # the board's pages, registered on the blueprint
from . import letters as letters  # the letters with voting codes
from . import paper as paper  # paper batches and the paper kit
from . import places as places  # the board's voting places
from .ballot import voting_banner
from .blueprint import bp

__all__ = ["board", "bp", "letters", "paper", "places", "voting_banner"]
