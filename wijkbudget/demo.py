"""The demo: a small Utrecht-like city (two wijken, residents, a board member, a councillor and an
admin, all with one printed password), a round in its proposal phase and a past round counted,
funded and partly spent — what ``flask demo-data`` puts in an empty database.

It runs as one use case (``seed_demo_data``): the operations it calls join its transaction, so
the demo lands whole or not at all.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from . import demo_money, demo_people
from .accounts import mfa
from .accounts import operations as accounts
from .accounts.models import Role, User
from .accounts.passwords import hash_password
from .demo_pictures import add_demo_pictures
from .extensions import db, utcnow
from .maps.demo import load_demo_map
from .neighbourhoods import operations as neighbourhoods
from .neighbourhoods.models import Neighbourhood
from .proposals import operations as proposals
from .proposals.models import CostLine, Proposal, State
from .results import operations as results
from .rounds import operations as rounds
from .rounds.models import PHASES, Aggregation, Eligibility, Phase, Round
from .spending import operations as spending
from .spending.models import FundedProject, PayeeType
from .usecase import use_case
from .voting import operations as voting
from .voting.models import Channel

DEMO_PASSWORD = "lente-in-de-wijk-2026"  # noqa: S105 (demo accounts only, printed on purpose)

DEMO_WIJKEN: list[dict[str, Any]] = [
    {
        "name": "West",
        "cbs_code": "WK034403",
        "postcodes": "3531-3533",
        "description": (
            "Lombok, Oog in Al en Welgelegen: de wijk tussen het Kanaleneiland en de binnenstad."
        ),
        "areas": ["Lombok", "Oog in Al", "Welgelegen", "Nieuw Engeland"],
    },
    {
        "name": "Oost",
        "cbs_code": "WK034405",
        "postcodes": "3581-3585",
        "description": "Van de Oudwijk tot Rijnsweerd: oude straten, parken en de Uithof.",
        "areas": ["Oudwijk", "Wittevrouwen", "Abstede", "Rijnsweerd"],
    },
]

# (e-mail, name, wijk, buurt, postcode, birth year)
DEMO_RESIDENTS = [
    ("fatima@example.org", "Fatima", "West", "Lombok", "3531 AB", 1984),
    ("jan@example.org", "Jan", "West", "Lombok", "3531 CD", 1957),
    ("sanne@example.org", "Sanne", "West", "Oog in Al", "3532 EF", 1991),
    ("mohamed@example.org", "Mohamed", "West", "Welgelegen", "3532 GH", 2004),
    ("els@example.org", "Els", "West", "Nieuw Engeland", "3533 JK", 1949),
    ("daan@example.org", "Daan", "West", "Oog in Al", "3532 LM", 2010),
    ("priya@example.org", "Priya", "Oost", "Oudwijk", "3581 AB", 1988),
    ("kees@example.org", "Kees", "Oost", "Wittevrouwen", "3582 CD", 1962),
    ("noor@example.org", "Noor", "Oost", "Abstede", "3583 EF", 1999),
    ("tim@example.org", "Tim", "Oost", "Rijnsweerd", "3584 GH", 1976),
    ("ayse@example.org", "Ayşe", "Oost", "Oudwijk", "3581 JK", 1969),
    ("lotte@example.org", "Lotte", "Oost", "Abstede", "3583 LM", 2001),
]
DEMO_BOARD = ("bestuur.west@example.org", "Henk (bestuur West)", "West", "Lombok", "3531 EF", 1960)
DEMO_COUNCILLOR = "raadslid@example.org"
DEMO_ADMIN = "beheer@example.org"
#: The demo's staff accounts share this second-factor key, printed by `demo-data` and in the
#: README: add it to any authenticator app, or run `flask --app wsgi demo-code`. A public key:
#: only for the demo accounts, which every real site deletes or never makes.
DEMO_TOTP_SECRET = "WIJKBUDGETDEMOWIJKBUDGETDEMO2345"  # noqa: S105 (public, demo only)


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _make_user(
    email: str,
    name: str,
    password: str,
    wijk: Neighbourhood | None = None,
    area_name: str | None = None,
    postcode: str | None = None,
    birth_year: int | None = None,
) -> User:
    user = _user(email)
    if user is not None:
        return user
    area = next((a for a in wijk.areas if a.name == area_name), None) if wijk else None
    user = User(
        email=email,
        display_name=name,
        password_hash=hash_password(password),
        neighbourhood=wijk,
        area=area,
        postcode=postcode,
        birth_year=birth_year,
        email_verified_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def _ensure_role(user: User, role: Role, wijk: Neighbourhood | None) -> None:
    if not accounts.has_role(user, role, wijk):
        accounts.grant_role(None, user, role, wijk, via="cli")
    if not user.has_second_factor:  # a role signs in with a second factor: the demo's key
        db.session.flush()
        user.totp_secret = mfa.seal(DEMO_TOTP_SECRET, user.id)
        user.totp_enabled_at = utcnow()


DEMO_PROPOSALS = [
    # (submitter, title, summary, category, buurt, cost lines)
    (
        "fatima@example.org",
        "Bloembakken in de Kanaalstraat",
        "Zes grote bakken met vaste planten voor de winkels; de buren geven water.",
        "Groen",
        "Lombok",
        [("Zes bakken van hout", 120_000), ("Planten en aarde", 45_000)],
    ),
    (
        "jan@example.org",
        "Bankjes bij het Muntplein",
        "Drie bankjes in de schaduw, zodat ouderen onderweg kunnen uitrusten.",
        "Ontmoeting",
        "Oog in Al",
        [("Drie bankjes", 270_000), ("Plaatsen door de gemeente", 60_000)],
    ),
    (
        "sanne@example.org",
        "Buurtkast met gereedschap",
        "Een kast waar je een boor, ladder of steekwagen kunt lenen.",
        "Ontmoeting",
        "Welgelegen",
        [("Kast met slot", 80_000), ("Gereedschap", 95_000)],
    ),
    (
        "mohamed@example.org",
        "Voetbalkooi opknappen",
        "Nieuwe netten en een likje verf voor de kooi aan de Vleutenseweg.",
        "Jeugd",
        "Lombok",
        [("Netten", 150_000), ("Verf en kwasten", 40_000), ("Hulp van een schilder", 110_000)],
    ),
]


def _new_round(board: User, wijk: Neighbourhood, data: rounds.RoundData) -> Round | None:
    """The demo round ``data`` of ``wijk``, created by its board member; None when a round of
    that title is there already (the demo was loaded before)."""
    if db.session.scalar(select(Round.id).where(Round.title == data.title)) is not None:
        return None
    return rounds.create_round(board, wijk, data)


def _phases_from(now: datetime, *days: int) -> dict[Phase, datetime | None]:
    """The start of each phase from submission on: ``days`` days after ``now``, in the order of
    the phases (negative: before)."""
    return {phase: now + timedelta(days=d) for phase, d in zip(PHASES[1:], days, strict=False)}


def _demo_round(wijk: Neighbourhood, board: User) -> None:
    """A round of wijk West open for proposals, with a few bewonersbiedingen already in."""
    rnd = _new_round(
        board,
        wijk,
        rounds.RoundData(
            title="Wijkbudget West 2027",
            introduction=(
                "Dit jaar verdelen we € 50.000 over plannen van bewoners. Heb je een idee voor "
                "je straat of buurt? Doe een voorstel. Daarna kiezen we samen."
            ),
            budget_cents=5_000_000,
            min_cost_cents=50_000,
            max_cost_cents=1_500_000,
            categories=["Groen", "Ontmoeting", "Jeugd", "Zorg", "Veiligheid"],
            criteria=[
                "Het voorstel is goed voor de wijk of de buurt.",
                "Het kan binnen een jaar worden uitgevoerd.",
                "Er zijn geen vaste kosten voor later.",
            ],
            aggregation=Aggregation.EQUAL_SHARES,
            ballot_max_choices=5,
            support_threshold=3,
            dates=_phases_from(utcnow(), -7, 21, 35, 49, 63),
        ),
    )
    if rnd is None:
        return
    rounds.publish(board, rnd)
    categories = {c.name: c.id for c in rnd.categories}
    areas = {a.name: a.id for a in wijk.areas}
    for email, name, summary, category, area, lines in DEMO_PROPOSALS:
        proposals.create_proposal(
            _user(email),  # type: ignore[arg-type]
            rnd,
            proposals.ProposalData(
                title=name,
                summary=summary,
                description=summary,
                category_id=categories[category],
                area_id=areas[area],
                cost_lines=lines,
            ),
            submit=True,
        )


PAST_PROPOSALS = [
    # title, cost in cents, how many of the 60 demo voters tick it (by group)
    ("Groene schoolpleinen", 1_800_000),
    ("Buurtkamer met koffie", 1_200_000),
    ("Bankjes langs de Kromme Rijn", 600_000),
    ("Kunst in de tunnel", 900_000),
    ("Moestuin bij de flat", 700_000),
    ("Speelplek Oog in Al", 1_500_000),
]
#: three groups of voters with different wishes: greedy serves the biggest, equal shares all
PAST_GROUPS = [(30, (0, 1, 5)), (18, (2, 3)), (12, (4, 2))]


def _demo_past_round(wijk: Neighbourhood, board: User) -> None:
    """Last year's round of wijk West: voted with printed codes and counted, so the result page,
    the downloads and "what if" have something to show."""
    now = utcnow()
    rnd = _new_round(
        board,
        wijk,
        rounds.RoundData(
            title="Wijkbudget West 2026",
            introduction="Vorig jaar verdeelden we € 40.000. Dit is wat de wijk koos.",
            budget_cents=4_000_000,
            min_cost_cents=50_000,
            max_cost_cents=2_000_000,
            categories=["Groen", "Ontmoeting", "Jeugd"],
            criteria=["Het voorstel is goed voor de wijk of de buurt."],
            aggregation=Aggregation.EQUAL_SHARES,
            ballot_max_choices=3,
            dates=_phases_from(now, -200, -170, -150, -130),
        ),
    )
    if rnd is None:
        return
    rnd.eligibility = Eligibility.CODES
    rnd.phase = Phase.VOTING  # demo data: skip the earlier phases, their dates are in the past
    proposals = []
    fatima = _user(DEMO_RESIDENTS[0][0]) or board
    for title_, cost in PAST_PROPOSALS:
        proposal = Proposal(
            round=rnd,
            neighbourhood_id=wijk.id,
            submitter=fatima,
            title=title_,
            summary=f"{title_}: een plan van bewoners uit West.",
            description=f"{title_}: een plan van bewoners uit West.",
            category=rnd.categories[0],
            state=State.ADMITTED,
            cost_cents=cost,
            submitted_at=now - timedelta(days=180),
        )
        proposal.cost_lines = [CostLine(position=0, description="Alles", amount_cents=cost)]
        db.session.add(proposal)
        proposals.append(proposal)
    batch = voting.generate_codes(board, rnd, sum(n for n, _ in PAST_GROUPS), label="Brieven")
    codes = iter(voting.batch_codes(batch))
    for size, wanted in PAST_GROUPS:
        for _i in range(size):
            code = voting.find_code(rnd, next(codes))
            choice = {proposals[i].id: 1 for i in wanted}
            voting.cast(rnd, choice, code=code, channel=Channel.CODE)
    voting.mark_printed(board, batch, rnd)
    rnd.set_start(Phase.RESULT, now - timedelta(days=100))
    demo_money.fund_round(rnd, board, now, _make_user, _ensure_role, DEMO_PASSWORD)  # the pot
    results.close_voting(board, rnd, confirmed=True, now=now - timedelta(days=99))
    _demo_spending(rnd, board, fatima)


def _demo_spending(rnd: Round, board: User, initiator: User) -> None:
    """What the funded projects of last year's round did with their money: an update, an
    approved expense, one waiting for the board, one paid to a private person."""
    projects = list(
        db.session.scalars(
            select(FundedProject).where(FundedProject.round_id == rnd.id).order_by(FundedProject.id)
        )
    )
    if not projects:
        return
    first = projects[0]
    spending.add_update(
        initiator, first, "De eerste materialen zijn gekocht. In het voorjaar gaan we bouwen.", 30
    )
    today = date.today()
    paid = spending.record_expense(
        initiator,
        first,
        spending.ExpenseData(
            spent_on=today - timedelta(days=60),
            amount_cents=min(45_000, first.granted_cents),
            payee="Bouwmarkt Kanaleneiland",
            payee_type=PayeeType.COMPANY,
            description="Hout en schroeven",
            cost_line_id=first.proposal.cost_lines[0].id,
        ),
        None,
    )
    spending.approve_expense(board, paid)
    spending.record_expense(
        initiator,
        first,
        spending.ExpenseData(
            spent_on=today - timedelta(days=5),
            amount_cents=min(12_500, max(first.granted_cents - 45_000, 1)),
            payee="Buurman die hielp met zagen",
            payee_type=PayeeType.PRIVATE,
            description="Vrijwilligersvergoeding",
        ),
        None,
    )


@use_case
def seed_demo_data() -> list[tuple[str, str]]:
    """Create the demo wijken and accounts where they are missing. Returns (login, what) pairs.

    One use case: the operations it calls join its transaction, so the demo lands whole.
    Locks: what those operations lock (the rounds, the accounts)."""
    wijken: dict[str, Neighbourhood] = {}
    for spec in DEMO_WIJKEN:
        wijk = db.session.scalar(select(Neighbourhood).where(Neighbourhood.name == spec["name"]))
        if wijk is None:
            wijk = neighbourhoods.create_neighbourhood(
                None,
                name=spec["name"],
                postcodes=spec["postcodes"],
                cbs_code=spec["cbs_code"],
                description=spec["description"],
            )
            for area_name in spec["areas"]:
                neighbourhoods.add_area(None, wijk, name=area_name)
        wijken[spec["name"]] = wijk

    for email, name, wijk_name, area, postcode, year in DEMO_RESIDENTS:
        _make_user(email, name, DEMO_PASSWORD, wijken[wijk_name], area, postcode, year)
    email, name, wijk_name, area, postcode, year = DEMO_BOARD
    board = _make_user(email, name, DEMO_PASSWORD, wijken[wijk_name], area, postcode, year)
    _ensure_role(board, Role.BOARD, wijken[wijk_name])
    demo_people.add_boards(wijken, _make_user, _ensure_role, DEMO_PASSWORD)  # two per wijk
    councillor = _make_user(DEMO_COUNCILLOR, "Raadslid De Vries", DEMO_PASSWORD)
    _ensure_role(councillor, Role.COUNCILLOR, None)
    admin = _make_user(DEMO_ADMIN, "Beheerder", DEMO_PASSWORD)
    _ensure_role(admin, Role.ADMIN, None)
    _demo_round(wijken["West"], board)
    _demo_past_round(wijken["West"], board)
    demo_people.add_conversation_after_the_vote("Wijkbudget West 2026", board)
    load_demo_map(wijken["West"])
    add_demo_pictures(wijken["West"])  # photos on cards, ballot and result (demo_pictures.py)
    return [
        (DEMO_ADMIN, "beheerder (wijken en rollen)"),
        (DEMO_BOARD[0], "bestuur van wijk West"),
        *demo_people.LOGINS,
        (DEMO_COUNCILLOR, "raadslid, leest alle wijken"),
        (DEMO_RESIDENTS[0][0], "bewoner van West (Lombok)"),
        (DEMO_RESIDENTS[6][0], "bewoner van Oost (Oudwijk)"),
    ]
