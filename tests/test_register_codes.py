"""Codes that can vote keep the address register in place before the vote: any such code stops
an upload, a code made from the register stops erasing it; revoked codes stop nothing. The
audit entries say how many addresses were stored, replaced and erased."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from wijkbudget.audit.models import AuditEvent
from wijkbudget.extensions import db
from wijkbudget.rounds.models import Phase
from wijkbudget.voting import operations, register
from wijkbudget.voting.models import VotingError


def _after(action: str) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.after).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def test_codes_stop_an_upload_until_they_are_revoked(west, board, make_round):
    rnd = make_round(west, Phase.REVIEW)
    batch = operations.generate_codes(board, rnd, 2)
    with pytest.raises(VotingError, match="al 2 stemcodes"):
        register.upload_register(board, rnd, b"3531 AB;1\n")
    operations.revoke_batch(board, batch, rnd)
    register.upload_register(board, rnd, b"3531 AB;1\n")
    assert _after("register.upload") == ["adressen=1, stemmers=1"]


def test_register_codes_stop_the_erase_until_they_are_revoked(west, board, make_round):
    rnd = make_round(west, Phase.REVIEW)
    register.upload_register(board, rnd, b"3531 AB;1;2\n3531 AB;3\n")
    register.upload_register(board, rnd, b"3531 AB;1;2\n3531 AB;3\n3531 AB;5\n")
    assert _after("register.upload") == [
        "adressen=2, stemmers=3",
        "adressen=3, stemmers=4, vervangen=2",
    ]
    one = register.find_address(rnd.id, "3531 AB", "1")
    letters = operations.generate_codes(board, rnd, 1, addresses=[one.id], label="Brieven")
    with pytest.raises(VotingError, match="1 stemcodes gemaakt uit deze adressenlijst"):
        register.erase_register(board, rnd)
    operations.revoke_batch(board, letters, rnd)
    assert register.erase_register(board, rnd) == 3
    assert _after("register.erase") == ["adressen=3"]
    assert register.erase_register(board, rnd) == 0  # nothing left: erased again, harmless
