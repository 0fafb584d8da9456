"""Image files every application machine serves: in the database, not on one machine's disk."""

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from wapshop.extensions import db
from wapshop.models.base import utcnow


class MediaFile(db.Model):
    """One stored file by its path under /media/: product image variants
    ("products/<name>-<size>.jpg", a few KB, named by a hash of their pixels, so a name never
    changes content) and the uploaded originals ("originals/…", never served)."""

    __tablename__ = "media_files"
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
