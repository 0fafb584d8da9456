"""The signed protocol between the shop and its processors: HMAC-SHA256 over the sorted
parameters (all but `sign`), with a timestamp and a nonce in every message."""

import hashlib
import hmac
import re
import secrets
import time

SIGN = "sign"
_HEX_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_STAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: '²'.isdigit() is True


def _canonical(params: dict) -> bytes:
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != SIGN).encode()


def sign(params: dict, key: str) -> str:
    return hmac.new(key.encode(), _canonical(params), hashlib.sha256).hexdigest()


def signed(params: dict, key: str) -> dict[str, str]:
    """The parameters as strings, plus timestamp, nonce and their signature."""
    message = {k: str(v) for k, v in params.items()}
    message.setdefault("timestamp", str(int(time.time())))
    message.setdefault("nonce", secrets.token_hex(8))
    message[SIGN] = sign(message, key)
    return message


def resigned(params: dict, key: str) -> dict[str, str]:
    """The same message sent again: a fresh timestamp and nonce, signed anew."""
    kept = {k: v for k, v in params.items() if k not in (SIGN, "timestamp", "nonce")}
    return signed(kept, key)


def verify(params: dict, key: str, max_age: int | None = None) -> bool:
    """Signature matches (in constant time) and, with max_age, the timestamp is recent.
    Anything that is not a signature at all (not 64 hex digits) is simply a mismatch."""
    given = str(params.get(SIGN, ""))
    if not _HEX_SIGNATURE.fullmatch(given):
        return False
    if not hmac.compare_digest(given.encode(), sign(params, key).encode()):
        return False
    return max_age is None or fresh(params, max_age)


def fresh(params: dict, max_age: int, now: float | None = None) -> bool:
    """The message's timestamp is within max_age seconds of now (either side: clocks drift)."""
    stamp = str(params.get("timestamp", ""))
    if not _STAMP.fullmatch(stamp):
        return False
    return abs((time.time() if now is None else now) - int(stamp)) <= max_age
