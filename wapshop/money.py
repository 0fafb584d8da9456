"""Money is integer fen everywhere; this is the one place it becomes text and back."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


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
    """'25.5' -> 2550. Raises ValueError for anything that is not a yuan amount."""
    try:
        value = Decimal(str(text).strip().lstrip("￥¥"))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {text!r}") from exc
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise ValueError(f"not an amount: {text!r}")
    return int(value * 100)
