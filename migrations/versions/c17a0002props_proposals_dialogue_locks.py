"""Issue 17, proposals and wijkdialoog: constraints that hold under concurrency

- One person co-submits a proposal once: a unique index on proposal_coauthor (proposal_id,
  user_id) (rows still waiting for an answer have no user and do not count). A second row of
  the same person on the same proposal, which only an address change between two invitations
  could make, is removed first (the first one stays).
- The stored counts equal the rows again: proposal.support_count is set to the number of
  support rows (two supports at once could store one too few: 50 supports stored as 48), and
  thread.comment_count and participant_count to what the comments say (the same race).
- Every proposal has its conversation: a proposal gets its thread when it is made now (a page
  that only reads no longer makes one); older proposals without one get it here.

The rules that were already constraints: one support per person per proposal
(uq_proposal_support_proposal_id_user_id), one report per person per comment
(uq_comment_report_comment_id_reporter_id), one follow per person per thread
(uq_thread_follow_thread_id_user_id), one thread per proposal (uq_thread_proposal_id).

Revision ID: c17a0002props
Revises: c17a0001spend
Create Date: 2026-12-04 16:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c17a0002props"
down_revision = "c17a0001spend"
branch_labels = None
depends_on = None


def upgrade():
    execute = op.get_bind().execute
    execute(
        sa.text(
            "DELETE FROM proposal_coauthor WHERE user_id IS NOT NULL AND id NOT IN ("
            "SELECT min(id) FROM proposal_coauthor WHERE user_id IS NOT NULL "
            "GROUP BY proposal_id, user_id)"
        )
    )
    with op.batch_alter_table("proposal_coauthor", schema=None) as batch_op:
        batch_op.create_index(
            "uq_proposal_coauthor_proposal_id_user_id", ["proposal_id", "user_id"], unique=True
        )
    execute(
        sa.text(
            "UPDATE proposal SET support_count = (SELECT count(*) FROM proposal_support "
            "WHERE proposal_support.proposal_id = proposal.id)"
        )
    )
    execute(
        sa.text(
            "UPDATE thread SET comment_count = (SELECT count(*) FROM comment "
            "WHERE comment.thread_id = thread.id), participant_count = (SELECT "
            "count(DISTINCT comment.author_id) FROM comment WHERE comment.thread_id = thread.id)"
        )
    )
    execute(
        sa.text(
            "INSERT INTO thread (neighbourhood_id, round_id, proposal_id, kind, status, title, "
            "body, created_at, comment_count, participant_count) "
            "SELECT neighbourhood_id, round_id, id, 'proposal', 'open', title, '', created_at, "
            "0, 0 FROM proposal WHERE NOT EXISTS "
            "(SELECT 1 FROM thread WHERE thread.proposal_id = proposal.id) ORDER BY id"
        )
    )


def downgrade():
    # the counts and the threads stay: they are right under the older code too
    with op.batch_alter_table("proposal_coauthor", schema=None) as batch_op:
        batch_op.drop_index("uq_proposal_coauthor_proposal_id_user_id")
