"""The catalogue: sellers, two-level categories, products, collections and daily deals."""

import json
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wapshop.extensions import db
from wapshop.models.base import utcnow
from wapshop.renditions import ALL_RENDITIONS, targets


class Seller(db.Model):
    """Ships orders; never shown to buyers."""

    __tablename__ = "sellers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # Big sellers confirm their own orders by phone; small sellers' orders are the shop's.
    confirms_own_orders: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Category(db.Model):
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(default=0)

    parent: Mapped["Category | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Category"]] = relationship(
        back_populates="parent", order_by="Category.position"
    )


collection_products = Table(
    "collection_products",
    db.metadata,
    Column("collection_id", ForeignKey("collections.id"), primary_key=True),
    Column("product_id", ForeignKey("products.id"), primary_key=True, index=True),
    Column("position", db.Integer, nullable=False, default=0),
)


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock"),
        CheckConstraint("shop_price_fen > 0", name="price"),
        Index("ix_products_category_active", "category_id", "active", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    subtitle: Mapped[str] = mapped_column(String(200), default="")
    shop_price_fen: Mapped[int]
    market_price_fen: Mapped[int]
    stock: Mapped[int] = mapped_column(default=0)
    # JSON list of [name, value] pairs, in display order.
    specs_json: Mapped[str] = mapped_column(Text, default="[]")
    # JSON list of [option name, [values...]] in display order, e.g. [["尺码", ["38", "39"]]];
    # empty for a product sold in one form. Each combination is a Variant.
    options_json: Mapped[str] = mapped_column(Text, default="[]")
    # For shipping fees (first weight + extra); 全国包邮 goods ship free everywhere.
    weight_g: Mapped[int] = mapped_column(default=500)
    free_shipping: Mapped[bool] = mapped_column(default=False)
    # Fingerprinted name of the image set in media_files, products/…-s.jpg and …-m.jpg; images.py.
    image: Mapped[str | None] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    category: Mapped[Category] = relationship()
    seller: Mapped[Seller] = relationship()
    variants: Mapped[list["Variant"]] = relationship(
        back_populates="product", order_by="Variant.position, Variant.id"
    )

    @property
    def specs(self) -> list[tuple[str, str]]:
        return [tuple(pair) for pair in json.loads(self.specs_json)]

    @property
    def options(self) -> list[tuple[str, list[str]]]:
        return [(name, list(values)) for name, values in json.loads(self.options_json)]


class Variant(db.Model):
    """One buyable form of a product: a combination of its options' values (尺码 38, 颜色 黑)
    with its own stock, optional price and code. A product without options has exactly one
    variant with no values. Product.stock is the sum of its variants' stock, changed together
    with it in one transaction (services/stock.py), so listings need not add up variants."""

    __tablename__ = "variants"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock"),
        CheckConstraint("price_fen IS NULL OR price_fen > 0", name="price"),
        UniqueConstraint("product_id", "values_json", name="uq_variants_product_values"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    # JSON list of values, one per product option, in the product's option order.
    values_json: Mapped[str] = mapped_column(String(200), default="[]")
    # What buyers, pick lists and SMS read: "黑色 / 38"; "" for a product without options.
    label: Mapped[str] = mapped_column(String(80), default="")
    code: Mapped[str | None] = mapped_column(String(40), unique=True)  # 货号 / SKU code
    price_fen: Mapped[int | None]  # None: the product's shop price
    stock: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    product: Mapped[Product] = relationship(back_populates="variants")

    @property
    def values(self) -> list[str]:
        return list(json.loads(self.values_json))


class Collection(db.Model):
    """A themed 专场 (手机专场, 开学必备...), shown to the renditions it targets."""

    __tablename__ = "collections"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    blurb: Mapped[str] = mapped_column(String(200), default="")
    renditions: Mapped[str] = mapped_column(String(40), default=ALL_RENDITIONS)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    products: Mapped[list[Product]] = relationship(
        secondary=collection_products, order_by=collection_products.c.position
    )

    def shown_to(self, rendition: str) -> bool:
        return targets(self.renditions, rendition)


# The variants a deal covers; none listed means every variant of the deal's product.
deal_variants = Table(
    "deal_variants",
    db.metadata,
    Column("deal_id", ForeignKey("deals.id"), primary_key=True),
    Column("variant_id", ForeignKey("variants.id"), primary_key=True, index=True),
)


class Deal(db.Model):
    """今日特价: a product at a deal price, for a window, in a limited quantity."""

    __tablename__ = "deals"
    __table_args__ = (
        CheckConstraint("sold >= 0 AND sold <= quantity", name="sold"),
        CheckConstraint("deal_price_fen > 0", name="price"),
        CheckConstraint("per_buyer_limit >= 1", name="limit"),
        CheckConstraint("ends_at > starts_at", name="window"),
        Index("ix_deals_window", "starts_at", "ends_at"),
        # Running deals: ends_at > now bounds the scan to recent deals, not all history.
        Index("ix_deals_ends_at", "ends_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    deal_price_fen: Mapped[int]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    quantity: Mapped[int]
    sold: Mapped[int] = mapped_column(default=0)
    per_buyer_limit: Mapped[int] = mapped_column(default=2)
    renditions: Mapped[str] = mapped_column(String(40), default=ALL_RENDITIONS)
    position: Mapped[int] = mapped_column(default=0)
    stopped: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship()
    # Empty: the deal covers all of the product's variants.
    variants: Mapped[list[Variant]] = relationship(secondary=deal_variants)

    @property
    def remaining(self) -> int:
        return self.quantity - self.sold

    def running_at(self, when: datetime) -> bool:
        return not self.stopped and self.starts_at <= when < self.ends_at

    def shown_to(self, rendition: str) -> bool:
        return targets(self.renditions, rendition)


class SearchTerm(db.Model):
    """Inverted index of product titles: CJK characters and bigrams, Latin words and prefixes.

    The same table and the same equality lookups serve SQLite and PostgreSQL, so a search
    never scans the products table (see services/search.py)."""

    __tablename__ = "search_terms"
    term: Mapped[str] = mapped_column(String(16), primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True
    )
