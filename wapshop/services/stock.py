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
    .where(Product.id == bindparam("product_id"))
    .values(stock=Product.stock - bindparam("quantity"))
    .execution_options(synchronize_session=False)
)


def take(variant_id: int, quantity: int) -> bool:
    """Take `quantity` units of an active variant of an active product; False (and nothing
    changed) when there are not that many."""
    return take_all({variant_id: quantity}) is None


def take_all(quantities: Mapping[int, int]) -> int | None:
    """Take units of several variants (id -> quantity) at once: every variant's conditional
    UPDATE (ascending id), then each product's (ascending id), so a purchase never holds a
    product while it waits for a variant. Returns None when all were taken, else the id of the
    first variant short of stock; the caller then rolls back (some may have been taken)."""
    products: dict[int, int] = {}
    for variant_id in sorted(quantities):
        quantity = quantities[variant_id]
        product_id = db.session.execute(
            _TAKE_VARIANT, {"variant_id": variant_id, "quantity": quantity}
        ).scalar()
        if product_id is None:
            return variant_id
        products[product_id] = products.get(product_id, 0) + quantity
    for product_id in sorted(products):
        db.session.execute(
            _TAKE_PRODUCT, {"product_id": product_id, "quantity": products[product_id]}
        )
    return None


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
