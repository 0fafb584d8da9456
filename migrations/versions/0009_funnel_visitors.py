"""funnel_visitors: the funnel counts visitors per day, rendition and step, not page views

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 10:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('funnel_visitors',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('rendition', sa.String(length=8), nullable=False),
    sa.Column('step', sa.String(length=10), nullable=False),
    sa.Column('visitor', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('day', 'rendition', 'step', 'visitor', name=op.f('pk_funnel_visitors'))
    )


def downgrade():
    op.drop_table('funnel_visitors')
