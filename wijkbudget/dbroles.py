"""Two PostgreSQL roles, so that the app cannot rewrite what it may only add to.

- the **owner** (``wijkbudget_owner``) owns the schema, every table, sequence and trigger
  function; migrations, ``flask backup`` and ``flask restore`` run as it;
- the **runtime role** (``wijkbudget_app``) is what the web app and its timers connect as. It
  owns nothing, so it cannot drop or disable a trigger (``ALTER TABLE … DISABLE TRIGGER`` needs
  ownership) and has no TRUNCATE anywhere. On ordinary tables it may SELECT, INSERT, UPDATE and
  DELETE; on the tables of :data:`APPEND_ONLY` only SELECT and INSERT.

The SQL is idempotent: run it after every migration (``flask db upgrade && flask db roles``).
Default privileges (``ALTER DEFAULT PRIVILEGES FOR ROLE owner``) give a table made by a later
migration the ordinary grants at once, so the site keeps working between the two commands; a
new append-only table gets its narrower grants only when the command runs again. See
docs/trust.md.
"""

from __future__ import annotations

import re

import click
from sqlalchemy import text

from .extensions import db

#: tables the runtime role may only read and add to (the triggers guard them besides)
APPEND_ONLY = (
    "ledger_entry",
    "ledger_checkpoint",
    "audit_event",
    "round_result",
    "round_result_line",
    "ballot",
    "ballot_choice",
    "receipt",  # a receipt is never changed or deleted by the site
)
#: tables the runtime role only reads
READ_ONLY = ("alembic_version",)

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a plain role name: {name!r} (lower case letters, digits and _)")
    return name


def statements(owner: str, app: str, database: str) -> list[str]:
    """The SQL, in order, for a superuser (or a role that is a member of both roles) to run in
    the app's database."""
    owner, app = check_name(owner), check_name(app)
    if owner == app:
        raise ValueError("the owner and the runtime role must be two roles")
    quoted_db = '"' + database.replace('"', '""') + '"'
    restricted = ", ".join(f"'{t}'" for t in (*APPEND_ONLY, *READ_ONLY))
    return [
        *(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
            f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; END IF; END $$"
            for role in (owner, app)
        ),
        # the runtime role is never the owner, nor a member of it
        f"REVOKE {owner} FROM {app}",
        f"GRANT CONNECT ON DATABASE {quoted_db} TO {owner}, {app}",
        # `flask restore` (as the owner) waits for the site's open transactions, which
        # pg_stat_activity shows another role only with pg_read_all_stats (docs/restore.md);
        # a role that may not grant it leaves the restore to warn and wait the grace period
        f"""DO $$ BEGIN GRANT pg_read_all_stats TO {owner};
            EXCEPTION WHEN insufficient_privilege THEN
                RAISE WARNING 'pg_read_all_stats not granted to {owner}';
        END $$""",
        f"ALTER SCHEMA public OWNER TO {owner}",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {app}",
        # everything in the schema belongs to the owner (tables made by another role before)
        # names checked by check_name, table names are ours: no outside text in the SQL
        f"""DO $$ DECLARE item record; BEGIN
            FOR item IN SELECT c.relname, c.relkind FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
                  AND pg_get_userbyid(c.relowner) <> '{owner}'
                  AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d
                      WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
            LOOP
                EXECUTE format(CASE WHEN item.relkind = 'S'
                    THEN 'ALTER SEQUENCE %I OWNER TO {owner}'
                    ELSE 'ALTER TABLE %I OWNER TO {owner}' END, item.relname);
            END LOOP;
            FOR item IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> '{owner}'
            LOOP
                EXECUTE format('ALTER FUNCTION %s OWNER TO {owner}', item.fn);
            END LOOP;
        END $$""",  # noqa: S608
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {app}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
        f"""DO $$ DECLARE item record; BEGIN
            FOR item IN SELECT tablename FROM pg_tables
                WHERE schemaname = 'public' AND tablename IN ({restricted})
            LOOP
                EXECUTE format('REVOKE UPDATE, DELETE ON %I FROM {app}', item.tablename);
            END LOOP;
            FOR item IN SELECT tablename FROM pg_tables
                WHERE schemaname = 'public' AND tablename IN ('{"', '".join(READ_ONLY)}')
            LOOP
                EXECUTE format('REVOKE INSERT ON %I FROM {app}', item.tablename);
            END LOOP;
        END $$""",  # noqa: S608
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {app}",
    ]


@click.command("roles")
@click.option("--owner", default="wijkbudget_owner", show_default=True, help="The owner role.")
@click.option("--app", "app_role", default="wijkbudget_app", show_default=True,
              help="The runtime role the web app connects as.")  # fmt: skip
@click.option("--print", "print_only", is_flag=True, help="Only print the SQL; change nothing.")
def roles(owner: str, app_role: str, print_only: bool) -> None:
    """Make (or bring up to date) the owner and the runtime role of the PostgreSQL database,
    with the runtime role's grants: SELECT and INSERT only on the ledger, the checkpoints, the
    audit log, results and counted ballots; no TRUNCATE; nothing owned. Run as a superuser
    after every `flask db upgrade` (it is idempotent). Passwords: set them yourself (ALTER ROLE
    … PASSWORD) or use peer authentication."""
    url = db.engine.url
    if url.get_backend_name() != "postgresql" and not print_only:
        click.echo("Database roles are PostgreSQL's; this database is not.", err=True)
        raise SystemExit(2)
    try:
        sql = statements(owner, app_role, url.database or "wijkbudget")
    except ValueError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(2) from exc
    if print_only:
        for statement in sql:
            click.echo(statement.rstrip() + ";\n")
        return
    with db.engine.begin() as connection:
        for statement in sql:
            connection.execute(text(statement))
    click.echo(
        f"Rollen klaar: {owner} is eigenaar, {app_role} is de rol van de app. "
        f"Zet WIJKBUDGET_DATABASE_URL van de app op {app_role}; migraties, backup en restore "
        f"draaien als {owner}."
    )
