"""The demo's boards and its conversation after the vote (issue 22.8): two board members per
wijk, so four eyes can be tried (one records or approves, the other confirms), and a question
about one of last year's funded projects with the board's answer. Called from demo.py, inside
its use case; each part is skipped when it is there already (the demo loaded before).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from .accounts.models import Role, User
from .demo_money import TREASURER
from .dialogue import operations as dialogue
from .dialogue.models import Thread
from .extensions import db, utcnow
from .neighbourhoods.models import Neighbourhood
from .rounds.models import Round
from .spending.models import FundedProject

#: (e-mail, name, wijk, buurt, postcode, birth year) of the board members besides Henk
DEMO_BOARDS = [
    (TREASURER[0], TREASURER[1], "West", TREASURER[2], TREASURER[3], 1975),
    ("bestuur.oost@example.org", "Ruud (bestuur Oost)", "Oost", "Wittevrouwen", "3582 AB", 1971),
    (
        "penningmeester.oost@example.org",
        "Yasmin (bestuur Oost)",
        "Oost",
        "Abstede",
        "3583 AB",
        1986,
    ),
]

#: what `flask demo-data` prints for them (the README's tour names each)
LOGINS = [
    (TREASURER[0], "tweede bestuurslid van West (vier ogen)"),
    ("bestuur.oost@example.org", "bestuur van wijk Oost"),
    ("penningmeester.oost@example.org", "tweede bestuurslid van Oost (vier ogen)"),
]

QUESTION = (
    "jan@example.org",
    "Wanneer komen de bankjes er? Ik loop er elke dag langs en zou graag even zitten.",
)
ANSWER = "Het hout is binnen. In het voorjaar zetten we ze samen met de buurt neer; je bent welkom!"


def add_boards(
    wijken: dict[str, Neighbourhood],
    make_user: Callable[..., User],
    ensure_role: Callable[[User, Role, Any], None],
    password: str,
) -> None:
    """A second board member for West and two for Oost (``make_user`` and ``ensure_role`` are
    demo.py's: an existing account is kept, the role and the demo's second factor added)."""
    for email, name, wijk_name, area, postcode, year in DEMO_BOARDS:
        wijk = wijken[wijk_name]
        user = make_user(email, name, password, wijk, area, postcode, year)
        ensure_role(user, Role.BOARD, wijk)


def add_conversation_after_the_vote(round_title: str, board: User) -> None:
    """Jan asks about the first funded project of ``round_title``; the board (``board``)
    answers as the board. Nothing when that round has no projects or the project has a thread."""
    project = db.session.scalar(
        select(FundedProject)
        .join(Round, Round.id == FundedProject.round_id)
        .where(Round.title == round_title)
        .order_by(FundedProject.id)
        .limit(1)
    )
    if project is None:
        return
    if db.session.scalar(select(Thread.id).where(Thread.project_id == project.id)) is not None:
        return
    asker = db.session.scalar(select(User).where(User.email == QUESTION[0]))
    if asker is None:
        return
    # last month (so a person trying the demo is not held by the 30-second pace)
    asked = utcnow() - timedelta(days=30)
    question = dialogue.ask_after_the_vote(asker, project, QUESTION[1], now=asked)
    answered = asked + timedelta(days=2)
    dialogue.post_comment(
        board, question.thread, ANSWER, parent=question, as_board=True, now=answered
    )
