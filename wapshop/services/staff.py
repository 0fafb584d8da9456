"""Staff accounts: create, authenticate (slow salted hash), change role, password, active."""

from dataclasses import dataclass

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from wapshop.extensions import db
from wapshop.models import Seller, Staff, StaffRole
from wapshop.clock import utcnow
from wapshop.services import NotFound, Refusal, admin_audit

MIN_PASSWORD = 8
# Checked against when the username is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password")
AUDITED = ("username", "name", "role", "seller_id", "active")


class StaffError(Refusal):
    """A refusal of a staff account's change; `field` names the form field it belongs to."""


@dataclass(frozen=True)
class StaffInput:
    username: str
    name: str
    role: str
    seller_id: int | None
    active: bool = True


def authenticate(username: str, password: str) -> Staff | None:
    """The active account with this username and password, its login time noted; else None.
    A miss costs as long as a hit, so timing does not tell which usernames exist."""
    staff = db.session.scalar(select(Staff).where(Staff.username == username))
    if staff is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(staff.password_hash, password) or not staff.active:
        return None
    staff.last_login_at = utcnow()
    return staff


def get(staff_id: int) -> Staff:
    found = db.session.get(Staff, staff_id)
    if found is None:
        raise NotFound("没有这个员工账号。")
    return found


def active_staff(staff_id) -> Staff | None:
    """The account behind a session's staff id, if it still exists and may log in."""
    staff = db.session.get(Staff, staff_id) if isinstance(staff_id, int) else None
    return staff if staff is not None and staff.active else None


def all_staff() -> list[Staff]:
    return list(db.session.scalars(select(Staff).order_by(Staff.role, Staff.username)))


def create_staff(data: StaffInput, password: str, actor: Staff | None) -> Staff:
    """Add an account. Raises StaffError. Flushes and audits; the caller commits."""
    _check(data, password, staff_id=None)
    staff = Staff(
        username=data.username,
        name=data.name,
        role=data.role,
        seller_id=data.seller_id if data.role == StaffRole.SELLER else None,
        active=data.active,
        password_hash=generate_password_hash(password),
    )
    db.session.add(staff)
    db.session.flush()
    admin_audit.record(
        actor, "create", "staff", staff.id, None, admin_audit.snapshot(staff, AUDITED)
    )
    return staff


def update_staff(staff: Staff, data: StaffInput, password: str | None, actor: Staff) -> None:
    """Change an account; a blank password keeps the old one, a new one ends every session
    of that person (session_version). An admin cannot demote or deactivate themselves
    (someone must be able to manage staff). Raises StaffError."""
    _check(data, password, staff_id=staff.id)
    if staff.id == actor.id and (data.role != StaffRole.ADMIN or not data.active):
        raise StaffError("不能取消自己的管理员权限或停用自己。", "role")
    before = admin_audit.snapshot(staff, AUDITED)
    staff.username = data.username
    staff.name = data.name
    staff.role = data.role
    staff.seller_id = data.seller_id if data.role == StaffRole.SELLER else None
    staff.active = data.active
    after = admin_audit.snapshot(staff, AUDITED)
    if password:
        staff.password_hash = generate_password_hash(password)
        staff.session_version += 1
        before["password"], after["password"] = "***", "（已更改）"
    db.session.flush()
    admin_audit.record(actor, "update", "staff", staff.id, before, after)


def _check(data: StaffInput, password: str | None, staff_id: int | None) -> None:
    if data.role not in tuple(StaffRole):
        raise StaffError("请选择角色。", "role")
    if data.role == StaffRole.SELLER and (
        data.seller_id is None or db.session.get(Seller, data.seller_id) is None
    ):
        raise StaffError("卖家账号必须选择所属卖家。", "seller_id")
    if password is not None and password != "" and len(password) < MIN_PASSWORD:
        raise StaffError(f"密码至少 {MIN_PASSWORD} 位。", "password")
    if staff_id is None and not password:
        raise StaffError("请设置密码。", "password")
    taken = db.session.scalar(select(Staff.id).where(Staff.username == data.username))
    if taken is not None and taken != staff_id:
        raise StaffError("这个用户名已被使用。", "username")
