"""Issue 19, ballot secrecy: ballots sealed with the round's public key until the close, receipts
that only their holder can open, the round's key pair

Ballots cast before this migration in a round that is still open are sealed here (with a key
pair made now) and their plain rows deleted; their receipts keep saying that the ballot counts,
but cannot show what is on it (the receipt code was never stored). Ballots of closed rounds stay
as they are; their receipt hashes move to the receipt table.

Revision ID: c19a0001secrecy
Revises: c18a0001mfa
Create Date: 2026-12-05 05:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c19a0001secrecy"
down_revision = "c18a0001mfa"
branch_labels = None
depends_on = None


def upgrade():
    from wijkbudget import sealing

    with op.batch_alter_table("budget_round", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ballot_public_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("ballot_private_key", sa.LargeBinary(), nullable=True))
    op.create_table(
        "sealed_ballot",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("paper_batch_id", sa.Integer(), nullable=True),
        sa.Column("box", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(
            "counted OR paper_batch_id IS NOT NULL", name=op.f("ck_sealed_ballot_online_counted")
        ),
        sa.ForeignKeyConstraint(
            ["paper_batch_id"],
            ["paper_batch.id"],
            name=op.f("fk_sealed_ballot_paper_batch_id_paper_batch"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["budget_round.id"],
            name=op.f("fk_sealed_ballot_round_id_budget_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sealed_ballot")),
    )
    with op.batch_alter_table("sealed_ballot", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sealed_ballot_paper_batch_id"), ["paper_batch_id"], unique=False
        )
        batch_op.create_index(
            "ix_sealed_ballot_round_counted", ["round_id", "counted"], unique=False
        )
    op.create_table(
        "receipt",
        sa.Column("receipt_hash", sa.String(length=64), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("box", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["budget_round.id"],
            name=op.f("fk_receipt_round_id_budget_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("receipt_hash", name=op.f("pk_receipt")),
    )
    with op.batch_alter_table("receipt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receipt_round_id"), ["round_id"], unique=False)

    connection = op.get_bind()
    closed = {row[0] for row in connection.execute(sa.text("SELECT round_id FROM round_result"))}
    keys = {}
    for (round_id,) in connection.execute(sa.text("SELECT id FROM budget_round")).all():
        if round_id in closed:
            continue
        public, private = sealing.new_round_keys()
        keys[round_id] = public
        connection.execute(
            sa.text(
                "UPDATE budget_round SET ballot_public_key = :public, ballot_private_key = :private"
                " WHERE id = :id"
            ),
            {"public": public, "private": private, "id": round_id},
        )
    # every receipt keeps saying its ballot counts
    connection.execute(
        sa.text(
            "INSERT INTO receipt (receipt_hash, round_id) SELECT receipt_hash, round_id"
            " FROM ballot WHERE receipt_hash IS NOT NULL"
        )
    )
    # the plain ballots of rounds still open are sealed, like every ballot cast from now on
    ballots = connection.execute(
        sa.text("SELECT id, round_id, counted, paper_batch_id FROM ballot")
    ).all()
    for ballot_id, round_id, counted, paper_batch_id in ballots:
        if round_id in closed:
            continue
        selection = {
            int(pid): int(points)
            for pid, points in connection.execute(
                sa.text("SELECT proposal_id, points FROM ballot_choice WHERE ballot_id = :id"),
                {"id": ballot_id},
            )
        }
        connection.execute(
            sa.text(
                "INSERT INTO sealed_ballot (id, round_id, counted, paper_batch_id, box)"
                " VALUES (:id, :round_id, :counted, :paper_batch_id, :box)"
            ),
            {
                "id": ballot_id,
                "round_id": round_id,
                "counted": bool(counted),
                "paper_batch_id": paper_batch_id,
                "box": sealing.seal(keys[round_id], selection),
            },
        )
        connection.execute(
            sa.text("DELETE FROM ballot_choice WHERE ballot_id = :id"), {"id": ballot_id}
        )
        connection.execute(sa.text("DELETE FROM ballot WHERE id = :id"), {"id": ballot_id})

    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.drop_index("ix_ballot_round_counted")
        batch_op.drop_index(batch_op.f("ix_ballot_paper_batch_id"))
        batch_op.drop_constraint(batch_op.f("ck_ballot_online_counted"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_ballot_receipt_hash"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_ballot_paper_batch_id_paper_batch"), type_="foreignkey"
        )
        batch_op.drop_column("paper_batch_id")
        batch_op.drop_column("counted")
        batch_op.drop_column("receipt_hash")
        batch_op.create_index(batch_op.f("ix_ballot_round_id"), ["round_id"], unique=False)


def downgrade():
    connection = op.get_bind()
    waiting = connection.execute(sa.text("SELECT count(*) FROM sealed_ballot")).scalar()
    if waiting:
        raise RuntimeError(
            f"{waiting} sealed ballots of open rounds: close their votes before going back"
        )
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ballot_round_id"))
        batch_op.add_column(sa.Column("receipt_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("counted", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("paper_batch_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_ballot_paper_batch_id_paper_batch"),
            "paper_batch",
            ["paper_batch_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint(batch_op.f("uq_ballot_receipt_hash"), ["receipt_hash"])
        batch_op.create_check_constraint(
            batch_op.f("ck_ballot_online_counted"), "counted OR paper_batch_id IS NOT NULL"
        )
        batch_op.create_index(batch_op.f("ix_ballot_paper_batch_id"), ["paper_batch_id"])
        batch_op.create_index("ix_ballot_round_counted", ["round_id", "counted"])
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.alter_column("counted", server_default=None)
    with op.batch_alter_table("receipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipt_round_id"))
    op.drop_table("receipt")
    with op.batch_alter_table("sealed_ballot", schema=None) as batch_op:
        batch_op.drop_index("ix_sealed_ballot_round_counted")
        batch_op.drop_index(batch_op.f("ix_sealed_ballot_paper_batch_id"))
    op.drop_table("sealed_ballot")
    with op.batch_alter_table("budget_round", schema=None) as batch_op:
        batch_op.drop_column("ballot_private_key")
        batch_op.drop_column("ballot_public_key")
