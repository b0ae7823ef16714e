"""Command-line tasks: create-admin, grant-role, revoke-role, demo-data."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask
from sqlalchemy import select

from .accounts import operations as accounts
from .accounts.models import Role, User
from .accounts.passwords import hash_password, password_problem
from .extensions import db, utcnow
from .neighbourhoods import operations as neighbourhoods
from .neighbourhoods.models import Neighbourhood

DEMO_PASSWORD = "lente-in-de-wijk-2026"  # noqa: S105 (demo accounts only, printed on purpose)

DEMO_WIJKEN = [
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
    wijk_id = wijk.id if wijk else None
    if not any(a.role == role and a.neighbourhood_id == wijk_id for a in user.role_assignments):
        accounts.grant_role(None, user, role, wijk, via="cli")


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


def _demo_round(wijk: Neighbourhood, board: User) -> None:
    """A round of wijk West open for proposals, with a few bewonersbiedingen already in."""
    from .proposals import operations as proposals
    from .rounds import operations as rounds
    from .rounds.models import Round

    title = "Wijkbudget West 2027"
    if db.session.scalar(select(Round.id).where(Round.title == title)) is not None:
        return
    now = utcnow()
    rnd = rounds.create_round(
        board,
        wijk,
        rounds.RoundData(
            title=title,
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
            aggregation=rounds.Aggregation.EQUAL_SHARES,
            ballot_max_choices=5,
            support_threshold=3,
            dates={
                rounds.Phase.SUBMISSION: now - timedelta(days=7),
                rounds.Phase.REVIEW: now + timedelta(days=21),
                rounds.Phase.SUPPORT: now + timedelta(days=35),
                rounds.Phase.VOTING: now + timedelta(days=49),
                rounds.Phase.RESULT: now + timedelta(days=63),
            },
        ),
    )
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


def seed_demo_data() -> list[tuple[str, str]]:
    """Create the demo wijken and accounts where they are missing. Returns (login, what) pairs."""
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
    councillor = _make_user(DEMO_COUNCILLOR, "Raadslid De Vries", DEMO_PASSWORD)
    _ensure_role(councillor, Role.COUNCILLOR, None)
    admin = _make_user(DEMO_ADMIN, "Beheerder", DEMO_PASSWORD)
    _ensure_role(admin, Role.ADMIN, None)
    _demo_round(wijken["West"], board)
    db.session.commit()
    return [
        (DEMO_ADMIN, "beheerder (wijken en rollen)"),
        (DEMO_BOARD[0], "bestuur van wijk West"),
        (DEMO_COUNCILLOR, "raadslid, leest alle wijken"),
        (DEMO_RESIDENTS[0][0], "bewoner van West (Lombok)"),
        (DEMO_RESIDENTS[6][0], "bewoner van Oost (Oudwijk)"),
    ]


def _role_target(email: str) -> User:
    user = _user(email.strip().lower())
    if user is None:
        raise click.ClickException(f"Geen account met e-mailadres {email}.")
    return user


def _wijk(slug: str | None) -> Neighbourhood | None:
    if not slug:
        return None
    wijk = db.session.scalar(select(Neighbourhood).where(Neighbourhood.slug == slug))
    if wijk is None:
        raise click.ClickException(f"Geen wijk met slug {slug}.")
    return wijk


def init_app(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.argument("email")
    @click.option("--name", default="Beheerder", show_default=True, help="Display name.")
    @click.password_option(help="Password (asked for when not given).")
    def create_admin(email: str, name: str, password: str) -> None:
        """Create an admin account (or make an existing account admin)."""
        email = email.strip().lower()
        user = _user(email)
        if user is None:
            problem = password_problem(password, email=email, name=name)
            if problem:
                raise click.ClickException(problem)
            user = _make_user(email, name, password)
        _ensure_role(user, Role.ADMIN, None)
        db.session.commit()
        click.echo(f"{email} is beheerder.")

    @app.cli.command("grant-role")
    @click.argument("email")
    @click.argument("role", type=click.Choice([r.value for r in Role]))
    @click.option(
        "--wijk", "slug", help="The wijk's slug (required for board; optional for councillor)."
    )
    def grant_role(email: str, role: str, slug: str | None) -> None:
        """Grant ROLE (board, councillor, admin) to the account with EMAIL."""
        user = _role_target(email)
        try:
            accounts.grant_role(None, user, Role(role), _wijk(slug), via="cli")
        except accounts.AccountError as error:
            raise click.ClickException(error.message) from error
        db.session.commit()
        click.echo(f"{user.email}: {role}{' in ' + slug if slug else ''}.")

    @app.cli.command("revoke-role")
    @click.argument("email")
    @click.argument("role", type=click.Choice([r.value for r in Role]))
    @click.option("--wijk", "slug", help="The wijk's slug.")
    def revoke_role(email: str, role: str, slug: str | None) -> None:
        """Take ROLE away from the account with EMAIL."""
        user = _role_target(email)
        wijk = _wijk(slug)
        for assignment in list(user.role_assignments):
            if assignment.role == Role(role) and assignment.neighbourhood_id == (
                wijk.id if wijk else None
            ):
                accounts.revoke_role(None, assignment, via="cli")
                db.session.commit()
                click.echo(f"{user.email}: {role} ingetrokken.")
                return
        raise click.ClickException("Dit account heeft die rol niet.")

    @app.cli.command("send-digests")
    def send_digests() -> None:
        """Mail everyone their new comments (at most one mail per person per hour)."""
        from .dialogue.operations import send_digests as run

        base = app.config.get("BASE_URL") or "http://127.0.0.1:5000"
        with app.test_request_context(base_url=base):
            sent = run()
        click.echo(f"{sent} mail(s) verstuurd.")

    @app.cli.command("demo-data")
    @click.option("--if-empty", is_flag=True, help="Only when the database has no wijk yet.")
    def demo_data(if_empty: bool) -> None:
        """Fill the database with a small Utrecht-like demo (idempotent)."""
        if if_empty and db.session.scalar(select(Neighbourhood.id).limit(1)) is not None:
            click.echo("De database heeft al wijken: geen demogegevens toegevoegd.")
            return
        logins = seed_demo_data()
        click.echo(f"Demo-accounts (wachtwoord voor allemaal: {DEMO_PASSWORD}):")
        for email, what in logins:
            click.echo(f"  {email:<28} {what}")
