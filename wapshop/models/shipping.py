"""Shipping fee rules: per carrier and region, first weight + each extra step, free above an
amount, and a COD fee when the shop charges one (services/shipping_fees.py applies them)."""

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from wapshop.extensions import db


class ShippingRule(db.Model):
    """The most specific active rule wins: a carrier's over any carrier's (carrier NULL), a
    district's over its city's over its province's over the whole country's (region NULL)."""

    __tablename__ = "shipping_rules"
    __table_args__ = (
        CheckConstraint(
            "first_weight_g > 0 AND extra_weight_g > 0 AND first_fee_fen >= 0"
            " AND extra_fee_fen >= 0 AND cod_fee_fen >= 0"
            " AND (free_above_fen IS NULL OR free_above_fen > 0)",
            name="amounts",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    carrier: Mapped[str | None] = mapped_column(String(20))  # None: any carrier
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    first_weight_g: Mapped[int] = mapped_column(default=1000)
    first_fee_fen: Mapped[int]
    extra_weight_g: Mapped[int] = mapped_column(default=1000)
    extra_fee_fen: Mapped[int] = mapped_column(default=0)
    free_above_fen: Mapped[int | None]  # goods at or above this ship free
    cod_fee_fen: Mapped[int] = mapped_column(default=0)  # added when paying cash on delivery
    active: Mapped[bool] = mapped_column(default=True)
