"""Issue 17, spending: constraints that keep the money right under concurrency

One ledger entry of kind 'expense' per expense (a partial unique index): two board members
approving one expense at once can no longer book it twice. The other rules this issue names were
already constraints: one correction per entry (uq_ledger_entry_corrects_id) and no expense of
EUR 0 (ck_expense_amount: amount_cents > 0).

Revision ID: c17a0001spend
Revises: f724777ddaa5
Create Date: 2026-12-04 16:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c17a0001spend"
down_revision = "f724777ddaa5"
branch_labels = None
depends_on = None

EXPENSE_KIND = sa.text("kind = 'expense'")


def upgrade():
    # A database that already holds an expense booked twice cannot get the index, and the ledger
    # is append-only: nothing here may remove the extra entry. Say which ones, and stop.
    doubled = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT expense_id, count(*) FROM ledger_entry WHERE kind = 'expense' "
                "AND expense_id IS NOT NULL GROUP BY expense_id HAVING count(*) > 1 "
                "ORDER BY expense_id"
            )
        )
        .all()
    )
    if doubled:
        listed = ", ".join(f"uitgave {expense} ({n}x)" for expense, n in doubled)
        raise RuntimeError(
            "Het grootboek heeft uitgaven die meer dan eens zijn geboekt: "
            f"{listed}. De index 'één boeking per uitgave' kan er zo niet bij. "
            "Laat het bestuur en de controleur eerst beslissen wat er met deze boekingen gebeurt."
        )
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.create_index(
            "uq_ledger_entry_expense",
            ["expense_id"],
            unique=True,
            postgresql_where=EXPENSE_KIND,
            sqlite_where=EXPENSE_KIND,
        )


def downgrade():
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_ledger_entry_expense",
            postgresql_where=EXPENSE_KIND,
            sqlite_where=EXPENSE_KIND,
        )
