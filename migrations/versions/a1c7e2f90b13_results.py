"""results: the immutable result of a round and one line per proposal

Revision ID: a1c7e2f90b13
Revises: 64f62f2acfd4
Create Date: 2026-11-25 10:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1c7e2f90b13'
down_revision = '64f62f2acfd4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('round_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=20), nullable=False),
    sa.Column('completion', sa.String(length=20), nullable=True),
    sa.Column('tie_break', sa.String(length=200), nullable=False),
    sa.Column('budget_cents', sa.Integer(), nullable=False),
    sa.Column('cost_cents', sa.Integer(), nullable=False),
    sa.Column('ballots_counted', sa.Integer(), nullable=False),
    sa.Column('ballot_type', sa.String(length=20), nullable=False),
    sa.Column('ballots_file', sa.Text(), nullable=False),
    sa.Column('ballots_sha256', sa.String(length=64), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user_account.id'], name=op.f('fk_round_result_closed_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['budget_round.id'], name=op.f('fk_round_result_round_id_budget_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_result')),
    sa.UniqueConstraint('round_id', name=op.f('uq_round_result_round_id'))
    )
    op.create_table('round_result_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('funded', sa.Boolean(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('supporters', sa.Integer(), nullable=False),
    sa.Column('cost_cents', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('supporters_money_cents', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], name=op.f('fk_round_result_line_proposal_id_proposal'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['result_id'], ['round_result.id'], name=op.f('fk_round_result_line_result_id_round_result'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_result_line')),
    sa.UniqueConstraint('result_id', 'proposal_id', name=op.f('uq_round_result_line_result_id_proposal_id'))
    )
    with op.batch_alter_table('round_result_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_result_line_proposal_id'), ['proposal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_round_result_line_result_id'), ['result_id'], unique=False)


def downgrade():
    with op.batch_alter_table('round_result_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_round_result_line_result_id'))
        batch_op.drop_index(batch_op.f('ix_round_result_line_proposal_id'))

    op.drop_table('round_result_line')
    op.drop_table('round_result')
