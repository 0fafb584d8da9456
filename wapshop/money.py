"""Money is integer fen everywhere; this is the one place it becomes text and back."""

import re
from decimal import ROUND_HALF_UP, Decimal

# An INTEGER column holds 2**31 - 1 fen: 21 million yuan, far beyond any one price or order.
MAX_FEN = 2**31 - 1
# ASCII digits, at most two decimals ('29.9', '29.90', '-3'): no exponents, no '²'.
YUAN = re.compile(r"[-+]?(?:[0-9]{1,12}(?:\.[0-9]{0,2}0*)?|\.[0-9]{1,2}0*)")


def yuan_text(fen: int | Decimal) -> str:
    """2550 -> '25.50': yuan with two decimals, no currency sign (CSV cells, reports). A
    fraction of a fen (an average) rounds half up."""
    whole = int(Decimal(fen).quantize(Decimal(1), ROUND_HALF_UP))
    sign = "-" if whole < 0 else ""
    yuan, cents = divmod(abs(whole), 100)
    return f"{sign}{yuan}.{cents:02d}"


def format_fen(fen: int) -> str:
    """2550 -> '￥25.50'. The only way a price reaches a page."""
    text = yuan_text(fen)
    return f"-￥{text[1:]}" if text.startswith("-") else f"￥{text}"


def parse_yuan(text: str) -> int:
    """'25.5' -> 2550. Raises ValueError for anything that is not a yuan amount, or one past
    MAX_FEN (what an INTEGER column holds)."""
    plain = str(text).strip().lstrip("￥¥")
    if not YUAN.fullmatch(plain):
        raise ValueError(f"not an amount: {text!r}")
    fen = int(Decimal(plain) * 100)
    if abs(fen) > MAX_FEN:
        raise ValueError(f"amount too large: {text!r}")
    return fen
