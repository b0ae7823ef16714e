"""Issue 22: notifications (follows, settings, outbox). (Placeholder: the schema change is filled in with the feature.)

Revision ID: c22d0001notify
Revises: c22c0001map
Create Date: 2026-12-06 02:20:00.000000

"""

# revision identifiers, used by Alembic.
revision = "c22d0001notify"
down_revision = "c22c0001map"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
