"""Issue 19, review: nothing can be added to a closed round's ballots, choices, participations
or result lines (PostgreSQL: a BEFORE INSERT trigger refuses a row of a round whose result was
stored by an earlier transaction; the close's own transaction, which writes the ballots, the
result and its lines, passes)

Revision ID: c19a0004closed
Revises: c19a0003ledger
Create Date: 2026-12-05 07:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "c19a0004closed"
down_revision = "c19a0003ledger"
branch_labels = None
depends_on = None

#: the round of the new row; refused when that round's result is there and was not written by
#: this transaction (its xmin is another transaction's id)
NO_INSERT = """
CREATE FUNCTION wb_closed_round_no_insert() RETURNS trigger AS $$
DECLARE
    the_round integer;
BEGIN
    IF TG_TABLE_NAME = 'ballot_choice' THEN
        SELECT round_id INTO the_round FROM ballot WHERE id = NEW.ballot_id;
    ELSIF TG_TABLE_NAME = 'round_result_line' THEN
        SELECT round_id INTO the_round FROM round_result WHERE id = NEW.result_id;
    ELSE
        the_round := NEW.round_id;
    END IF;
    IF EXISTS (
        SELECT 1 FROM round_result
        WHERE round_id = the_round AND xmin <> pg_current_xact_id()::xid
    ) THEN
        RAISE EXCEPTION '% of a closed round: INSERT refused', TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
"""

TABLES = ("ballot", "ballot_choice", "participation", "round_result_line")


def postgresql_statements() -> list[str]:
    statements = [NO_INSERT]
    for table in TABLES:
        statements.append(
            f"CREATE TRIGGER {table}_closed_no_insert BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION wb_closed_round_no_insert()"
        )
    return statements


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in postgresql_statements():
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_closed_no_insert ON {table}")
        op.execute("DROP FUNCTION IF EXISTS wb_closed_round_no_insert()")
