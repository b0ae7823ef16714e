"""Issue 22: exact tools (voting extensions, treasurer terms). (Placeholder: the schema change is filled in with the feature.)

Revision ID: c22e0001exact
Revises: c22d0001notify
Create Date: 2026-12-06 02:20:00.000000

"""

# revision identifiers, used by Alembic.
revision = "c22e0001exact"
down_revision = "c22d0001notify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
