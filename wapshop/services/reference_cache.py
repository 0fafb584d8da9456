"""Rows every order reads and staff rarely change (cash-on-delivery coverage, shipping rules,
categories, member tiers, 满减 promotions, region names), kept per worker as plain values
under the page cache's generation (web/cache.py), so a placed order does not read them again.

The generation is the figure every machine compares with: a staff change to any of these
tables adds one to it in the change's own transaction (the catalogue's tables through the
page cache's hooks; tiers and promotions by their services), and a request that starts after
that COMMIT reads the new figure (with its session row, or on its own) and drops every value
kept under an older one: the very next order prices with the change. A value loaded under a
figure that is no longer the cache's is not kept. Values are never ORM objects (those belong
to one session): callers keep tuples and frozen dataclasses.

The figure is read once per transaction (a request's first use takes the one its session row
brought, else it is read in the transaction), forgotten at COMMIT or ROLLBACK: code that changes a rule and then prices in the
same app context (a script, a test) reads it again. A transaction that changed any of these
rows (changed() below, a catalogue write the page cache noticed, or one not yet flushed)
reads them from the database until it ends: its own change is not committed, so no figure says it yet."""

import threading
from itertools import chain

from flask import current_app, g, has_app_context, has_request_context, session
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from wapshop.extensions import db
from wapshop.models import CacheGeneration
from wapshop.web.cache import CATALOG_TABLES, CHANGED, bump_generation
from wapshop.web.reads import GENERATION

EXTENSION = "reference_cache"
GENERATION_KEY = "reference_generation"
CHANGED_HERE = "reference_changed"
TRANSACTION_MEMO = "transaction_memo"
# What is kept here comes from these tables (the catalogue's move the figure by themselves).
KEPT_FROM = CATALOG_TABLES | {"cod_coverage", "regions", "member_tiers", "promotions"}
# In the transaction's own connection (not web/reads.py's per-thread one: a thread holding a
# pooled connection must not wait for a second).
GENERATION_NOW = select(CacheGeneration.value).where(CacheGeneration.name == GENERATION)
# Keys are regions (3,224 bundled, up to four values each, and a shipping rule per carrier),
# categories and two lists: the bound holds them all; past it the oldest value goes first.
MAX_VALUES = 20_000


class ReferenceCache:
    """Values by key, all dropped when the generation moves; at most `max_values`, the
    oldest dropped first. Thread-safe."""

    def __init__(self, max_values: int = MAX_VALUES):
        self.max_values = max_values
        self.generation: int | None = None
        self._values: dict = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key, generation: int, load, keep_none: bool = True):
        with self._lock:
            if generation != self.generation:
                self._values.clear()
                self.generation = generation
            if key in self._values:
                return self._values[key]
        value = load()
        with self._lock:
            if generation == self.generation and (keep_none or value is not None):
                self._values[key] = value
                if len(self._values) > self.max_values:
                    del self._values[next(iter(self._values))]
        return value


def remembered(key: tuple, load, keep_none: bool = True):
    """`load()`'s value (plain, never an ORM object), kept while the generation stays (None
    too, unless keep_none is False: a key anyone can make up, e.g. a region code)."""
    if not has_app_context():
        return load()
    if _changed_here(db.session):
        return load()
    cache = current_app.extensions.get(EXTENSION)
    if cache is None:
        cache = current_app.extensions.setdefault(EXTENSION, ReferenceCache())
    return cache.get(key, generation(), load, keep_none)


def generation() -> int:
    """The page cache's figure for this transaction."""
    info = db.session.info
    found = info.get(GENERATION_KEY)
    if found is None:
        brought = getattr(session, "generation", None) if has_request_context() else None
        if brought is not None and not g.get(GENERATION_KEY):
            g.setdefault(GENERATION_KEY, True)  # the session row's figure: the first time only
            found = brought
        else:
            found = db.session.scalar(GENERATION_NOW) or 0
        info[GENERATION_KEY] = found
    return found


def memo(kind: str) -> dict | None:
    """A dict for `kind` kept in this transaction only (dropped at COMMIT or ROLLBACK), or
    None when the transaction changed kept rows (read the database)."""
    sess = db.session
    if _changed_here(sess):
        return None
    return sess.info.setdefault(TRANSACTION_MEMO, {}).setdefault(kind, {})


def _changed_here(sess) -> bool:
    """This transaction changed (or holds unflushed changes to) rows kept here."""
    if sess.info.get(CHANGED_HERE) or sess.info.get(CHANGED):
        return True
    pending = chain(sess.new, sess.dirty, sess.deleted)
    return any(getattr(row, "__tablename__", None) in KEPT_FROM for row in pending)


def changed(sess) -> None:
    """A staff change to rows kept here, in `sess`'s transaction: every worker drops what it
    kept once this commits; this transaction reads them from the database until it ends."""
    bump_generation(sess)
    sess.info[CHANGED_HERE] = True


def _forget(sess, *_args) -> None:
    sess.info.pop(GENERATION_KEY, None)
    sess.info.pop(CHANGED_HERE, None)
    sess.info.pop(TRANSACTION_MEMO, None)


if not event.contains(Session, "after_commit", _forget):
    event.listen(Session, "after_commit", _forget)
    event.listen(Session, "after_soft_rollback", _forget)
