"""The verantwoording blueprint, one module per concern: money.py (the wijk's money and ledger,
checkpoints, exports, the round summary, the councillor's desks — public or read-only),
project.py (a funded project: its page, receipts and photos, recording expenses, progress,
planning), board.py (the board's decisions on expenses and projects), pot.py (the geldstroom
and the board's pot: income, confirming it, drawing a round's budget). ``bp`` and what they share
(loading a project, the project page) live in common.py."""

from __future__ import annotations

# each module adds its routes to ``bp`` when it is imported
from . import board, money, pot, project
from .common import bp

__all__ = ["board", "bp", "money", "pot", "project"]
