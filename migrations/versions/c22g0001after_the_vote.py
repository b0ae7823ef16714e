"""Issue 22: conversation after the vote, first steps. (Placeholder: the schema change is filled in with the feature.)

Revision ID: c22g0001after
Revises: c22f0001money
Create Date: 2026-12-06 02:20:00.000000

"""

# revision identifiers, used by Alembic.
revision = "c22g0001after"
down_revision = "c22f0001money"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
