"""Issue 21, van deur tot deur: codes next to accounts (a new eligibility value, no schema),
voting places with their walk-in desks, letters from an address list, paper sheets that can be
struck out, and the reasons for a mismatched or discarded paper batch

Revision ID: c21a0001door
Revises: c19a0004closed
Create Date: 2026-12-05 13:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c21a0001door"
down_revision = "c19a0004closed"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "voting_place",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("opens_at", sa.DateTime(), nullable=False),
        sa.Column("closes_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.CheckConstraint("closes_at > opens_at", name=op.f("ck_voting_place_times")),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["budget_round.id"],
            name=op.f("fk_voting_place_round_id_budget_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voting_place")),
    )
    op.create_index(op.f("ix_voting_place_round_id"), "voting_place", ["round_id"])
    with op.batch_alter_table("code_batch") as batch_op:
        batch_op.add_column(sa.Column("voting_place_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_code_batch_voting_place_id"), ["voting_place_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_code_batch_voting_place_id_voting_place"),
            "voting_place",
            ["voting_place_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "letter_address",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("street", sa.String(length=120), nullable=False),
        sa.Column("house_number", sa.String(length=16), nullable=False),
        sa.Column("postcode", sa.String(length=7), nullable=False),
        sa.Column("city", sa.String(length=80), nullable=False),
        sa.Column("voters", sa.Integer(), nullable=False),
        sa.Column("first_code", sa.Integer(), nullable=False),
        sa.CheckConstraint("voters BETWEEN 1 AND 100", name=op.f("ck_letter_address_voters")),
        sa.CheckConstraint("first_code >= 0", name=op.f("ck_letter_address_first_code")),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["code_batch.id"],
            name=op.f("fk_letter_address_batch_id_code_batch"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter_address")),
        sa.UniqueConstraint(
            "batch_id", "position", name=op.f("uq_letter_address_batch_id_position")
        ),
    )
    with op.batch_alter_table("register_address") as batch_op:
        batch_op.add_column(sa.Column("street", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("city", sa.String(length=80), nullable=True))
    with op.batch_alter_table("paper_batch") as batch_op:
        batch_op.add_column(sa.Column("mismatch_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("discard_reason", sa.String(length=500), nullable=True))
    op.create_table(
        "paper_sheet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("participation_id", sa.Integer(), nullable=True),
        sa.Column("sealed_ballot_id", sa.String(length=36), nullable=True),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("struck_at", sa.DateTime(), nullable=True),
        sa.Column("struck_by_id", sa.Integer(), nullable=True),
        sa.Column("struck_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint("number > 0", name=op.f("ck_paper_sheet_number")),
        sa.CheckConstraint(
            "(struck_at IS NULL AND struck_by_id IS NULL AND struck_reason IS NULL) "
            "OR (struck_at IS NOT NULL AND struck_reason IS NOT NULL)",
            name=op.f("ck_paper_sheet_struck_with_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["paper_batch.id"],
            name=op.f("fk_paper_sheet_batch_id_paper_batch"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participation_id"],
            ["participation.id"],
            name=op.f("fk_paper_sheet_participation_id_participation"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sealed_ballot_id"],
            ["sealed_ballot.id"],
            name=op.f("fk_paper_sheet_sealed_ballot_id_sealed_ballot"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["user_account.id"],
            name=op.f("fk_paper_sheet_entered_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["struck_by_id"],
            ["user_account.id"],
            name=op.f("fk_paper_sheet_struck_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_sheet")),
        sa.UniqueConstraint("batch_id", "number", name=op.f("uq_paper_sheet_batch_id_number")),
    )
    op.create_index(op.f("ix_paper_sheet_participation_id"), "paper_sheet", ["participation_id"])
    op.create_index(op.f("ix_paper_sheet_sealed_ballot_id"), "paper_sheet", ["sealed_ballot_id"])
    # a round of accounts that has codes already (walk-in codes) allowed them next to accounts:
    # it says so from now on, and its codes keep working
    op.execute(
        "UPDATE budget_round SET eligibility = 'accounts_and_codes' "
        "WHERE eligibility = 'accounts' "
        "AND EXISTS (SELECT 1 FROM code_batch WHERE code_batch.round_id = budget_round.id)"
    )


def downgrade():
    op.execute(
        "UPDATE budget_round SET eligibility = 'accounts' WHERE eligibility = 'accounts_and_codes'"
    )
    op.drop_index(op.f("ix_paper_sheet_sealed_ballot_id"), table_name="paper_sheet")
    op.drop_index(op.f("ix_paper_sheet_participation_id"), table_name="paper_sheet")
    op.drop_table("paper_sheet")
    with op.batch_alter_table("paper_batch") as batch_op:
        batch_op.drop_column("discard_reason")
        batch_op.drop_column("mismatch_reason")
    with op.batch_alter_table("register_address") as batch_op:
        batch_op.drop_column("city")
        batch_op.drop_column("street")
    op.drop_table("letter_address")
    with op.batch_alter_table("code_batch") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_code_batch_voting_place_id_voting_place"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_code_batch_voting_place_id"))
        batch_op.drop_column("voting_place_id")
    op.drop_index(op.f("ix_voting_place_round_id"), table_name="voting_place")
    op.drop_table("voting_place")
