"""The demo's money coming in: wijk West's pot before last year's round — the municipality's
grant and a sponsor, each recorded by one board member and confirmed by the other, the round's
budget drawn from the pot — and this year's grant waiting for the second board member, so the
tour can show four eyes and the draw. Called once from demo.py, inside its use case.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from .accounts.models import Role, RoleAssignment, User
from .extensions import db
from .rounds.models import Round
from .spending import operations as spending

#: the second board member of West, when the demo has none yet: who confirms what Henk records
TREASURER = ("penningmeester.west@example.org", "Anouk (bestuur West)", "Welgelegen", "3532 AB")

#: (source, purpose, euros, days before now it came in, recorded by Henk?, confirmed?)
INCOME = [
    ("Gemeente Utrecht", "Wijkbudget West 2026", 45_000, 220, True, True),
    ("Bakkerij Van der Linden (sponsor)", "Bankjes en groen in de wijk", 2_500, 215, False, True),
    ("Gemeente Utrecht", "Wijkbudget West 2027", 40_000, 10, True, False),
]


def _other_board_member(rnd: Round, board: User) -> User | None:
    return db.session.scalar(
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(
            RoleAssignment.role == Role.BOARD,
            RoleAssignment.neighbourhood_id == rnd.neighbourhood_id,
            User.id != board.id,
        )
        .order_by(User.id)
        .limit(1)
    )


def fund_round(
    rnd: Round,
    board: User,
    now: datetime,
    make_user: Callable[..., User],
    ensure_role: Callable[[User, Role, Any], None],
    password: str,
) -> None:
    """Income into West's pot (two confirmed, one waiting) and ``rnd``'s budget drawn from it,
    before its vote is counted (so what the result leaves flows back). ``make_user`` and
    ``ensure_role`` are demo.py's, for the second board member when there is none yet."""
    second = _other_board_member(rnd, board)
    if second is None:
        email, name, area, postcode = TREASURER
        second = make_user(email, name, password, rnd.neighbourhood, area, postcode, 1975)
        ensure_role(second, Role.BOARD, rnd.neighbourhood)
    for source, purpose, euros, days, by_board, confirmed in INCOME:
        recorder, confirmer = (board, second) if by_board else (second, board)
        when = now - timedelta(days=days)
        income = spending.record_income(
            recorder,
            rnd.neighbourhood,
            spending.IncomeData(euros * 100, source, when.date(), purpose),
        )
        income.recorded_at = when
        if confirmed:
            spending.confirm_income(confirmer, income, now=when + timedelta(days=2))
    spending.draw_budget(board, rnd, now=now - timedelta(days=210))
