"""The close of a vote, the voting side: the sealed ballots opened with the round's private key
and written as counted ballots in a random order, the key wiped (``results.close_voting`` calls
:func:`unseal_ballots` under its lock on the round)."""

from __future__ import annotations

import secrets

from flask_babel import gettext as _
from sqlalchemy import delete, insert, select

from ... import sealing
from ...extensions import db, table_of
from ...rounds.models import Round
from ..models import Ballot, BallotChoice, SealedBallot, VotingError, new_ballot_id


def unseal_ballots(rnd: Round) -> int:
    """Part of closing the vote (``results.close_voting``, under its lock on the round): open
    every counted sealed ballot of the round with the round's private key, write them into
    ``ballot``/``ballot_choice`` in a random order with new random ids, delete the sealed rows
    and wipe the private key. Returns the number of ballots written.

    All in the close's transaction: the counted ballots share its ``xmin``, lie in random
    physical order, and from the commit on the database holds no key that opens a sealed
    ballot (an older backup does, sealed with the secret key: docs/ballot-secrecy.md). A key
    that does not open (the secret key changed during the vote) stops the close with a clear
    message, and nothing is lost."""
    sealed = db.session.scalars(
        select(SealedBallot.box).where(
            SealedBallot.round_id == rnd.id, SealedBallot.counted.is_(True)
        )
    ).all()
    if sealed and not rnd.ballot_private_key:
        raise VotingError(_("De sleutel van deze ronde ontbreekt: de stemmen kunnen niet open."))
    selections: list[dict[int, int]] = []
    if sealed:
        try:
            open_one = sealing.opener(rnd.ballot_private_key or b"")
            selections = [open_one(box) for box in sealed]
        except sealing.SealError as error:
            raise VotingError(
                _(
                    "De stemmen van deze ronde gaan niet open met de geheime sleutel van de "
                    "site. Is WIJKBUDGET_SECRET_KEY veranderd sinds het stemmen begon? Zet de "
                    "oude terug en sluit dan de stemming."
                )
            ) from error
    secrets.SystemRandom().shuffle(selections)
    ballots = []
    choices: list[dict[str, object]] = []
    for selection in selections:
        ballot_id = new_ballot_id()
        ballots.append({"id": ballot_id, "round_id": rnd.id})
        choices.extend(
            {"ballot_id": ballot_id, "proposal_id": pid, "points": points}
            for pid, points in sorted(selection.items())
        )
    connection = db.session.connection()
    for start in range(0, len(ballots), 5000):
        connection.execute(insert(table_of(Ballot)), ballots[start : start + 5000])
    for start in range(0, len(choices), 10000):
        connection.execute(insert(table_of(BallotChoice)), choices[start : start + 10000])
    db.session.execute(
        delete(SealedBallot)
        .where(SealedBallot.round_id == rnd.id)
        .execution_options(synchronize_session=False)
    )
    rnd.ballot_private_key = None
    return len(ballots)
