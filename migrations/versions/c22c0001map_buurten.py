"""Issue 22: the map (buurt outlines, places). (Placeholder: the schema change is filled in with the feature.)

Revision ID: c22c0001map
Revises: c22b0001photos
Create Date: 2026-12-06 02:20:00.000000

"""

# revision identifiers, used by Alembic.
revision = "c22c0001map"
down_revision = "c22b0001photos"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
