"""Command-line tasks: tick, create-admin, grant-role, revoke-role, demo-data, tally.

A command that changes data calls the use cases (each one transaction, see usecase.py);
demo-data runs as one use case of its own, so the operations it calls join its transaction and
it lands as a whole or not at all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click
from flask import Flask
from sqlalchemy import select

from .accounts import mfa
from .accounts import operations as accounts
from .accounts.models import Role, User
from .accounts.passwords import hash_password
from .errors import DomainError
from .extensions import db, utcnow
from .neighbourhoods import operations as neighbourhoods
from .neighbourhoods.models import Neighbourhood
from .usecase import use_case

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
    from .proposals.models import CostLine, Proposal, State
    from .results import operations as results
    from .rounds import operations as rounds
    from .rounds.models import Eligibility, Phase, Round
    from .voting import operations as voting
    from .voting.models import Channel

    title = "Wijkbudget West 2026"
    if db.session.scalar(select(Round.id).where(Round.title == title)) is not None:
        return
    now = utcnow()
    rnd = rounds.create_round(
        board,
        wijk,
        rounds.RoundData(
            title=title,
            introduction="Vorig jaar verdeelden we € 40.000. Dit is wat de wijk koos.",
            budget_cents=4_000_000,
            min_cost_cents=50_000,
            max_cost_cents=2_000_000,
            categories=["Groen", "Ontmoeting", "Jeugd"],
            criteria=["Het voorstel is goed voor de wijk of de buurt."],
            aggregation=rounds.Aggregation.EQUAL_SHARES,
            ballot_max_choices=3,
            dates={
                rounds.Phase.SUBMISSION: now - timedelta(days=200),
                rounds.Phase.REVIEW: now - timedelta(days=170),
                rounds.Phase.SUPPORT: now - timedelta(days=150),
                rounds.Phase.VOTING: now - timedelta(days=130),
            },
        ),
    )
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
    results.close_voting(board, rnd, confirmed=True, now=now - timedelta(days=99))
    _demo_spending(rnd, board, fatima)


def _demo_spending(rnd: object, board: User, initiator: User) -> None:
    """What the funded projects of last year's round did with their money: an update, an
    approved expense, one waiting for the board, one paid to a private person."""
    from datetime import date

    from .spending import operations as spending
    from .spending.models import FundedProject, PayeeType

    projects = list(
        db.session.scalars(
            select(FundedProject)
            .where(FundedProject.round_id == rnd.id)  # type: ignore[attr-defined]
            .order_by(FundedProject.id)
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
    councillor = _make_user(DEMO_COUNCILLOR, "Raadslid De Vries", DEMO_PASSWORD)
    _ensure_role(councillor, Role.COUNCILLOR, None)
    admin = _make_user(DEMO_ADMIN, "Beheerder", DEMO_PASSWORD)
    _ensure_role(admin, Role.ADMIN, None)
    _demo_round(wijken["West"], board)
    _demo_past_round(wijken["West"], board)
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
    _ledger_commands(app)
    _roles_command()
    _backup_commands(app)
    _tally_command(app)

    @app.cli.command("create-admin")
    @click.argument("email")
    @click.option("--name", default="Beheerder", show_default=True, help="Display name.")
    @click.password_option(help="Password (asked for when not given).")
    def create_admin(email: str, name: str, password: str) -> None:
        """Create an admin account (or make an existing account admin)."""
        try:
            user = accounts.make_admin(email, name, password)
        except DomainError as error:
            raise click.ClickException(error.message) from error
        click.echo(f"{user.email} is beheerder.")

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
        except DomainError as error:
            raise click.ClickException(error.message) from error
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
                try:
                    accounts.revoke_role(None, assignment, via="cli")
                except DomainError as error:
                    raise click.ClickException(error.message) from error
                click.echo(f"{user.email}: {role} ingetrokken.")
                return
        raise click.ClickException("Dit account heeft die rol niet.")

    @app.cli.command("tick")
    def tick() -> None:
        """Move every published round whose dates have passed to its phase (with the support
        threshold when steunen ends). Meant to run every minute from cron or a systemd timer;
        safe to run twice at once. Prints each move, and nothing when nothing was due."""
        from .rounds import operations as rounds

        for moved in rounds.tick():
            click.echo(str(moved))

    @app.cli.command("send-digests")
    def send_digests() -> None:
        """Mail everyone their new comments (at most one mail per person per hour)."""
        from .dialogue.operations import send_digests as run

        base = app.config["PUBLIC_URL"] or "http://127.0.0.1:5000"
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
        # a first signed checkpoint of each wijk's ledger, as the daily cron job would make it
        from .spending import checkpoints

        checkpoints.sign_all()
        db.session.commit()
        click.echo(f"Demo-accounts (wachtwoord voor allemaal: {DEMO_PASSWORD}):")
        for email, what in logins:
            click.echo(f"  {email:<28} {what}")
        click.echo(
            "Bestuur, raadslid en beheerder loggen in met een tweede stap: zet de sleutel "
            f"{DEMO_TOTP_SECRET} in een app voor inlogcodes, of vraag de code van nu op met "
            "'flask --app wsgi demo-code'."
        )

    @app.cli.command("demo-code")
    def demo_code() -> None:
        """The second-factor code of the demo's staff accounts right now (the demo's public
        key; it opens no account that did not get that key from `demo-data`)."""
        import pyotp

        click.echo(pyotp.TOTP(DEMO_TOTP_SECRET).now())


def _ledger_commands(app: Flask) -> None:
    ledger = click.Group("ledger", help="The public spending ledger (grootboek).")

    @ledger.command("verify")
    @click.option("--wijk", "slug", default=None, help="Only this wijk (its slug).")
    @click.option(
        "--checkpoints",
        "checkpoints_file",
        type=click.File("rb"),
        default=None,
        help="A checkpoints file (JSON, as downloaded or mailed): every chain must extend them.",
    )
    def verify(slug: str | None, checkpoints_file: Any) -> None:
        """Recompute the hash chain and check it against the expenses: prints `ok <count>
        <head-hash>` (exit 0), or the id of the first broken entry, or `mismatch` with what
        disagrees, e.g. an expense booked twice (exit 1). With several wijken, the head is the
        SHA-256 of their heads. Then every chain must extend its signed checkpoints (those in
        --checkpoints FILE, and the stored ones): else `checkpoint <wijk>: …` and exit 1."""
        from .spending import commands as checkpoint_commands
        from .spending import operations as spending

        if slug:
            wijk = db.session.scalar(select(Neighbourhood).where(Neighbourhood.slug == slug))
            if wijk is None:
                click.echo(f"Geen wijk met slug {slug}.", err=True)
                raise SystemExit(2)
            ids = [wijk.id]
        else:
            ids = list(db.session.scalars(select(Neighbourhood.id).order_by(Neighbourhood.id)))
        result = spending.verify_all(ids)
        if result.ok:
            checkpoint_commands.check_checkpoints(ids, checkpoints_file)  # exits 1 on a failure
            click.echo(f"ok {result.count} {result.head}")
            return
        if result.broken_id is None:  # the chain is intact; the bookings disagree
            click.echo(f"mismatch (wijk {result.wijk_id}: {result.problem})")
            raise SystemExit(1)
        click.echo(
            f"broken {result.broken_id} (wijk {result.wijk_id}: de keten klopt niet vanaf "
            f"boeking-id {result.broken_id})"
        )
        raise SystemExit(1)

    from .spending import commands as checkpoint_commands

    ledger.add_command(checkpoint_commands.checkpoint)
    ledger.add_command(checkpoint_commands.new_key)
    app.cli.add_command(ledger)


def _roles_command() -> None:
    """``flask db roles``: in Flask-Migrate's ``db`` group (see dbroles.py)."""
    from flask_migrate.cli import db as db_group

    from .dbroles import roles

    db_group.add_command(roles)


def _tally_command(app: Flask) -> None:
    from .tally.command import COMPLETIONS, RULES

    @app.cli.command("tally")
    @click.argument("path", metavar="FILE.pb")
    @click.option("--rule", required=True, type=click.Choice(RULES), help="How to count.")
    @click.option(
        "--completion",
        type=click.Choice(COMPLETIONS),
        default="add1",
        show_default=True,
        help="How equal shares fills the budget (ignored with --rule greedy).",
    )
    @click.option("--json", "as_json", is_flag=True, help="One JSON object instead of the ids.")
    def tally(path: str, rule: str, completion: str, as_json: bool) -> None:
        """Count a pabulib .pb file: print the funded project ids in selection order.

        With --json: {"rule", "completion", "funded", "cost", "budget"}, amounts in the file's
        currency units. Exit code 2 when the file is missing or cannot be read. The same as
        ``python -m wijkbudget.tally``, which starts without the app (tally/command.py)."""
        from .tally.command import count

        code = count(path, rule, completion, as_json=as_json)
        if code:
            raise SystemExit(code)


def _backup_commands(app: Flask) -> None:
    from pathlib import Path

    @app.cli.command("backup")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    def backup_command(path: Path) -> None:
        """Copy the whole database to PATH (SQLite: online backup; PostgreSQL: pg_dump -Fc)."""
        from .backup import BackupError, backup

        try:
            backup(path)
        except BackupError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"Backup gemaakt: {path}")

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="Do not ask: everything now in the database goes.")
    @click.option(
        "--lose-votes",
        is_flag=True,
        help="Restore even if votes (and receipts) cast after the backup are lost; names them.",
    )
    @click.option(
        "--lose-ledger",
        is_flag=True,
        help="Restore even if ledger entries made after the backup are lost; names them.",
    )
    def restore_command(path: Path, yes: bool, lose_votes: bool, lose_ledger: bool) -> None:
        """Replace the whole database with the backup at PATH, with the site in maintenance
        for the whole run (writes get a 503). Refused (exit 1, nothing changed) when the
        database holds votes, receipts or ledger entries the backup lacks, unless --lose-votes
        / --lose-ledger."""
        from .backup import BackupError, restore
        from .maintenance import FlagTaken

        if not yes:
            click.confirm(
                "Alles in de database wordt vervangen door de backup. Doorgaan?", abort=True
            )
        try:
            restore(path, lose_votes=lose_votes, lose_ledger=lose_ledger, say=click.echo)
        except FlagTaken as error:
            raise click.ClickException(f"Er loopt al een restore: {error}") from error
        except BackupError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"Teruggezet uit {path}")

    from .maintenance import maintenance_command

    app.cli.add_command(maintenance_command)
