"""Use cases of the verantwoording: grants from a result, expenses with four eyes, reallocations,
closing a project, progress updates, and the hash-chained ledger every money event goes into.

Each use case is one transaction (:func:`~wijkbudget.usecase.use_case`). The locks are always
taken in one order, so two use cases never wait for each other in a circle:

    project (``funded_project``) → expense → wijk (``neighbourhood``, taken by :func:`append`)

A guard that reads a project's money (its grant, what is spent and pending) reads it under the
project's lock, one that reads the wijk's free money under the wijk's lock: the use cases that
change those sums take the same lock first, so a guard never judges by a sum that is changing.

One module per concern: ledger.py (append and the auditor's checks), projects.py (grants,
reallocation, penvoerder, planning), expenses.py (record, approve, reject, reverse),
progress.py (updates, milestones, closing), pot.py (money coming in, a round's budget drawn from
the wijk's pot, its rest flowing back), common.py (the checks they share). Callers use
``operations.<name>``: the names are gathered here.
"""

from __future__ import annotations

from .common import REASON_MAX
from .expenses import (
    ExpenseData,
    approve_expense,
    record_expense,
    reject_expense,
    reverse_expense,
)
from .ledger import (
    EXPECTED_BOOKINGS,
    VERIFY_BATCH,
    Verification,
    append,
    verify,
    verify_all,
    verify_chain,
)
from .pot import (
    IncomeData,
    confirm_income,
    draw_budget,
    drawn_for_round,
    record_income,
    return_leftover,
    withdraw_income,
)
from .progress import MAX_PHOTOS, add_update, close_project
from .projects import grant_chosen, reallocate, set_plan, set_treasurer

__all__ = [
    "EXPECTED_BOOKINGS",
    "MAX_PHOTOS",
    "REASON_MAX",
    "VERIFY_BATCH",
    "ExpenseData",
    "IncomeData",
    "Verification",
    "add_update",
    "append",
    "approve_expense",
    "close_project",
    "confirm_income",
    "draw_budget",
    "drawn_for_round",
    "grant_chosen",
    "reallocate",
    "record_expense",
    "record_income",
    "reject_expense",
    "return_leftover",
    "reverse_expense",
    "set_plan",
    "set_treasurer",
    "verify",
    "verify_all",
    "verify_chain",
    "withdraw_income",
]
