"""Reference data every shop needs, demo or not: mainland China's regions (data/regions.tsv)
and which carriers collect cash on delivery where. `flask setup` loads it; the loader adds and
flushes, the caller commits."""

import csv
from pathlib import Path

from sqlalchemy import select

from wapshop.extensions import db
from wapshop.models import CodCoverage, Region

REGIONS_TSV = Path(__file__).resolve().parent.parent / "data" / "regions.tsv"

# --- Cash on delivery: carrier, priority (lower preferred), regions covered with all below.
# 西藏 has no carrier at all; 青海 and 新疆 only in a few cities, so the rest of them (玉树,
# 果洛, 喀什, 和田...) show "货到付款 not available here".
EMS_PARTIAL_PROVINCES = ("540000", "630000", "650000")
EMS_CITIES = ("630100", "630200", "650100", "650200", "652300")
COD_CARRIERS = (
    (
        "顺丰",
        1,
        (
            "110100", "120100", "310100", "500100", "440100", "440300", "440600", "441900",
            "330100", "330200", "320100", "320500", "350200", "370200", "420100", "430100",
            "510100", "610100", "530102", "530111", "650102", "650103",
        ),
    ),
    (
        "宅急送",
        2,
        (
            "110000", "120000", "130000", "140000", "310000", "320000", "330000", "340000",
            "350000", "360000", "370000", "410000", "420000", "430000", "440000",
        ),
    ),
)  # fmt: skip


def load_regions() -> None:
    """Load data/regions.tsv into an empty regions table and seed COD coverage if it has none."""
    if db.session.scalar(select(Region.code).limit(1)) is None:
        with REGIONS_TSV.open(encoding="utf-8", newline="") as tsv:
            rows = [
                {
                    "code": row["code"],
                    "parent_code": row["parent_code"] or None,
                    "name": row["name"],
                    "level": int(row["level"]),
                }
                for row in csv.DictReader(tsv, delimiter="\t")
            ]
        # Sorted by code, so every parent is inserted before its children.
        db.session.execute(Region.__table__.insert(), sorted(rows, key=lambda r: r["code"]))
    if db.session.scalar(select(CodCoverage.region_code).limit(1)) is None:
        db.session.execute(CodCoverage.__table__.insert(), _coverage_rows())
    db.session.flush()


def _coverage_rows() -> list[dict]:
    provinces = db.session.scalars(select(Region.code).where(Region.level == 1)).all()
    ems = [code for code in provinces if code not in EMS_PARTIAL_PROVINCES] + list(EMS_CITIES)
    carriers = (*COD_CARRIERS, ("EMS", 9, ems))
    return [
        {"region_code": code, "carrier": carrier, "priority": priority}
        for carrier, priority, codes in carriers
        for code in codes
    ]
