"""Money is integer fen everywhere; this is the one place it becomes text and back."""

from decimal import Decimal, InvalidOperation


def format_fen(fen: int) -> str:
    """2550 -> '￥25.50'. The only way a price reaches a page."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}￥{yuan}.{cents:02d}"


def parse_yuan(text: str) -> int:
    """'25.5' -> 2550. Raises ValueError for anything that is not a yuan amount."""
    try:
        value = Decimal(str(text).strip().lstrip("￥¥"))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {text!r}") from exc
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise ValueError(f"not an amount: {text!r}")
    return int(value * 100)
