"""report_shipping: the reports' rollups keep the shipping fees inside their amounts

Revision ID: 0014
Revises: 0010
Create Date: 2026-11-28 12:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('report_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shipping_fen', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('report_order_days', schema=None) as batch_op:
        batch_op.add_column(sa.Column('orders_shipping_fen', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('shipped_shipping_fen', sa.BigInteger(), nullable=False, server_default='0'))
    # The rollups are derived data: the next `flask reports refresh` counts everything again,
    # shipping fees included.
    op.execute("UPDATE report_refreshes SET refreshed_at = NULL")


def downgrade():
    with op.batch_alter_table('report_order_days', schema=None) as batch_op:
        batch_op.drop_column('shipped_shipping_fen')
        batch_op.drop_column('orders_shipping_fen')
    with op.batch_alter_table('report_orders', schema=None) as batch_op:
        batch_op.drop_column('shipping_fen')
