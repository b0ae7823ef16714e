"""Issue 19, ballot secrecy: ballots sealed with the round's public key until the close, receipts
that only their holder can open, the round's key pair

Revision ID: c19a0001secrecy
Revises: c18a0001mfa
Create Date: 2026-12-05 05:45:00.000000

"""

# revision identifiers, used by Alembic.
revision = "c19a0001secrecy"
down_revision = "c18a0001mfa"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
