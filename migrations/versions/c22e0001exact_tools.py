"""Issue 22: exact tools for the board and councillors: the extensions of voting.

Once voting has opened its dates are frozen; the one change left is a later end of voting with a
public reason, one row per extension in ``round_voting_extension`` (the end before and after,
the reason, who and when). The treasurer's terms need no table: they are read from the audit
log's ``project.treasurer`` events (docs/spending.md, "Audit flags").

Revision ID: c22e0001exact
Revises: c22d0001notify
Create Date: 2026-12-06 02:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c22e0001exact"
down_revision = "c22d0001notify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "round_voting_extension",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("ends_before", sa.DateTime(), nullable=False),
        sa.Column("ends_after", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "ends_after > ends_before", name=op.f("ck_round_voting_extension_later")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["budget_round.id"],
            name=op.f("fk_round_voting_extension_round_id_budget_round"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user_account.id"],
            name=op.f("fk_round_voting_extension_actor_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_voting_extension")),
    )
    op.create_index(
        op.f("ix_round_voting_extension_round_id"), "round_voting_extension", ["round_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_round_voting_extension_round_id"), table_name="round_voting_extension")
    op.drop_table("round_voting_extension")
