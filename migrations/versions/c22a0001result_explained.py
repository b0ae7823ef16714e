"""Issue 22, a result that explains itself: the figures behind each proposal's explanation
(what was left of the budget at its turn; for equal shares what its supporters had left, what
paying in full was, who paid in full, who paid all they had left, who had nothing left) and each
voter's share of the budget. Results stored before keep these empty: their ballots are not
recounted (a stored result never changes).

Revision ID: c22a0001explained
Revises: c21a0001door
Create Date: 2026-12-05 15:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c22a0001explained"
down_revision = "c21a0001door"
branch_labels = None
depends_on = None

LINE_COLUMNS = (
    "budget_left_cents",
    "supporters_had_cents",
    "price_cents",
    "paid_in_full",
    "paid_all_left",
    "paid_all_left_cents",
    "had_nothing_left",
)


def upgrade():
    with op.batch_alter_table("round_result") as batch_op:
        batch_op.add_column(sa.Column("voter_share_cents", sa.Integer(), nullable=True))
    with op.batch_alter_table("round_result_line") as batch_op:
        for name in LINE_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("round_result_line") as batch_op:
        for name in reversed(LINE_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table("round_result") as batch_op:
        batch_op.drop_column("voter_share_cents")
