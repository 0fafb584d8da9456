"""ticket_exchange_variant: an exchange may be to another size or colour (tickets.exchange_variant_id)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exchange_variant_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_tickets_exchange_variant_id_variants'), 'variants',
            ['exchange_variant_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_tickets_exchange_variant_id_variants'), type_='foreignkey'
        )
        batch_op.drop_column('exchange_variant_id')
