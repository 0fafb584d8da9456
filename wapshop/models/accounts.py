"""Buyers with an account (phone + password) and the addresses they ship to."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wapshop.extensions import db
from wapshop.models.base import utcnow


class Buyer(UserMixin, db.Model):
    __tablename__ = "buyers"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(11), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    addresses: Mapped[list["Address"]] = relationship(
        back_populates="buyer", order_by="Address.last_used_at.desc()"
    )


class Address(db.Model):
    __tablename__ = "addresses"
    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("buyers.id"), index=True)
    receiver_name: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str] = mapped_column(String(11))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    street: Mapped[str] = mapped_column(String(120))
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)

    buyer: Mapped[Buyer] = relationship(back_populates="addresses")


class PhoneCode(db.Model):
    """A one-time code sent by SMS to prove that whoever asked holds the phone. Only a keyed
    hash of the code is kept; it expires, allows a few tries and is used at most once."""

    __tablename__ = "phone_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(11), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # register
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
