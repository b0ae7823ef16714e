"""Issue 17, voting and results: constraints that hold under concurrency

Revision ID: c17a0003votes
Revises: c17a0002props
Create Date: 2026-12-04 16:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c17a0003votes"
down_revision = "c17a0002props"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
