"""Issue 19, one person one vote: voter fingerprints that outlive the account, and a round's
optional address register (each address votes at most its number of places)

Revision ID: c19a0002voters
Revises: c19a0001secrecy
Create Date: 2026-12-05 06:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c19a0002voters"
down_revision = "c19a0001secrecy"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "register_address",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("postcode", sa.String(length=7), nullable=False),
        sa.Column("house_number", sa.String(length=16), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_register_address_capacity")),
        sa.CheckConstraint("used >= 0 AND used <= capacity", name=op.f("ck_register_address_used")),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["budget_round.id"],
            name=op.f("fk_register_address_round_id_budget_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_address")),
        sa.UniqueConstraint(
            "round_id",
            "postcode",
            "house_number",
            name=op.f("uq_register_address_round_id_postcode_house_number"),
        ),
    )
    with op.batch_alter_table("budget_round", schema=None) as batch_op:
        batch_op.add_column(sa.Column("register_max_votes", sa.Integer(), nullable=True))
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("house_number", sa.String(length=16), nullable=True))
    with op.batch_alter_table("voting_code", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_voting_code_address_id"), ["address_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_voting_code_address_id_register_address"),
            "register_address",
            ["address_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_participation_address_id"), ["address_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_participation_address_id_register_address"),
            "register_address",
            ["address_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "voter_fingerprint",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("participation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participation_id"],
            ["participation.id"],
            name=op.f("fk_voter_fingerprint_participation_id_participation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["budget_round.id"],
            name=op.f("fk_voter_fingerprint_round_id_budget_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "fingerprint", name=op.f("pk_voter_fingerprint")),
    )
    with op.batch_alter_table("voter_fingerprint", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voter_fingerprint_participation_id"), ["participation_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("voter_fingerprint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voter_fingerprint_participation_id"))
    op.drop_table("voter_fingerprint")
    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_participation_address_id_register_address"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_participation_address_id"))
        batch_op.drop_column("address_id")
    with op.batch_alter_table("voting_code", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_voting_code_address_id_register_address"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_voting_code_address_id"))
        batch_op.drop_column("address_id")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("house_number")
    with op.batch_alter_table("budget_round", schema=None) as batch_op:
        batch_op.drop_column("register_max_votes")
    op.drop_table("register_address")
