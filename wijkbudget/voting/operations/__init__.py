"""Voting use cases: check a ballot against the round's rules, cast it (one per person, by the
database), receipts, printed codes, paper batches with a second board member's confirmation,
and the close's unsealing. Board actions are audit-logged; no log line links a ballot to a voter.

Every operation that writes is a use case (``@use_case``): one transaction that it commits or
rolls back itself; its docstring says what it locks. Lock order: the paper batch, then the
round, then a code's row (a cast takes the round and then the code; entering a sheet takes its
batch first).

By concern: ``ballot`` (the rules: what a selection adds up to, what is wrong with it, who may
vote), ``cast`` (storing a ballot), ``codes`` (printed codes and what a typed code is),
``paper`` (paper batches: sheets entered and struck out, the batch confirmed or discarded),
``close`` (the sealed ballots opened at the close), ``letters`` (letters with codes from an
address list, and the letters of a batch for the PDF and the print shop). Callers use
``from wijkbudget.voting import operations; operations.cast(...)``: the names are here.
"""

from __future__ import annotations

from ..models import AlreadyVoted, VotingError
from .ballot import (
    Tally,
    Turn,
    VoterRefusal,
    account_refusal,
    eligibility_refusal,
    problems,
    tally,
    voter_refusal,
)
from .cast import cast
from .close import unseal_ballots
from .codes import (
    MAX_BATCH,
    CodeLookup,
    batch_codes,
    find_code,
    generate_codes,
    issue_walk_in_code,
    look_up_code,
    make_codes_from_register,
    mark_printed,
    note_many_wrong_codes,
    revoke_batch,
    revoke_code,
    show_codes,
)
from .letters import Letter, make_letters, show_letters
from .paper import (
    confirm_paper_batch,
    discard_paper_batch,
    enter_sheet,
    four_eyes_refusal,
    open_paper_batch,
    record_paper_conflict,
    strike_sheet,
)

__all__ = [
    "MAX_BATCH",
    "AlreadyVoted",
    "CodeLookup",
    "Letter",
    "Tally",
    "Turn",
    "VoterRefusal",
    "VotingError",
    "account_refusal",
    "batch_codes",
    "cast",
    "confirm_paper_batch",
    "discard_paper_batch",
    "eligibility_refusal",
    "enter_sheet",
    "find_code",
    "four_eyes_refusal",
    "generate_codes",
    "issue_walk_in_code",
    "look_up_code",
    "make_letters",
    "make_codes_from_register",
    "mark_printed",
    "note_many_wrong_codes",
    "open_paper_batch",
    "problems",
    "record_paper_conflict",
    "revoke_batch",
    "revoke_code",
    "show_codes",
    "show_letters",
    "strike_sheet",
    "tally",
    "unseal_ballots",
    "voter_refusal",
]
