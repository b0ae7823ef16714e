"""Issue 17, spending: constraints that keep the money right under concurrency

Revision ID: c17a0001spend
Revises: f724777ddaa5
Create Date: 2026-12-04 16:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c17a0001spend"
down_revision = "f724777ddaa5"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
