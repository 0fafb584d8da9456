"""The signed protocol between the shop and its processors: HMAC-SHA256 over the sorted
parameters (all but `sign`), with a timestamp and a nonce in every message."""

import hashlib
import hmac
import secrets
import time

SIGN = "sign"


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


def verify(params: dict, key: str, max_age: int | None = None) -> bool:
    """Signature matches (in constant time) and, with max_age, the timestamp is recent."""
    given = str(params.get(SIGN, ""))
    if not hmac.compare_digest(given.encode(), sign(params, key).encode()):  # '²' too
        return False
    if max_age is not None:
        stamp = str(params.get("timestamp", ""))
        return stamp.isascii() and stamp.isdigit() and abs(time.time() - int(stamp)) <= max_age
    return True
