"""Product title search that works for Chinese on SQLite and PostgreSQL alike.

Titles are indexed into search_terms as CJK unigrams and bigrams plus Latin/digit words and
their prefixes. A query becomes a handful of terms; a product matches when it has all of them.
Every lookup is an equality on the indexed `term` column, so cost follows the number of
matches, not the size of the catalogue (no LIKE '%…%' scan)."""

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, delete, select
from sqlalchemy.orm import aliased

from wapshop.extensions import db
from wapshop.models import Product, SearchTerm

MAX_QUERY_CHARS = 60
MAX_QUERY_TERMS = 8
MAX_PREFIX = 12
_RUNS = re.compile(r"([\u3400-\u9fff\uf900-\ufaff]+)|([0-9a-z]+)")


def _runs(text: str):
    text = unicodedata.normalize("NFKC", text).lower()
    for cjk, word in _RUNS.findall(text):
        yield cjk, word


def index_terms(title: str) -> set[str]:
    """Every term a title is findable by."""
    terms: set[str] = set()
    for cjk, word in _runs(title):
        if cjk:
            terms.update(cjk)
            terms.update(cjk[i : i + 2] for i in range(len(cjk) - 1))
        else:
            terms.update(word[:n] for n in range(1, min(len(word), MAX_PREFIX) + 1))
    return terms


def query_terms(query: str) -> list[str]:
    """The terms a query needs, at most MAX_QUERY_TERMS of them, in order of appearance."""
    terms: list[str] = []
    for cjk, word in _runs(query[:MAX_QUERY_CHARS]):
        if cjk:
            parts = [cjk] if len(cjk) == 1 else [cjk[i : i + 2] for i in range(len(cjk) - 1)]
        else:
            parts = [word[:MAX_PREFIX]]
        terms.extend(p for p in parts if p not in terms)
    return terms[:MAX_QUERY_TERMS]


def reindex(products: list[Product]) -> None:
    """Replace the index rows of these products (flushes; the caller commits)."""
    ids = [p.id for p in products]
    db.session.execute(delete(SearchTerm).where(SearchTerm.product_id.in_(ids)))
    rows = [{"term": t, "product_id": p.id} for p in products for t in index_terms(p.title)]
    if rows:
        db.session.execute(SearchTerm.__table__.insert(), rows)


def matching_products(query: str):
    """A select of active products whose titles hold every term of the query, newest first.

    One join of search_terms per term, ordered by the first term's (term, product_id) key:
    the database walks that index backwards and stops after a page, instead of collecting
    and sorting every match. Returns None when the query has nothing searchable."""
    found = keyed_matches(query)
    if found is None:
        return None
    return found.stmt.order_by(found.key.desc())


@dataclass(frozen=True)
class Matches:
    """The unordered select of matching_products and the key it is ordered by descending
    (the first term's product_id, which the index holds), for keyset paging; `same`: the
    columns joined equal to it (the product's id, the other terms' product_id), which a page
    bounds alike so that every index read starts at the page's edge."""

    stmt: Select
    key: ColumnElement
    same: tuple[ColumnElement, ...]


def keyed_matches(query: str) -> Matches | None:
    """The matches of a query for keyset paging, or None when it has nothing searchable."""
    terms = query_terms(query)
    if not terms:
        return None
    hits = [aliased(SearchTerm) for _term in terms]
    stmt = select(Product).join(hits[0], hits[0].product_id == Product.id)
    for hit in hits[1:]:
        stmt = stmt.join(hit, hit.product_id == Product.id)
    stmt = stmt.where(
        *(hit.term == term for hit, term in zip(hits, terms)), Product.active.is_(True)
    )
    return Matches(stmt, hits[0].product_id, (Product.id, *(h.product_id for h in hits[1:])))
