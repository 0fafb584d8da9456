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
    # Keyset paging (keyed_page): the keys of the first and last item shown, which the pager's
    # 上页/下页 links carry (?before= / ?after=), so the next page is found through the index.
    first_key: int | None = None
    last_key: int | None = None

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


@dataclass(frozen=True)
class Position:
    """Where a keyset page starts: ?page= and at most one of ?after= / ?before=."""

    number: int = 1
    after: int | None = None
    before: int | None = None


def keyed_page(
    stmt, key, at: Position | int, per_page: int, max_total: int | None = None, keys=None
) -> Page:
    """A page of `stmt` in descending order of `key` (a unique integer column), reached by
    keyset: ?after=K (the page after the one ending at K) reads `key < K` through the index and
    stops after a page, ?before=K (the page before the one starting at K) reads `key > K` in
    ascending order; neither reads the rows skipped, so the cost does not grow with the page
    number. A bare ?page=N (a typed or bookmarked URL) is read from whichever end is nearer:
    the last page costs as little as the first. `keys(item)` gives an item's key (default: its
    id). Raises PageOutOfRange past the last page, like paginate."""
    if isinstance(at, int):
        at = Position(at)
    counted = stmt.order_by(None)
    if max_total is not None:
        counted = counted.limit(max_total)
    total = db.session.scalar(select(func.count()).select_from(counted.subquery()))
    pages = max(1, ceil(total / per_page))
    if at.number > pages:
        raise PageOutOfRange(at.number)
    base = stmt.order_by(None)
    if at.after is not None:
        items = _rows(base.where(key < at.after).order_by(key.desc()).limit(per_page))
    elif at.before is not None:
        items = _rows(base.where(key > at.before).order_by(key.asc()).limit(per_page))[::-1]
    else:
        offset = (at.number - 1) * per_page
        size = max(0, min(per_page, total - offset))
        from_end = total - offset - size
        if max_total is None and from_end < offset:
            ascending = base.order_by(key.asc()).offset(from_end).limit(size)
            items = _rows(ascending)[::-1]
        else:
            items = _rows(base.order_by(key.desc()).offset(offset).limit(per_page))
    keys = keys or (lambda item: item.id)
    return Page(
        items=items,
        number=at.number,
        per_page=per_page,
        total=total,
        first_key=keys(items[0]) if items else None,
        last_key=keys(items[-1]) if items else None,
    )


def _rows(stmt) -> list:
    return list(db.session.scalars(stmt).all())
