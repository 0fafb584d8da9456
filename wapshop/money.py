"""Money is integer fen everywhere; this is the one place it becomes text and back."""

import re
from decimal import Decimal

# An INTEGER column holds 2**31 - 1 fen: 21 million yuan, far beyond any one price or order.
MAX_FEN = 2**31 - 1
# ASCII digits, at most two decimals ('29.9', '29.90', '-3'): no exponents, no '²'.
YUAN = re.compile(r"[-+]?(?:[0-9]{1,12}(?:\.[0-9]{0,2}0*)?|\.[0-9]{1,2}0*)")


def format_fen(fen: int) -> str:
    """2550 -> '￥25.50'. The only way a price reaches a page."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}￥{yuan}.{cents:02d}"


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
