"""The back office's people and what they changed: staff accounts with roles, the audit log."""

import json
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wapshop.extensions import db
from wapshop.models.base import utcnow
from wapshop.models.catalog import Seller


class StaffRole(StrEnum):
    ADMIN = "admin"  # everything, and manages staff
    OPERATOR = "operator"  # catalogue and deals
    SERVICE = "service"  # orders and after-sales
    SELLER = "seller"  # its own products and orders only


ROLE_LABELS = {
    StaffRole.ADMIN: "管理员",
    StaffRole.OPERATOR: "运营",
    StaffRole.SERVICE: "客服",
    StaffRole.SELLER: "卖家",
}


class Staff(db.Model):
    __tablename__ = "staff"
    __table_args__ = (
        # A seller account belongs to exactly one seller; nobody else is tied to one.
        CheckConstraint("(role = 'seller') = (seller_id IS NOT NULL)", name="seller"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("sellers.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Raised when the password changes: a session started under an older value is over.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")

    seller: Mapped[Seller | None] = relationship()

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[StaffRole(self.role)]

    def __str__(self) -> str:
        return f"{self.name}（{self.username}）"


class AuditEntry(db.Model):
    """One change: who, when, to what (entity and id), which action, the values before and after.

    `actor` keeps the staff member's username (or 'cli') so the entry reads right even after
    the account is renamed or removed."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_entity", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    actor: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(20))
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str | None] = mapped_column(String(40))
    # JSON objects; null when there was nothing before (create) or after (delete).
    before_json: Mapped[str | None] = mapped_column(Text)
    after_json: Mapped[str | None] = mapped_column(Text)

    @property
    def before(self) -> dict:
        return json.loads(self.before_json) if self.before_json else {}

    @property
    def after(self) -> dict:
        return json.loads(self.after_json) if self.after_json else {}
