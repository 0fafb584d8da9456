"""report rollups and funnel page-view counts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

Per-order facts and daily rollups of the order log for the reports (report_orders,
report_order_days, report_product_days, the refresh state report_refreshes), the funnel's page_view_counts, and the index on
orders.created_at the rollups need. After upgrading a database that has orders: flask reports rebuild.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('page_view_counts',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('rendition', sa.String(length=8), nullable=False),
    sa.Column('page', sa.String(length=20), nullable=False),
    sa.Column('views', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'rendition', 'page', name=op.f('pk_page_view_counts'))
    )
    op.create_table('report_order_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('payment_method', sa.String(length=20), nullable=False),
    sa.Column('rendition', sa.String(length=8), nullable=False),
    sa.Column('carrier', sa.String(length=20), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('orders_fen', sa.BigInteger(), nullable=False),
    sa.Column('address_ok', sa.Integer(), nullable=False),
    sa.Column('shipped', sa.Integer(), nullable=False),
    sa.Column('shipped_fen', sa.BigInteger(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('paid', sa.Integer(), nullable=False),
    sa.Column('paid_fen', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'payment_method', 'rendition', 'carrier', name=op.f('pk_report_order_days'))
    )
    op.create_table('report_refreshes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.BigInteger(), nullable=False),
    sa.Column('gap_ids', sa.Text(), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_refreshes'))
    )
    op.create_table('report_orders',
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('payment_method', sa.String(length=20), nullable=False),
    sa.Column('rendition', sa.String(length=8), nullable=False),
    sa.Column('carrier', sa.String(length=20), nullable=False),
    sa.Column('phone', sa.String(length=11), nullable=False),
    sa.Column('total_fen', sa.Integer(), nullable=False),
    sa.Column('address_ok', sa.Integer(), nullable=False),
    sa.Column('shipped', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('paid', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_report_orders_order_id_orders')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_report_orders'))
    )
    op.create_index('ix_report_orders_day_shipped_phone', 'report_orders', ['day', 'shipped', 'phone'], unique=False)
    op.create_table('report_product_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('payment_method', sa.String(length=20), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('orders_fen', sa.BigInteger(), nullable=False),
    sa.Column('paid', sa.Integer(), nullable=False),
    sa.Column('paid_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_report_product_days_product_id_products')),
    sa.PrimaryKeyConstraint('day', 'product_id', 'payment_method', name=op.f('pk_report_product_days'))
    )
    op.create_index('ix_orders_created_at', 'orders', ['created_at'], unique=False)


def downgrade():
    op.drop_index('ix_orders_created_at', table_name='orders')
    op.drop_table('report_product_days')
    op.drop_index('ix_report_orders_day_shipped_phone', table_name='report_orders')
    op.drop_table('report_orders')
    op.drop_table('report_refreshes')
    op.drop_table('report_order_days')
    op.drop_table('page_view_counts')
