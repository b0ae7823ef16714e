"""Issue 17, rounds, accounts and wijken: constraints that hold under concurrency

A role without a wijk (admin, a councillor of all wijken) is held once per account: the unique
constraint on (user_id, role, neighbourhood_id) lets two rows with a NULL wijk differ, so two
grants at the same moment could both land. A partial unique index closes that. The other rules of
these areas were already constraints: one account per e-mail address (uq_user_account_email), one
wijk per slug (uq_neighbourhood_slug), one buurt per slug in a wijk
(uq_area_neighbourhood_id_slug), a board role names a wijk (ck_role_assignment_role_scope). The
phase moves are kept single by the round's row lock, not by a constraint (a round may pass a phase
twice after going back).

Revision ID: c17a0004rounds
Revises: c17a0003votes
Create Date: 2026-12-04 16:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c17a0004rounds"
down_revision = "c17a0003votes"
branch_labels = None
depends_on = None

UNSCOPED = sa.text("neighbourhood_id IS NULL")


def upgrade():
    # a role granted twice at once before this index: the copies mean nothing (the same person,
    # the same role, everywhere); keep the first grant
    op.execute(
        "DELETE FROM role_assignment WHERE neighbourhood_id IS NULL AND id NOT IN ("
        "SELECT min(id) FROM role_assignment WHERE neighbourhood_id IS NULL "
        "GROUP BY user_id, role)"
    )
    with op.batch_alter_table("role_assignment", schema=None) as batch_op:
        batch_op.create_index(
            "uq_role_assignment_unscoped",
            ["user_id", "role"],
            unique=True,
            postgresql_where=UNSCOPED,
            sqlite_where=UNSCOPED,
        )


def downgrade():
    with op.batch_alter_table("role_assignment", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_role_assignment_unscoped",
            postgresql_where=UNSCOPED,
            sqlite_where=UNSCOPED,
        )
