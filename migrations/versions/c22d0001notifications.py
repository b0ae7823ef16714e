"""Issue 22: notifications — follows of a proposal (and its funded project), each person's
notification settings, and the outbox of mails (one row per person, kind and subject: unique,
so an event discovered twice is queued once)

Revision ID: c22d0001notify
Revises: c22c0001map
Create Date: 2026-12-06 02:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c22d0001notify"
down_revision = "c22c0001map"
branch_labels = None
depends_on = None

KINDS = ("voting_opens", "reminder", "result", "own_outcome", "follows")
STATES = ("pending", "sent", "dropped", "failed")


def upgrade() -> None:
    op.create_table(
        "notification_follow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposal.id"],
            name=op.f("fk_notification_follow_proposal_id_proposal"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_notification_follow_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_follow")),
        sa.UniqueConstraint(
            "user_id", "proposal_id", name=op.f("uq_notification_follow_user_id_proposal_id")
        ),
    )
    op.create_index(
        op.f("ix_notification_follow_proposal_id"), "notification_follow", ["proposal_id"]
    )
    op.create_table(
        "notification_settings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("voting_opens", sa.Boolean(), nullable=False),
        sa.Column("reminder", sa.Boolean(), nullable=False),
        sa.Column("result", sa.Boolean(), nullable=False),
        sa.Column("own_outcome", sa.Boolean(), nullable=False),
        sa.Column("follows", sa.Boolean(), nullable=False),
        sa.Column("weekly_digest", sa.Boolean(), nullable=False),
        sa.Column("last_digest_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_notification_settings_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_settings")),
    )
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind", sa.Enum(*KINDS, name="kind", native_enum=False, length=30), nullable=False
        ),
        sa.Column("subject_key", sa.String(length=60), nullable=False),
        sa.Column(
            "state",
            sa.Enum(*STATES, name="outboxstate", native_enum=False, length=30),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_notification_outbox_attempts")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_notification_outbox_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint(
            "user_id",
            "kind",
            "subject_key",
            name=op.f("uq_notification_outbox_user_id_kind_subject_key"),
        ),
    )
    op.create_index(
        "ix_notification_outbox_state_next_attempt_at",
        "notification_outbox",
        ["state", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_notification_outbox_state_next_attempt_at", "notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_table("notification_settings")
    op.drop_index(op.f("ix_notification_follow_proposal_id"), "notification_follow")
    op.drop_table("notification_follow")
