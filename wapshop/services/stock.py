"""Stock: held per variant; Product.stock is the sum of its variants' stock.

Every stock change goes through here and is two conditional UPDATEs in the caller's
transaction, variant first, then its product (always in that order, so two transactions never
wait on each other's rows the other way round). A product without options has one variant
with no values (`sole_variant`)."""

from collections.abc import Iterable

from sqlalchemy import exists, select, update

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
                .with_for_update()
            )
        )
    )
    db.session.execute(
        select(Product.id).where(Product.id.in_(product_ids)).order_by(Product.id).with_for_update()
    ).all()
    return product_ids


def _product_of(variant_id: int):
    return select(Variant.product_id).where(Variant.id == variant_id).scalar_subquery()


def take(variant_id: int, quantity: int) -> bool:
    """Take `quantity` units of an active variant of an active product; False (and nothing
    changed) when there are not that many."""
    taken = db.session.execute(
        update(Variant)
        .where(
            Variant.id == variant_id,
            Variant.active.is_(True),
            Variant.stock >= quantity,
            exists().where(Product.id == Variant.product_id, Product.active.is_(True)),
        )
        .values(stock=Variant.stock - quantity)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        return False
    _move_product(variant_id, -quantity)
    return True


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
