"""media_files: product image variants and originals in the database, shared by every machine

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 09:00:00

"""
from datetime import datetime, timezone
from pathlib import Path

from alembic import op
import sqlalchemy as sa
from flask import current_app


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('media_files',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_media_files'))
    )
    _copy_files_from_disk()


TYPES = {'.jpg': 'image/jpeg', '.png': 'image/png', '.gif': 'image/gif', '.webp': 'image/webp'}


def _copy_files_from_disk():
    """Images written before this revision lived under MEDIA_DIR: bring them along."""
    # MEDIA_DIR, or where it defaulted to before this revision.
    media = Path(current_app.config.get('MEDIA_DIR') or Path(current_app.instance_path, 'media'))
    table = sa.table('media_files', sa.column('name'), sa.column('content_type'),
                     sa.column('data', sa.LargeBinary), sa.column('created_at'))
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for folder in ('products', 'originals'):
        for path in sorted((media / folder).glob('*')) if (media / folder).is_dir() else ():
            if path.suffix in TYPES:
                op.execute(table.insert().values(name=f'{folder}/{path.name}',
                                                 content_type=TYPES[path.suffix],
                                                 data=path.read_bytes(), created_at=now))


def downgrade():
    op.drop_table('media_files')
