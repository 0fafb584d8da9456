"""Stock changes of several variants take their row locks in one order — the variants
(ascending id), then their products, then deals — so a cancel and a checkout of the same
goods never wait on each other the other way round (a deadlock on PostgreSQL)."""

import re
from contextlib import contextmanager

from sqlalchemy import event, select

from test_cart import add, checkout, store  # noqa: F401 (a fixture)
from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.models import Order
from wapshop.services import orders as order_service


@contextmanager
def statements():
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def touches(statement: str, table: str) -> bool:
    return re.search(rf"\b(FROM|UPDATE|JOIN) {table}\b", statement) is not None


def assert_lock_order(seen: list[str]) -> None:
    """The first statement on variants is the one SELECT of them all (the lock), before any
    product or deal is touched; products come before deals."""
    first = {
        table: next(i for i, s in enumerate(seen) if touches(s, table))
        for table in ("variants", "products", "deals")
        if any(touches(s, table) for s in seen)
    }
    assert seen[first["variants"]].startswith("SELECT variants.product_id"), seen
    assert first["variants"] < first["products"] < first.get("deals", len(seen)), seen


def test_cancelling_a_cart_order_locks_its_variants_before_products_and_deals(app, client, store):  # noqa: F811
    for variant, q in ((store["39"], 1), (store["38"], 2), (store["socks"], 2)):
        assert add(client, variant, q).status_code == 303
    _page, form = checkout(client)
    assert client.post("/cart/checkout?ver=basic", data=form).status_code == 303
    with app.app_context():
        order = db.session.scalar(select(Order))
        with statements() as seen:
            order_service.cancel(order, "guest", now=utcnow())
        db.session.commit()
    after_status = [s for s in seen if not touches(s, "orders")]
    assert_lock_order(after_status)
    variant_updates = [s for s in seen if s.startswith("UPDATE variants")]
    assert len(variant_updates) == 3  # every line's stock went back


def test_a_cart_checkout_takes_its_variants_before_products_and_deals(app, client, store):  # noqa: F811
    for variant, q in ((store["socks"], 1), (store["39"], 1), (store["38"], 1)):
        assert add(client, variant, q).status_code == 303
    _page, form = checkout(client)
    with app.app_context(), statements() as seen:
        assert client.post("/cart/checkout?ver=basic", data=form).status_code == 303
    # Quoting reads products and deals first and the orders are written; then the stock and
    # the deal units are taken by conditional UPDATEs (their row locks): every variant, then
    # the products, then the deals. No row is locked before (SELECT ... FOR UPDATE).
    taken = [s.split()[1] for s in seen if s.startswith("UPDATE") and "sessions" not in s]
    assert taken == ["variants"] * 3 + ["products"] * 2 + ["deals"], taken
    assert not [s for s in seen if " FOR UPDATE" in s or " FOR NO KEY UPDATE" in s], seen
