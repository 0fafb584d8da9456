"""Regions (province → city → district) and which carriers collect cash where."""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from wapshop.extensions import db


class Region(db.Model):
    """GB/T 2260 style six-digit codes: 44 0000 province, 44 03 00 city, 44 03 05 district."""

    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    level: Mapped[int]  # 1 province, 2 city, 3 district


class CodCoverage(db.Model):
    """A carrier that collects cash on delivery in a region and everything below it."""

    __tablename__ = "cod_coverage"
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)
    carrier: Mapped[str] = mapped_column(String(20), primary_key=True)
    # Lower is preferred; EMS is the fallback carrier with the highest number.
    priority: Mapped[int] = mapped_column(default=10)
