"""cache generations: the figure every machine's page cache compares with (web/cache.py).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-28 12:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "cache_generations",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cache_generations")),
    )
    op.bulk_insert(table, [{"name": "catalog", "value": 0}])


def downgrade():
    op.drop_table("cache_generations")
