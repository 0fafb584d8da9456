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
    # None on a page read without a count (keyed_page with max_rows: a search): the pager
    # shows the page number alone, and `more` says whether a next page exists.
    total: int | None
    # Keyset paging (keyed_page): the keys of the first and last item shown, which the pager's
    # 上页/下页 links carry (?before= / ?after=), so the next page is found through the index.
    first_key: int | None = None
    last_key: int | None = None
    more: bool = False

    @property
    def pages(self) -> int | None:
        if self.total is None:
            return None
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        if self.total is None:
            return self.more
        return self.number < self.pages


class PageOutOfRange(LookupError):
    pass


def paginate(stmt, number: int, per_page: int) -> Page:
    """Rows of page `number` (1-based), counted. Raises PageOutOfRange past the last page."""
    total = count_rows(stmt)
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
    stmt,
    key,
    at: Position | int,
    per_page: int,
    max_rows: int | None = None,
    keys=None,
    same=(),
    count=None,
) -> Page:
    """A page of `stmt` in descending order of `key` (a unique integer column), reached by
    keyset: ?after=K (the page after the one ending at K) reads `key < K` through the index and
    stops after a page, ?before=K (the page before the one starting at K) reads `key > K` in
    ascending order; neither reads the rows skipped, so the cost does not grow with the page
    number. A bare ?page=N (a typed or bookmarked URL) is read from whichever end is nearer:
    the last page costs as little as the first. `keys(item)` gives an item's key (default: its
    id). `same`: columns the statement joins equal to `key`, bounded alike (PostgreSQL carries
    an equality across a join, not `<`: unbounded, a merge join walks the other table's index
    from its end). Raises PageOutOfRange past the last page, like paginate.

    With max_rows (a search), nothing is counted, so the page costs the same however many rows
    match: one row more than a page is read to know whether there is a next one, no page starts
    at or past max_rows, and the Page's total is None. `count(stmt)` counts the rows
    (default: a COUNT each time; a caller may keep the figure)."""
    if isinstance(at, int):
        at = Position(at)
    total = None if max_rows is not None else (count or count_rows)(stmt)
    last_number = max(1, ceil((max_rows if total is None else total) / per_page))
    if at.number > last_number:
        raise PageOutOfRange(at.number)
    base = stmt.order_by(None)
    bounded = (key, *same)
    extra = 1 if total is None else 0  # the row that tells whether a next page exists
    if at.after is not None:
        after = base.where(*(column < at.after for column in bounded))
        rows = _rows(after.order_by(key.desc()).limit(per_page + extra))
        more = len(rows) > per_page
    elif at.before is not None:
        before = base.where(*(column > at.before for column in bounded))
        rows = _rows(before.order_by(key.asc()).limit(per_page))[::-1]
        more = bool(rows)  # the page it was reached from, after these
    else:
        offset = (at.number - 1) * per_page
        size = max(0, min(per_page, total - offset)) if total is not None else per_page
        from_end = total - offset - size if total is not None else offset
        if from_end < offset:  # counted, and nearer the end: read from there
            ascending = base.order_by(key.asc()).offset(from_end).limit(size)
            rows = _rows(ascending)[::-1]
        else:
            rows = _rows(base.order_by(key.desc()).offset(offset).limit(per_page + extra))
        more = len(rows) > per_page
    items = rows[:per_page]
    if total is None and not items and at.number > 1:
        raise PageOutOfRange(at.number)  # uncounted: an empty page past the first is past the end
    keys = keys or (lambda item: item.id)
    return Page(
        items=items,
        number=at.number,
        per_page=per_page,
        total=total,
        first_key=keys(items[0]) if items else None,
        last_key=keys(items[-1]) if items else None,
        more=more and at.number < last_number,
    )


def count_rows(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def _rows(stmt) -> list:
    return list(db.session.scalars(stmt).all())
