"""Issue 22, photos on cards, the ballot and the result: each proposal photo records the widths
of the thumbnails made of it (``thumb_widths``, e.g. "240,480"; empty while none are made). A
photo stored before gets its thumbnails from ``flask proposals thumbnails``, which fills this in;
until then the pages show the photo itself.

Revision ID: c22b0001photos
Revises: c22a0001explained
Create Date: 2026-12-06 02:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c22b0001photos"
down_revision = "c22a0001explained"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("proposal_image") as batch_op:
        batch_op.add_column(
            sa.Column("thumb_widths", sa.String(length=20), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("proposal_image") as batch_op:
        batch_op.drop_column("thumb_widths")
