"""The cart beside 立即购买: lines of (variant id, quantity) the view keeps in the server-side
session (so it works cookie-less through the sid and survives a new sid). These functions take
and return plain lists; the view stores them. Stock is only taken at checkout."""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from wapshop.services import NotFound, Refusal
from wapshop.services.checkout import MAX_LINES, MAX_QUANTITY, Line, Quote, quote_variant

SESSION_KEY = "cart"

Items = list[list[int]]  # [[variant_id, quantity], ...], oldest first


class CartRefusal(Refusal):
    field = "q"


@dataclass(frozen=True)
class CartLine:
    quote: Quote
    quantity: int

    @property
    def amount_fen(self) -> int:
        return self.quote.unit_price_fen * self.quantity


def clean(raw) -> Items:
    """The session's value as well-formed lines (anything else is dropped)."""
    items: Items = []
    if not isinstance(raw, list):
        return items
    for entry in raw[:MAX_LINES]:
        if (
            isinstance(entry, list)
            and len(entry) == 2
            and all(type(x) is int for x in entry)
            and 1 <= entry[1] <= MAX_QUANTITY
            and entry[0] not in (e[0] for e in items)
        ):
            items.append([entry[0], entry[1]])
    return items


def add(items: Items, variant_id: int, quantity: int, now: datetime) -> Items:
    """The cart with `quantity` more of a variant. Raises NotFound (no such variant for sale)
    or CartRefusal (sold out, over 99 on a line, over 20 lines)."""
    q = quote_variant(variant_id, now)
    if not q.variant.stock:
        raise CartRefusal(_l("「%(item)s」已售完。", item=q.name))
    if not 1 <= quantity <= MAX_QUANTITY:
        raise CartRefusal(_l("数量请填1到%(n)d。", n=MAX_QUANTITY))
    items = clean(items)
    for entry in items:
        if entry[0] == variant_id:
            if entry[1] + quantity > MAX_QUANTITY:
                raise CartRefusal(_l("每件商品最多买%(n)d件。", n=MAX_QUANTITY))
            entry[1] += quantity
            return items
    if len(items) >= MAX_LINES:
        raise CartRefusal(_l("购物车最多放%(n)d种商品，请先结算或删掉一些。", n=MAX_LINES))
    return [*items, [variant_id, quantity]]


def change(items: Items, quantities: dict[int, int]) -> Items:
    """New quantities per variant id (0 removes the line). Raises CartRefusal."""
    if any(not 0 <= n <= MAX_QUANTITY for n in quantities.values()):
        raise CartRefusal(_l("数量请填0到%(n)d（0 即删除）。", n=MAX_QUANTITY))
    changed = [[v, quantities.get(v, n)] for v, n in clean(items)]
    return [entry for entry in changed if entry[1] > 0]


def lines(items: Items, now: datetime) -> list[CartLine]:
    """The cart as shown: each line with its price now; lines no longer sold are left out."""
    found = []
    for variant_id, quantity in clean(items):
        try:
            found.append(CartLine(quote_variant(variant_id, now), quantity))
        except NotFound:
            continue
    return found


def order_lines(cart_lines: list[CartLine]) -> list[Line]:
    """What the confirmation page asks the checkout for: each line with the price it shows."""
    return [
        Line(c.quote.variant.id, c.quantity, c.quote.unit_price_fen, c.quote.deal_id)
        for c in cart_lines
    ]
