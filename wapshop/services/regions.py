"""The bundled region table: pick lists and cash-on-delivery coverage."""

from dataclasses import dataclass

from sqlalchemy import select

from wapshop.extensions import db
from wapshop.models import CodCoverage, Region
from wapshop.parsing import parse_int
from wapshop.services.reference_cache import remembered

DISTRICT = 3


@dataclass(frozen=True)
class Place:
    """A region as plain values: what get() returns (the same fields as the Region row)."""

    code: str
    parent_code: str | None
    name: str
    level: int


def get(code: str | None) -> Place | None:
    """The region, kept per worker (services/reference_cache.py): the bundled table changes
    only with `flask setup`, and a district's ancestors are asked for again and again by
    pricing, payment and the order. A code with no region is read again each time."""
    if not code or len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    return remembered(("region", code), lambda: _place(code), keep_none=False)


def _place(code: str) -> Place | None:
    row = db.session.get(Region, code)
    return Place(row.code, row.parent_code, row.name, row.level) if row is not None else None


def children(code: str | None) -> list[Region]:
    """Provinces for None, else the region's direct children, by code."""
    stmt = select(Region).where(
        Region.parent_code.is_(None) if code is None else Region.parent_code == code
    )
    return list(db.session.scalars(stmt.order_by(Region.code)))


def nth_child(code: str | None, position: str | None) -> Region | None:
    """The position-th (1-based) child of a region, in children() order: what a WML pick
    list's index names. None when out of range or not a number."""
    choices = children(code)
    try:
        return choices[parse_int(position, 1, len(choices)) - 1]
    except ValueError:
        return None


def path(region: Region) -> list[Region]:
    """[province, city, district] down to `region`."""
    chain = [region]
    while chain[0].parent_code:
        chain.insert(0, get(chain[0].parent_code))
    return chain


def path_codes(region: Region) -> tuple[str, ...]:
    """The codes of path(region), kept per worker (services/reference_cache.py)."""
    return remembered(("region_path", region.code), lambda: tuple(r.code for r in path(region)))


def full_name(region: Region) -> str:
    """The region's name from the province down, kept per worker."""
    return remembered(("region_name", region.code), lambda: _full_name(region))


def _full_name(region: Region) -> str:
    names = [r.name for r in path(region)]
    # Municipalities repeat themselves (北京市 › 北京市 › 朝阳区): say it once.
    return "".join(n for i, n in enumerate(names) if i == 0 or n != names[i - 1])


def cod_carrier(region: Region) -> str | None:
    """The preferred carrier collecting cash in this region or any region above it, kept
    per worker."""
    return remembered(("cod_carrier", region.code), lambda: _cod_carrier(path_codes(region)))


def _cod_carrier(codes: tuple[str, ...]) -> str | None:
    return db.session.scalar(
        select(CodCoverage.carrier)
        .where(CodCoverage.region_code.in_(codes))
        .order_by(CodCoverage.priority, CodCoverage.carrier)
        .limit(1)
    )
