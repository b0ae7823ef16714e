"""Issue 19, a ledger its owner cannot rewrite unseen: signed ledger checkpoints; on PostgreSQL
the audit log, a closed round's result, ballots and participations append-only like the ledger
(the one change allowed: a link to a person becoming empty), and no TRUNCATE of any of them

The triggers refuse whoever asks, the table's owner included; the owner can still drop or
disable them, which is why the app runs as a role that owns nothing (``flask db roles``) and
why the signed checkpoints are kept outside the database too. See docs/trust.md.

Revision ID: c19a0003ledger
Revises: c19a0002voters
Create Date: 2026-12-05 06:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import wijkbudget.extensions

# revision identifiers, used by Alembic.
revision = "c19a0003ledger"
down_revision = "c19a0002voters"
branch_labels = None
depends_on = None

#: a row that may never change or go (statement level too: TRUNCATE)
REFUSE = """
CREATE FUNCTION wb_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql
"""

#: UPDATE allowed only when the columns named as trigger arguments become NULL (or '') and no
#: other column changes: erasing a link to a person. DELETE refused.
ERASE_ONLY = """
CREATE FUNCTION wb_erasure_only() RETURNS trigger AS $$
DECLARE
    erasable text[] := TG_ARGV;
    old_row jsonb := to_jsonb(OLD);
    new_row jsonb := to_jsonb(NEW);
    col text;
BEGIN
    IF TG_OP = 'UPDATE' AND (new_row - erasable) = (old_row - erasable) THEN
        FOREACH col IN ARRAY erasable LOOP
            IF new_row -> col IS DISTINCT FROM old_row -> col
               AND jsonb_typeof(new_row -> col) <> 'null' AND new_row ->> col <> '' THEN
                RAISE EXCEPTION '% is append-only: only emptying % is allowed',
                    TG_TABLE_NAME, array_to_string(erasable, ', ');
            END IF;
        END LOOP;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql
"""

#: rows of a round (``round_id``, or ``ballot_id`` for ballot_choice): free until the round has
#: a stored result, then as wb_erasure_only with the trigger arguments as erasable columns
CLOSED_ROUND = """
CREATE FUNCTION wb_closed_round_append_only() RETURNS trigger AS $$
DECLARE
    erasable text[] := TG_ARGV;
    old_row jsonb := to_jsonb(OLD);
    new_row jsonb;
    rounds integer[];
    col text;
BEGIN
    IF TG_TABLE_NAME = 'ballot_choice' THEN
        SELECT array_agg(round_id) INTO rounds FROM ballot WHERE id = OLD.ballot_id;
        IF TG_OP = 'UPDATE' THEN
            rounds := rounds || (SELECT round_id FROM ballot WHERE id = NEW.ballot_id);
        END IF;
    ELSE
        rounds := ARRAY[(old_row ->> 'round_id')::integer];
        IF TG_OP = 'UPDATE' THEN
            rounds := rounds || (to_jsonb(NEW) ->> 'round_id')::integer;
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM round_result WHERE round_id = ANY (rounds)) THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        new_row := to_jsonb(NEW);
        IF (new_row - erasable) = (old_row - erasable) THEN
            FOREACH col IN ARRAY erasable LOOP
                IF new_row -> col IS DISTINCT FROM old_row -> col
                   AND jsonb_typeof(new_row -> col) <> 'null' THEN
                    RAISE EXCEPTION '% of a closed round: only emptying % is allowed',
                        TG_TABLE_NAME, array_to_string(erasable, ', ');
                END IF;
            END LOOP;
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '% of a closed round is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql
"""

#: (table, function, erasable columns): a BEFORE UPDATE OR DELETE row trigger each
ROW_TRIGGERS = [
    ("audit_event", "wb_erasure_only", ["actor_id"]),
    ("round_result", "wb_erasure_only", ["closed_by_id"]),
    ("round_result_line", "wb_append_only", []),
    ("ballot", "wb_closed_round_append_only", []),
    ("ballot_choice", "wb_closed_round_append_only", []),
    # user_id: the account is deleted; code_id, address_id: the round's codes and address
    # register are erased after it (ON DELETE SET NULL)
    ("participation", "wb_closed_round_append_only", ["user_id", "code_id", "address_id"]),
    ("ledger_checkpoint", "wb_append_only", []),
]
#: a BEFORE TRUNCATE statement trigger each
TRUNCATE_REFUSED = [
    "ledger_entry",
    "ledger_checkpoint",
    "audit_event",
    "round_result",
    "round_result_line",
    "ballot",
    "ballot_choice",
    "participation",
]
FUNCTIONS = ("wb_append_only", "wb_erasure_only", "wb_closed_round_append_only")


def postgresql_statements() -> list[str]:
    """The functions and triggers, in order (tests install them on a database of their own)."""
    statements = [REFUSE, ERASE_ONLY, CLOSED_ROUND]
    for table, function, erasable in ROW_TRIGGERS:
        arguments = ", ".join(f"'{column}'" for column in erasable)
        statements.append(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}({arguments})"
        )
    for table in TRUNCATE_REFUSED:
        statements.append(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION wb_append_only()"
        )
    return statements


def upgrade():
    op.create_table(
        "ledger_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=False),
        sa.Column("wijk_slug", sa.String(length=80), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", wijkbudget.extensions.UTCDateTime(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.CheckConstraint("length > 0", name=op.f("ck_ledger_checkpoint_length")),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhood.id"],
            name=op.f("fk_ledger_checkpoint_neighbourhood_id_neighbourhood"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_checkpoint")),
    )
    with op.batch_alter_table("ledger_checkpoint", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_checkpoint_wijk_length", ["neighbourhood_id", "length"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        for statement in postgresql_statements():
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table, _function, _erasable in ROW_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        for table in TRUNCATE_REFUSED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        for function in FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    with op.batch_alter_table("ledger_checkpoint", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_checkpoint_wijk_length")
    op.drop_table("ledger_checkpoint")
