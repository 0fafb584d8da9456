"""上页/下页: a page of a select, with what the pager needs."""

from dataclasses import dataclass
from math import ceil

from sqlalchemy import func, select

from wapshop.extensions import db

MAX_PAGE = 10_000


@dataclass(frozen=True)
class Page:
    items: list
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


class PageOutOfRange(LookupError):
    pass


def paginate(stmt, number: int, per_page: int, max_total: int | None = None) -> Page:
    """Rows of page `number` (1-based). Raises PageOutOfRange past the last page.

    With max_total, counting stops there (a search for 手机 need not count 30,000 hits to
    show 上页/下页), and pages beyond it are not offered."""
    counted = stmt.order_by(None)
    if max_total is not None:
        counted = counted.limit(max_total)
    total = db.session.scalar(select(func.count()).select_from(counted.subquery()))
    if number > max(1, ceil(total / per_page)):
        raise PageOutOfRange(number)
    items = db.session.scalars(stmt.limit(per_page).offset((number - 1) * per_page)).all()
    return Page(items=list(items), number=number, per_page=per_page, total=total)
