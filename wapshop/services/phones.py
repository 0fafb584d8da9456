"""Mainland mobile numbers: the key that identifies a guest."""

import re

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
