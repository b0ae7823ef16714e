"""user_account: work_postcode and work_neighbourhood_id (people who work in a wijk take part in
the rounds of that wijk that are open to "mensen die er werken")

Revision ID: f724777ddaa5
Revises: b7d3e5a91c42
Create Date: 2026-11-30 19:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f724777ddaa5'
down_revision = 'b7d3e5a91c42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('work_postcode', sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column('work_neighbourhood_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_account_work_neighbourhood_id'), ['work_neighbourhood_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_user_account_work_neighbourhood_id_neighbourhood'), 'neighbourhood', ['work_neighbourhood_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_user_account_work_neighbourhood_id_neighbourhood'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_user_account_work_neighbourhood_id'))
        batch_op.drop_column('work_neighbourhood_id')
        batch_op.drop_column('work_postcode')
