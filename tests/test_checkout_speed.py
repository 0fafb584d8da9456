"""Placing an order costs few statements and holds the rows every buyer shares for as short as
it can: reads first, a refusal the reads show writes nothing, the orders are written before
the stock and deal rows are taken, a region is read once per request, an order number drawn
twice is drawn again (issue 18)."""

import json
import re
import threading
from contextlib import contextmanager
from itertools import chain

import pytest
from sqlalchemy import event, func, select, text

from factories import make_product, make_regions
from support.buyers import confirm_form
from support.history import make_order
from test_checkout_views import confirm_q, counts, shop  # noqa: F401 (a fixture)
from test_stock_locks import statements
from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.models import Deal, Order, OutboxMessage, Product, WebSession
from wapshop.services import stock
from wapshop.services.checkout import placing
from wapshop.web import pipeline

WRITES = ("INSERT", "UPDATE", "DELETE")
SHARED = ("variants", "products", "deals")
ORDER_TABLES = ("orders", "order_items", "order_events", "outbox_messages")


def written(statement: str) -> str | None:
    """The table an INSERT/UPDATE/DELETE writes, else None."""
    found = re.match(r"(?:INSERT INTO|UPDATE|DELETE FROM) (\w+)", statement)
    return found.group(1) if found else None


@contextmanager
def listening(name: str, listener):
    """`listener` on the engine's `name` event for the block (in an app context)."""
    event.listen(db.engine, name, listener)
    try:
        yield
    finally:
        event.remove(db.engine, name, listener)


def locks(statement: str) -> bool:
    return statement.startswith("SELECT") and " FOR " in statement and "UPDATE" in statement


def sell_out(app, deal_id: int) -> None:
    with app.app_context():
        deal = db.session.get(Deal, deal_id)
        deal.sold = deal.quantity
        db.session.commit()


@pytest.mark.parametrize("case", ["deal sold out", "stock short"])
def test_a_refusal_the_reads_already_show_writes_and_locks_nothing(app, client, shop, case):  # noqa: F811
    if case == "deal sold out":
        pid = shop["deal_product"]
        form = confirm_form(client, pid)
        sell_out(app, shop["deal"])
    else:
        pid = shop["plain"]
        form = confirm_q(client, pid, 6)  # 5 in stock
    with app.app_context(), statements() as seen:
        response = client.post(f"/buy/{pid}", data=form)
    assert response.status_code == 409
    shop_writes = [s for s in seen if written(s) in SHARED + ORDER_TABLES]
    assert shop_writes == [] and not [s for s in seen if locks(s)], seen
    assert counts(app, pid)[0] == 0


def test_the_orders_are_written_before_the_shared_rows_are_taken_in_one_order(app, client, shop):  # noqa: F811
    pid = shop["deal_product"]
    form = confirm_q(client, pid, 2)
    with app.app_context(), statements() as seen:
        assert client.post(f"/buy/{pid}", data=form).status_code == 303
    writes = [written(s) for s in seen if written(s) in SHARED + ORDER_TABLES]
    first_shared = next(i for i, table in enumerate(writes) if table in SHARED)
    # Every order row first; then variants, products, deals, each once, in that order.
    assert set(writes[:first_shared]) == set(ORDER_TABLES), writes
    assert writes[first_shared:] == ["variants", "products", "deals"], writes
    assert not [s for s in seen if locks(s)], seen  # no lock taken for the whole transaction
    # After the deal's units: the per-buyer count, then COMMIT; nothing else waits on them.
    deal_update = next(i for i, s in enumerate(seen) if written(s) == "deals")
    after = [s for s in seen[deal_update + 1 :] if "sessions" not in s]
    assert len(after) == 1 and "sum(order_items.quantity)" in after[0], after
    assert counts(app, pid, shop["deal"])[1:] == (98, 2)


def test_the_lines_event_sms_and_session_go_with_the_shared_rows_in_one_round_trip(
    app,
    client,
    shop,  # noqa: F811
    monkeypatch,
):
    """After the orders' INSERT (their ids), one pipeline: the lines, the first event, the
    "placed" SMS, the session's two rows, then the shared rows and the per-buyer count. On
    PostgreSQL the driver sends them together (one SentTogether for them all)."""
    pid = shop["deal_product"]
    form = confirm_form(client, pid)
    batches: list[list[str]] = []
    send = pipeline.execute_all

    def recording(steps):
        batches.append([getattr(stmt, "table", None) for stmt, _params in steps])
        return send(steps)

    monkeypatch.setattr(pipeline, "execute_all", recording)
    contexts: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, _params, context, _many):
        contexts.append((written(" ".join(statement.split())), context))

    with app.app_context(), listening("after_cursor_execute", record):
        response = client.post(f"/buy/{pid}", data=form)
    assert response.status_code == 303
    assert len(batches) == 1, batches
    tables = [table.name if table is not None else "count" for table in batches[0]]
    assert tables == [
        "order_items",
        "order_events",
        "outbox_messages",
        "web_sessions",
        "web_sessions",
        "variants",
        "products",
        "deals",
        "count",
    ], tables
    together = {id(c) for table, c in contexts if table and table != "orders"}
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            assert len(together) == 1, contexts
            deal_update = next(c for t, c in contexts if t == "deals")
            assert isinstance(deal_update, pipeline.SentTogether)
        order = db.session.scalar(select(Order))
        assert [(i.quantity, i.deal_id) for i in order.items] == [(1, shop["deal"])]
        assert [(e.from_status, e.to_status) for e in order.events] == [(None, "placed")]
        [sms] = db.session.scalars(select(OutboxMessage))
        assert sms.order_id == order.id and order.number in sms.body


def test_a_purchase_reads_each_row_once_and_no_order_back(app, client, shop):  # noqa: F811
    pid = shop["deal_product"]
    form = confirm_form(client, pid)
    with app.app_context(), statements() as seen:
        response = client.post(f"/buy/{pid}", data=form)
    assert response.status_code == 303

    def selects(table: str) -> list[str]:
        return [s for s in seen if s.startswith("SELECT") and re.search(rf"\bFROM {table}\b", s)]

    assert len(selects("regions")) <= 3, selects("regions")  # district, city, province
    # The view's quote (links back) and the placing's share the variant with its product
    # (joined) and the product's running deals, read once with the variants they cover.
    assert len(selects("products")) == 0 and len(selects("variants")) == 1, seen
    assert "JOIN products" in selects("variants")[0], seen
    assert len(selects("deals")) == 1 and "JOIN variants" in selects("deals")[0], seen
    # The deals' product is the one the variant's statement read: its columns not read again.
    assert "products.title" not in selects("deals")[0].split(" FROM ")[0], selects("deals")
    # The form token looked up once; neither a number check, nor the SMS text's order, nor a
    # reload after COMMIT.
    assert len(selects("orders")) == 1, selects("orders")
    inserted = next(i for i, s in enumerate(seen) if written(s) == "orders")
    assert [s for s in seen[inserted:] if re.search(r"\bFROM orders\b", s)] == []


def test_an_order_number_drawn_twice_is_drawn_again(app, client, shop, monkeypatch):  # noqa: F811
    pid = shop["plain"]
    first = client.post(f"/buy/{pid}", data=confirm_form(client, pid))
    taken = first.headers["Location"].rsplit("/", 1)[-1].split("?")[0]
    draws = chain([taken, taken], iter(["1234567890"]))
    monkeypatch.setattr(placing, "new_order_number", lambda: next(draws))
    form = {**confirm_form(client, pid), "phone": "13900139000"}
    again = client.post(f"/buy/{pid}", data=form)
    assert again.status_code == 303 and "/1234567890" in again.headers["Location"]
    with app.app_context():
        assert db.session.scalars(select(Order.number).order_by(Order.id)).all() == [
            taken,
            "1234567890",
        ]
        assert db.session.get(Product, pid).stock == 3  # each purchase took its unit once


def test_rows_held_by_a_stock_change_do_not_hold_up_writing_an_order_line(app):
    """stock.lock takes FOR NO KEY UPDATE: an order line's foreign keys (FOR KEY SHARE on
    PostgreSQL) are written beside it, so a placing that writes its lines before it takes
    the stock never waits inside a canceller's locks the other way round."""
    with app.app_context():
        make_regions()
        product = make_product(stock=5)
        db.session.commit()
        product_id, variant_id = product.id, product.variants[0].id
    held, release = threading.Event(), threading.Event()

    def holder():
        with app.app_context():
            stock.lock([variant_id])
            held.set()
            release.wait(20)
            db.session.rollback()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(20)
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
            make_order(utcnow(), product=db.session.get(Product, product_id), unit_fen=990)
            db.session.commit()
    finally:
        release.set()
        thread.join(20)
    with app.app_context():
        assert db.session.scalar(select(func.count(Order.id))) == 1


def test_the_purchase_and_its_new_session_are_one_commit(app, client, shop):  # noqa: F811
    """The session regenerated on placing (its new sid remembering the order, the old sid
    keeping only what a twin submit needs) is written in the order's own transaction."""
    pid = shop["deal_product"]
    form = confirm_form(client, pid)
    old_sid = client.get_cookie("wsid").value
    commits: list[str] = []
    with app.app_context(), statements() as seen:
        with listening("commit", lambda _conn: commits.append("COMMIT")):
            response = client.post(f"/buy/{pid}", data=form)
    assert response.status_code == 303
    assert commits == ["COMMIT"], seen
    # Written before the rows every buyer shares are taken, not while they are held.
    session_writes = [i for i, s in enumerate(seen) if written(s) == "web_sessions"]
    first_shared = next(i for i, s in enumerate(seen) if written(s) in SHARED)
    assert len(session_writes) == 2 and max(session_writes) < first_shared, seen
    number = re.search(r"/buy/done/(\d{10})", response.headers["Location"]).group(1)
    new_sid = client.get_cookie("wsid").value
    assert new_sid != old_sid
    with app.app_context():
        assert number in db.session.get(WebSession, new_sid).data
        kept = json.loads(db.session.get(WebSession, old_sid).data)
        assert set(kept) <= {"csrf_token", "ver", "lang"} and number not in str(kept)
    assert client.get(response.headers["Location"]).status_code == 200
    # The same confirmation again, on the old sid: the same order, shown.
    client.set_cookie("wsid", old_sid)
    again = client.post(f"/buy/{pid}", data=form)
    assert again.status_code == 303 and number in again.headers["Location"]
    assert counts(app, pid, shop["deal"])[0] == 1


def test_a_refusal_after_the_session_was_written_puts_it_back(app, client, shop, monkeypatch):  # noqa: F811
    pid = shop["plain"]
    form = confirm_form(client, pid)
    sid = client.get_cookie("wsid").value
    with app.app_context():
        before = db.session.get(WebSession, sid).data
        rows = db.session.scalar(select(func.count()).select_from(WebSession))
    monkeypatch.setattr(stock.Taking, "short", lambda taking, done: taking.variant_ids[0])
    refused = client.post(f"/buy/{pid}", data=form)
    assert refused.status_code == 409 and "库存不足" in refused.text
    assert client.get_cookie("wsid").value == sid  # not regenerated
    with app.app_context():
        assert db.session.get(WebSession, sid).data == before  # no order remembered
        assert db.session.scalar(select(func.count()).select_from(WebSession)) == rows
        assert db.session.scalar(select(func.count(Order.id))) == 0
    monkeypatch.undo()
    placed = client.post(f"/buy/{pid}", data=form)
    assert placed.status_code == 303 and client.get_cookie("wsid").value != sid
    assert client.get(placed.headers["Location"]).status_code == 200
