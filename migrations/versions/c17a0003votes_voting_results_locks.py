"""Issue 17, voting and results: constraints that hold under concurrency

- paper_batch: a batch ends once (never both confirmed and discarded: ck_paper_batch_closed_once),
  is confirmed by another board member than the one who entered it (ck_paper_batch_four_eyes),
  and declares at least one sheet (ck_paper_batch_declared);
- participation: a paper vote belongs to its batch, no other vote does
  (ck_participation_paper_batch), so discarding the batch takes every paper vote of it away;
- ballot: only a paper ballot waits for its batch; a ballot cast online counts
  (ck_ballot_online_counted);
- code_batch: a revoked batch can never be shown again (ck_code_batch_revoked_wiped);
- code_batch.form_token and paper_batch.form_token (unique): the same form sent twice (a
  double click) makes one batch of codes, opens one paper batch.

Revoking a batch now revokes its unused codes too (so a cast that uses one of them meets the
revocation on the code's own row). The unused codes of batches revoked before are marked here
in the same way; nothing else changes for them (they could not vote already).

Revision ID: c17a0003votes
Revises: c17a0002props
Create Date: 2026-12-04 16:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c17a0003votes"
down_revision = "c17a0002props"
branch_labels = None
depends_on = None

CLOSED_ONCE = "confirmed_at IS NULL OR discarded_at IS NULL"
FOUR_EYES = "confirmed_by_id IS NULL OR created_by_id IS NULL OR confirmed_by_id <> created_by_id"
PAPER_BATCH = (
    "(channel = 'paper' AND paper_batch_id IS NOT NULL) "
    "OR (channel <> 'paper' AND paper_batch_id IS NULL)"
)


def upgrade():
    bind = op.get_bind()
    # A database where a batch was both confirmed and discarded (the race this issue is about)
    # cannot get the constraint, and which of the two holds is for the board to decide, not
    # for a migration. Say which batches, and stop.
    broken = bind.execute(
        sa.text(
            "SELECT id, label FROM paper_batch "
            "WHERE confirmed_at IS NOT NULL AND discarded_at IS NOT NULL ORDER BY id"
        )
    ).all()
    if broken:
        listed = ", ".join(f"{label!r} (stapel {batch_id})" for batch_id, label in broken)
        raise RuntimeError(
            "Er zijn stapels papieren stemmen die zowel bevestigd als weggegooid zijn: "
            f"{listed}. De regel 'een stapel wordt bevestigd of weggegooid, niet allebei' kan er "
            "zo niet bij. Laat het bestuur eerst beslissen wat er met deze stapels gebeurt."
        )
    bind.execute(
        sa.text(
            "UPDATE voting_code SET revoked_at = (SELECT code_batch.revoked_at FROM code_batch "
            "WHERE code_batch.id = voting_code.batch_id) "
            "WHERE used = false AND revoked_at IS NULL "
            "AND batch_id IN (SELECT id FROM code_batch WHERE revoked_at IS NOT NULL)"
        )
    )
    bind.execute(sa.text("UPDATE code_batch SET seed = NULL WHERE revoked_at IS NOT NULL"))

    with op.batch_alter_table("code_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("form_token", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_code_batch_form_token"), ["form_token"])
        batch_op.create_check_constraint(
            batch_op.f("ck_code_batch_revoked_wiped"), "revoked_at IS NULL OR seed IS NULL"
        )

    with op.batch_alter_table("paper_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("form_token", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_paper_batch_form_token"), ["form_token"])
        batch_op.create_check_constraint(
            batch_op.f("ck_paper_batch_declared"), "declared_count > 0"
        )
        batch_op.create_check_constraint(batch_op.f("ck_paper_batch_closed_once"), CLOSED_ONCE)
        batch_op.create_check_constraint(batch_op.f("ck_paper_batch_four_eyes"), FOUR_EYES)

    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f("ck_participation_paper_batch"), PAPER_BATCH)

    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.create_check_constraint(
            batch_op.f("ck_ballot_online_counted"), "counted OR paper_batch_id IS NOT NULL"
        )


def downgrade():
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_ballot_online_counted"), type_="check")

    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_participation_paper_batch"), type_="check")

    with op.batch_alter_table("paper_batch", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_paper_batch_four_eyes"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_paper_batch_closed_once"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_paper_batch_declared"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_paper_batch_form_token"), type_="unique")
        batch_op.drop_column("form_token")

    with op.batch_alter_table("code_batch", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_code_batch_revoked_wiped"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_code_batch_form_token"), type_="unique")
        batch_op.drop_column("form_token")
