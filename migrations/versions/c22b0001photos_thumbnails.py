"""Issue 22: photos (thumbnails, alt text). (Placeholder: the schema change is filled in with the feature.)

Revision ID: c22b0001photos
Revises: c22a0001explained
Create Date: 2026-12-06 02:20:00.000000

"""

# revision identifiers, used by Alembic.
revision = "c22b0001photos"
down_revision = "c22a0001explained"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
