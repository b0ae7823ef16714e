"""Issue 22: money coming in (income, the pot, draws).

Money that comes into a wijk (the municipality's grant, a sponsor) is a row of ``wijk_income``:
recorded by one board member, confirmed by another (``four_eyes``, a check constraint), and
then booked in the ledger (``entry_id``, unique: an income is booked once). The ledger's new
kinds (``income``, ``draw``, ``round_return``) need no change of ``ledger_entry.kind``: enums
are stored as strings. What a round's result leaves of its drawn budget flows back once per
round (``uq_ledger_entry_round_return``, a partial unique index). See docs/spending.md,
"Geld dat binnenkomt en de pot".

Revision ID: c22f0001money
Revises: c22e0001exact
Create Date: 2026-12-06 02:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c22f0001money"
down_revision = "c22e0001exact"
branch_labels = None
depends_on = None

ROUND_RETURN_KIND = sa.text("kind = 'round_return'")


def upgrade() -> None:
    op.create_table(
        "wijk_income",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=160), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("purpose", sa.String(length=300), nullable=False),
        sa.Column(
            "state",
            sa.Enum("pending", "confirmed", name="incomestate", native_enum=False, length=30),
            nullable=False,
        ),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_wijk_income_amount")),
        sa.CheckConstraint(
            "confirmed_by_id IS NULL OR confirmed_by_id <> recorded_by_id",
            name=op.f("ck_wijk_income_four_eyes"),
        ),
        sa.CheckConstraint(
            "(state = 'pending' AND entry_id IS NULL AND confirmed_by_id IS NULL)"
            " OR (state = 'confirmed' AND entry_id IS NOT NULL AND confirmed_by_id IS NOT NULL)",
            name=op.f("ck_wijk_income_confirmed_booked"),
        ),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhood.id"],
            name=op.f("fk_wijk_income_neighbourhood_id_neighbourhood"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_wijk_income_recorded_by_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"],
            ["user_account.id"],
            name=op.f("fk_wijk_income_confirmed_by_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entry.id"],
            name=op.f("fk_wijk_income_entry_id_ledger_entry"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wijk_income")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_wijk_income_entry_id")),
    )
    op.create_index(
        "ix_wijk_income_wijk_state", "wijk_income", ["neighbourhood_id", "state"], unique=False
    )
    op.create_index(
        op.f("ix_wijk_income_recorded_by_id"), "wijk_income", ["recorded_by_id"], unique=False
    )
    op.create_index(
        "uq_ledger_entry_round_return",
        "ledger_entry",
        ["round_id"],
        unique=True,
        postgresql_where=ROUND_RETURN_KIND,
        sqlite_where=ROUND_RETURN_KIND,
    )


def downgrade() -> None:
    op.drop_index(
        "uq_ledger_entry_round_return",
        table_name="ledger_entry",
        postgresql_where=ROUND_RETURN_KIND,
        sqlite_where=ROUND_RETURN_KIND,
    )
    op.drop_index(op.f("ix_wijk_income_recorded_by_id"), table_name="wijk_income")
    op.drop_index("ix_wijk_income_wijk_state", table_name="wijk_income")
    op.drop_table("wijk_income")
