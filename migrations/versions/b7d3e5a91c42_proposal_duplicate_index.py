"""proposal: index on duplicate_of_id (the proposal page looks up the duplicates of a proposal;
without it that is a sequential scan of every proposal of every round, issue 9)

Revision ID: b7d3e5a91c42
Revises: f19b39b8e07a
Create Date: 2026-11-30 11:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7d3e5a91c42'
down_revision = 'f19b39b8e07a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.create_index('ix_proposal_duplicate_of_id', ['duplicate_of_id'], unique=False)


def downgrade():
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.drop_index('ix_proposal_duplicate_of_id')
