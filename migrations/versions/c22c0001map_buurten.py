"""Issue 22: the map: a buurt's outline (``area_outline``: simplified polygons in micro-degrees,
its label point) and the point an author picked for a proposal (``proposal_place``).

Revision ID: c22c0001map
Revises: c22b0001photos
Create Date: 2026-12-06 02:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c22c0001map"
down_revision = "c22b0001photos"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "area_outline",
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=False),
        sa.Column("shape", sa.Text(), nullable=False),
        sa.Column("label_lon", sa.Integer(), nullable=False),
        sa.Column("label_lat", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "label_lon BETWEEN -180000000 AND 180000000 "
            "AND label_lat BETWEEN -85000000 AND 85000000",
            name=op.f("ck_area_outline_label"),
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_area_outline_area_id_area"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhood.id"],
            name=op.f("fk_area_outline_neighbourhood_id_neighbourhood"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("area_id", name=op.f("pk_area_outline")),
    )
    op.create_index(op.f("ix_area_outline_neighbourhood_id"), "area_outline", ["neighbourhood_id"])
    op.create_table(
        "proposal_place",
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("lon", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Integer(), nullable=False),
        sa.Column("placed_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "lon BETWEEN -180000000 AND 180000000 AND lat BETWEEN -85000000 AND 85000000",
            name=op.f("ck_proposal_place_point"),
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposal.id"],
            name=op.f("fk_proposal_place_proposal_id_proposal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("proposal_id", name=op.f("pk_proposal_place")),
    )


def downgrade() -> None:
    op.drop_table("proposal_place")
    op.drop_index(op.f("ix_area_outline_neighbourhood_id"), table_name="area_outline")
    op.drop_table("area_outline")
