"""Stock: held per variant; Product.stock is the sum of its variants' stock.

Every stock change goes through here and is conditional UPDATEs in the caller's transaction,
in the one order every stock change keeps: all the variants (ascending id), then their products
(ascending id), then (a caller touching deals) the deals (ascending id); so two transactions
never wait on each other's rows the other way round. A product without options has one variant
with no values (`sole_variant`).

Row locks are FOR NO KEY UPDATE (what an UPDATE of a non-key column takes on PostgreSQL): they
do not block an INSERT whose foreign key points at the row (FOR KEY SHARE), so an order being
placed can write its lines before it takes the stock, whoever holds these rows."""

from collections.abc import Iterable, Mapping

from sqlalchemy import bindparam, exists, select, update

from wapshop.extensions import db
from wapshop.models import Product, Variant


def sole_variant(product_id: int) -> Variant | None:
    """The variant of a product sold in one form (no options), else None."""
    found = db.session.scalars(
        select(Variant).where(Variant.product_id == product_id).limit(2)
    ).all()
    return found[0] if len(found) == 1 and found[0].values_json == "[]" else None


def set_sole_stock(product_id: int, new: int, seen: int | None = None) -> bool:
    """set_stock for a product sold in one form; False when it has options or the stock
    changed since `seen`."""
    variant = sole_variant(product_id)
    return variant is not None and set_stock(variant.id, new, seen)


def lock(variant_ids: Iterable[int]) -> list[int]:
    """Row locks in the one order every stock change keeps: the variants (ascending id), then
    their products (ascending id); a caller touching deals locks them after. Take these before
    a change of more than one variant, so two transactions never wait on each other the other
    way round (PostgreSQL; SQLite ignores FOR UPDATE, its first write takes the database
    lock). Returns the products' ids, ascending."""
    ids = sorted(set(variant_ids))
    product_ids = sorted(
        set(
            db.session.scalars(
                select(Variant.product_id)
                .where(Variant.id.in_(ids))
                .order_by(Variant.id)
                .with_for_update(key_share=True)
            )
        )
    )
    db.session.execute(
        select(Product.id)
        .where(Product.id.in_(product_ids))
        .order_by(Product.id)
        .with_for_update(key_share=True)
    ).all()
    return product_ids


def _product_of(variant_id: int):
    return select(Variant.product_id).where(Variant.id == variant_id).scalar_subquery()


# Built once (their cache keys with them): every order runs them.
_TAKE_VARIANT = (
    update(Variant)
    .where(
        Variant.id == bindparam("variant_id"),
        Variant.active.is_(True),
        Variant.stock >= bindparam("quantity"),
        exists().where(Product.id == Variant.product_id, Product.active.is_(True)),
    )
    .values(stock=Variant.stock - bindparam("quantity"))
    .returning(Variant.product_id)
    .execution_options(synchronize_session=False)
)
_TAKE_PRODUCT = (
    update(Product)
    # The guard only matters when a variant before it was short (sent together, the caller
    # rolls back): no CHECK violation for a product whose stock was never taken.
    .where(Product.id == bindparam("product_id"), Product.stock >= bindparam("quantity"))
    .values(stock=Product.stock - bindparam("quantity"))
    .execution_options(synchronize_session=False)
)


def take(variant_id: int, quantity: int) -> bool:
    """Take `quantity` units of an active variant of an active product; False (and nothing
    changed) when there are not that many."""
    params = {"variant_id": variant_id, "quantity": quantity}
    product_id = db.session.execute(_TAKE_VARIANT, params).scalar()
    if product_id is None:
        return False
    db.session.execute(_TAKE_PRODUCT, {"product_id": product_id, "quantity": quantity})
    return True


class Taking:
    """Taking units of several variants at once, for a caller that sends these statements
    together with its own (web/pipeline.py) and rolls back when any is short: every
    variant's conditional UPDATE (ascending id), then each product's (ascending id), so a
    purchase never holds a product while it waits for a variant. `lines`: variant id ->
    (its product's id, quantity)."""

    def __init__(self, lines: Mapping[int, tuple[int, int]]):
        self.variant_ids = sorted(lines)
        products: dict[int, int] = {}
        for product_id, quantity in lines.values():
            products[product_id] = products.get(product_id, 0) + quantity
        self.steps = [
            (_TAKE_VARIANT, {"variant_id": variant_id, "quantity": lines[variant_id][1]})
            for variant_id in self.variant_ids
        ] + [
            (_TAKE_PRODUCT, {"product_id": product_id, "quantity": products[product_id]})
            for product_id in sorted(products)
        ]
        self._product_of = {variant_id: lines[variant_id][0] for variant_id in lines}
        self._products = sorted(products)

    def short(self, done) -> int | None:
        """Given what self.steps gave (in order): the first variant short of stock, else None.
        A variant whose product wrote no row counts as short (never while Product.stock is the
        sum of its variants': a product's UPDATE only refuses to go below zero)."""
        variants, products = done[: len(self.variant_ids)], done[len(self.variant_ids) :]
        for variant_id, taken in zip(self.variant_ids, variants):
            if not taken.rows:
                return variant_id
        missed = {p for p, taken in zip(self._products, products) if taken.rowcount != 1}
        return next((v for v in self.variant_ids if self._product_of[v] in missed), None)


def give_back(variant_id: int, quantity: int) -> None:
    """Put units back (a cancelled order, a returned parcel)."""
    db.session.execute(
        update(Variant)
        .where(Variant.id == variant_id)
        .values(stock=Variant.stock + quantity)
        .execution_options(synchronize_session=False)
    )
    _move_product(variant_id, quantity)


def set_stock(variant_id: int, new: int, seen: int | None = None) -> bool:
    """An editor's new stock figure, written only if the stock is still `seen` (None: what it
    is now, read here), never over a sale made meanwhile. False when it changed."""
    if seen is None:
        seen = db.session.scalar(select(Variant.stock).where(Variant.id == variant_id))
    written = db.session.execute(
        update(Variant)
        .where(Variant.id == variant_id, Variant.stock == seen)
        .values(stock=new)
        .execution_options(synchronize_session=False)
    ).rowcount
    if written != 1:
        return False
    _move_product(variant_id, new - seen)
    return True


def _move_product(variant_id: int, delta: int) -> None:
    if delta:
        db.session.execute(
            update(Product)
            .where(Product.id == _product_of(variant_id))
            .values(stock=Product.stock + delta)
            .execution_options(synchronize_session=False)
        )
