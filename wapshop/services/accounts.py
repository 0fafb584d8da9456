"""Buyer accounts: phone + password, and the addresses they remember. A phone becomes an
account's only with proof that the registrant holds it (phones.prove)."""

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from wapshop.extensions import db
from wapshop.models import Address, Buyer
from wapshop.clock import utcnow
from wapshop.services.phones import ProvenPhone

REGISTER = "register"  # the purpose of the SMS code that proves a new account's phone

# Checked against when the phone has no account, so a miss costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password")


class PhoneTaken(Exception):
    """An account already uses this phone."""


def hash_password(password: str) -> str:
    """Slow and salted (scrypt): kept while the phone is being proved, then on the account."""
    return generate_password_hash(password)


def check_phone_free(phone: str) -> None:
    """Raises PhoneTaken when an account already uses this phone."""
    if db.session.scalar(select(Buyer.id).where(Buyer.phone == phone)) is not None:
        raise PhoneTaken(phone)


def register(proven: ProvenPhone, password_hash: str) -> Buyer:
    """Create the account of a phone proved by an SMS code (see phones.prove). Raises
    PhoneTaken; a twin registration that wins the race raises IntegrityError at the
    commit. Flushes; the caller commits."""
    if proven.purpose != REGISTER:
        raise ValueError(f"a {proven.purpose!r} code does not prove a new account's phone")
    check_phone_free(proven.phone)
    buyer = Buyer(phone=proven.phone, password_hash=password_hash)
    db.session.add(buyer)
    db.session.flush()
    return buyer


def authenticate(phone: str, password: str) -> Buyer | None:
    buyer = db.session.scalar(select(Buyer).where(Buyer.phone == phone))
    if buyer is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return buyer if check_password_hash(buyer.password_hash, password) else None


def remember_address(buyer_id: int, receiver_name: str, phone: str, region_code: str, street: str):
    """Keep the address an order went to, most recent first (flushes; the caller commits)."""
    address = db.session.scalar(
        select(Address).where(
            Address.buyer_id == buyer_id,
            Address.receiver_name == receiver_name,
            Address.phone == phone,
            Address.region_code == region_code,
            Address.street == street,
        )
    )
    if address is None:
        address = Address(
            buyer_id=buyer_id,
            receiver_name=receiver_name,
            phone=phone,
            region_code=region_code,
            street=street,
        )
        db.session.add(address)
    address.last_used_at = utcnow()
    db.session.flush()
    return address


def last_address(buyer_id: int) -> Address | None:
    return db.session.scalar(
        select(Address)
        .where(Address.buyer_id == buyer_id)
        .order_by(Address.last_used_at.desc(), Address.id.desc())
        .limit(1)
    )
