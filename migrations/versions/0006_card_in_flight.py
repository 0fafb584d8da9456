"""one card payment in flight per order

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 09:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

CARD_IN_FLIGHT = sa.text("method = 'card' AND status = 'pending'")


def upgrade():
    # Orders with several pending cards (the double-submit bug) keep only the newest pending.
    op.execute(
        "UPDATE payments SET status = 'failed', failure = 'superseded' "
        "WHERE method = 'card' AND status = 'pending' AND id NOT IN "
        "(SELECT max(id) FROM payments WHERE method = 'card' AND status = 'pending' "
        "GROUP BY order_id)"
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(
            'uq_payments_card_in_flight',
            ['order_id'],
            unique=True,
            sqlite_where=CARD_IN_FLIGHT,
            postgresql_where=CARD_IN_FLIGHT,
        )


def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('uq_payments_card_in_flight')
