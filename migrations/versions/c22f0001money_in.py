"""Issue 22: money coming in (income, the pot, draws). (Placeholder: the schema change is filled in with the feature.)

Revision ID: c22f0001money
Revises: c22e0001exact
Create Date: 2026-12-06 02:20:00.000000

"""

# revision identifiers, used by Alembic.
revision = "c22f0001money"
down_revision = "c22e0001exact"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
