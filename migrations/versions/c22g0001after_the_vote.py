"""Issue 22.7, conversation after the vote: a wijkdialoog thread can be about a funded project
or one of its expenses (``thread.project_id``, ``thread.expense_id``; each unique, so the thread
made on the first question is the only one), and about one thing at most
(``ck_thread_one_subject``).
Issue 22.8 (first steps) needs no schema change.

Revision ID: c22g0001after
Revises: c22f0001money
Create Date: 2026-12-06 02:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c22g0001after"
down_revision = "c22f0001money"
branch_labels = None
depends_on = None

ONE_SUBJECT = (
    "(CASE WHEN proposal_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN project_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN expense_id IS NULL THEN 0 ELSE 1 END) <= 1"
)


def upgrade() -> None:
    with op.batch_alter_table("thread") as batch_op:
        batch_op.add_column(sa.Column("project_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("expense_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_thread_project_id_funded_project"),
            "funded_project",
            ["project_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_thread_expense_id_expense"),
            "expense",
            ["expense_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint(batch_op.f("uq_thread_project_id"), ["project_id"])
        batch_op.create_unique_constraint(batch_op.f("uq_thread_expense_id"), ["expense_id"])
        batch_op.create_check_constraint(batch_op.f("ck_thread_one_subject"), ONE_SUBJECT)


def downgrade() -> None:
    with op.batch_alter_table("thread") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_thread_one_subject"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_thread_expense_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_thread_project_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_thread_expense_id_expense"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_thread_project_id_funded_project"), type_="foreignkey"
        )
        batch_op.drop_column("expense_id")
        batch_op.drop_column("project_id")
