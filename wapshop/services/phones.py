"""Mainland mobile numbers: the key that identifies a guest, and the one-time SMS codes that
prove a visitor holds one."""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta


from flask_babel import gettext as _
from sqlalchemy import update

from wapshop.extensions import db
from wapshop.models import OutboxMessage, PhoneCode
from wapshop.services import Refusal, notify

_MOBILE = re.compile(r"1[3-9]\d{9}")
_NOISE = re.compile(r"[\s\-()（）]")


def normalise(text: str) -> str | None:
    """'+86 138-0013-8000' -> '13800138000'; None when it is not a mainland mobile number."""
    digits = _NOISE.sub("", text or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix) :]
            break
    return digits if _MOBILE.fullmatch(digits) else None


def mask(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


# --- Proof that a visitor holds a phone: a one-time code sent by SMS through the outbox.

CODE_DIGITS = 6


class CodeRefused(Refusal):
    """The code cannot prove the phone: wrong, expired, used, or tried too often."""

    field = "code"
    status = 400


@dataclass(frozen=True)
class ProvenPhone:
    """A phone whose holder just typed the code sent to it: the only way to bind a phone to an
    account (see accounts.register)."""

    phone: str
    purpose: str


def _digest(secret: str, phone: str, purpose: str, code: str) -> str:
    # Keyed, so the table alone does not give the code away (a million codes are quick to try).
    message = f"{purpose}:{phone}:{code}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def send_code(phone: str, purpose: str, secret: str, now: datetime, lifetime: timedelta) -> int:
    """Make a new code for the phone, ending any earlier one for the same purpose, and queue
    the SMS that carries it. Returns the code's id. Flushes; the caller commits."""
    db.session.execute(
        update(PhoneCode)
        .where(PhoneCode.phone == phone, PhoneCode.purpose == purpose, PhoneCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    row = PhoneCode(
        phone=phone,
        purpose=purpose,
        code_hash=_digest(secret, phone, purpose, code),
        expires_at=now + lifetime,
        created_at=now,
    )
    db.session.add(row)
    minutes = int(lifetime.total_seconds() // 60)
    shop = notify.signature().shop
    body = f"【{shop}】验证码{code}，{minutes}分钟内有效，仅用于验证手机号，请勿告诉他人。"
    db.session.add(OutboxMessage(phone=phone, kind=f"code_{purpose}", body=body))
    db.session.flush()
    return row.id


def prove(
    code_id: int, phone: str, purpose: str, code: str, secret: str, now: datetime, attempts: int
) -> ProvenPhone:
    """Check a typed code. Each try is counted first, in one conditional UPDATE, so parallel
    guesses cannot pass `attempts`; a right code is used up the same way, exactly once.
    Raises CodeRefused. The caller commits whatever happens: a wrong try must stay counted."""
    live = (
        (PhoneCode.id == code_id)
        & (PhoneCode.phone == phone)
        & (PhoneCode.purpose == purpose)
        & PhoneCode.used_at.is_(None)
        & (PhoneCode.expires_at > now)
    )
    tried = db.session.execute(
        update(PhoneCode)
        .where(live, PhoneCode.attempts < attempts)
        .values(attempts=PhoneCode.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not tried:
        raise CodeRefused(_("验证码已过期或已用过，请重新获取。"), "code")
    row = db.session.get(PhoneCode, code_id, populate_existing=True)
    if not hmac.compare_digest(row.code_hash, _digest(secret, phone, purpose, code)):
        left = attempts - row.attempts
        if left <= 0:
            raise CodeRefused(_("验证码错误次数太多，请重新获取。"), "code")
        raise CodeRefused(_("验证码不对，还可以再试 %(n)d 次。", n=left), "code")
    used = db.session.execute(
        update(PhoneCode)
        .where(live)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not used:
        raise CodeRefused(_("验证码已过期或已用过，请重新获取。"), "code")
    return ProvenPhone(phone, purpose)
