"""Statements sent together (web/pipeline.py): the same results, in the same order, as
sent one by one; on PostgreSQL in one pipeline; a failure raised as SQLAlchemy raises it and
nothing of the transaction kept. SQLite or PostgreSQL alike."""

import psycopg
import pytest
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from conftest import PG_URL
from factories import make_product
from test_stock_locks import statements
from wapshop.extensions import db
from wapshop.models import CacheGeneration, Product, Variant
from wapshop.services import stock
from wapshop.web import pipeline
from wapshop.web.reads import GENERATION

_TAKE = (
    update(Variant)
    .where(Variant.id == bindparam("variant_id"), Variant.stock >= bindparam("quantity"))
    .values(stock=Variant.stock - bindparam("quantity"))
    .returning(Variant.stock)
    .execution_options(synchronize_session=False)
)
_STOCK = select(Variant.stock).where(Variant.id == bindparam("variant_id"))
_PUT_BACK = (  # no RETURNING: its count is the rows it wrote
    update(Variant)
    .where(Variant.id == bindparam("variant_id"), Variant.stock < bindparam("below"))
    .values(stock=Variant.stock + 1)
    .execution_options(synchronize_session=False)
)


def steps(variant_id: int) -> list:
    return [
        (_TAKE, {"variant_id": variant_id, "quantity": 3}),
        (_STOCK, {"variant_id": variant_id}),
        (_TAKE, {"variant_id": variant_id, "quantity": 5}),  # 2 left: writes nothing
        (_TAKE, {"variant_id": variant_id, "quantity": 2}),
        (_PUT_BACK, {"variant_id": variant_id, "below": 0}),  # writes nothing
        (_PUT_BACK, {"variant_id": variant_id, "below": 1}),
        (_STOCK, {"variant_id": variant_id}),
    ]


def a_variant(app, stock_left: int) -> int:
    with app.app_context():
        product = make_product(stock=stock_left)
        db.session.commit()
        return stock.sole_variant(product.id).id


def test_statements_sent_together_give_what_they_give_one_by_one(app):
    together, one_by_one = a_variant(app, 5), a_variant(app, 5)
    with app.app_context():
        with statements() as seen:
            done = pipeline.execute_all(steps(together))
        alone = [
            db.session.connection().execute(stmt, params) for stmt, params in steps(one_by_one)
        ]
        rows = [[tuple(r) for r in result.all()] if result.returns_rows else [] for result in alone]
        counts = [len(r) if res.returns_rows else res.rowcount for r, res in zip(rows, alone)]
        db.session.commit()
        assert [d.rows for d in done] == rows == [[(2,)], [(2,)], [], [(0,)], [], [], [(1,)]]
        assert [d.rowcount for d in done] == counts == [1, 1, 0, 1, 0, 1, 1]
        assert [d.scalar() for d in done] == [2, 2, None, 0, None, None, 1]
        # Every statement seen by the engine's listeners, in order.
        assert [s.split()[0] for s in seen] == ["UPDATE", "SELECT"] + ["UPDATE"] * 4 + ["SELECT"]
        assert db.session.get(Variant, together).stock == 1


@pytest.mark.skipif(not PG_URL, reason="the pipeline is PostgreSQL's (psycopg)")
def test_on_postgresql_they_go_in_one_pipeline(app, monkeypatch):
    variant_id = a_variant(app, 5)
    entered = []
    real = psycopg.Connection.pipeline

    def counted(conn):
        entered.append(conn)
        return real(conn)

    monkeypatch.setattr(psycopg.Connection, "pipeline", counted)
    with app.app_context():
        pipeline.execute_all(steps(variant_id))
        assert len(entered) == 1
        pipeline.execute_all(steps(variant_id)[:1])  # one statement: sent the usual way
        assert len(entered) == 1
        db.session.rollback()


def test_a_failure_is_sqlalchemys_error_and_the_transaction_keeps_nothing(app):
    variant_id = a_variant(app, 5)
    with app.app_context():
        product_id = db.session.get(Variant, variant_id).product_id
        below_zero = (
            update(Product)
            .where(Product.id == bindparam("product_id"))
            .values(stock=-1)
            .execution_options(synchronize_session=False)
        )
        with pytest.raises(IntegrityError):
            pipeline.execute_all(
                [
                    (_TAKE, {"variant_id": variant_id, "quantity": 3}),
                    (below_zero, {"product_id": product_id}),  # CHECK stock >= 0
                    (_STOCK, {"variant_id": variant_id}),
                ]
            )
        db.session.rollback()
        assert (
            db.session.scalar(select(func.sum(Variant.stock)).where(Variant.id == variant_id)) == 5
        )
        assert pipeline.execute_all(steps(variant_id))[-1].scalar() == 1  # usable again
        db.session.rollback()


def test_taking_stock_of_several_variants_names_the_first_short(app):
    first, second = a_variant(app, 5), a_variant(app, 1)
    with app.app_context():
        products = {v: db.session.get(Variant, v).product_id for v in (first, second)}
        taking = stock.Taking({first: (products[first], 2), second: (products[second], 2)})
        assert taking.short(pipeline.execute_all(taking.steps)) == second
        db.session.rollback()
        taking = stock.Taking({first: (products[first], 2), second: (products[second], 1)})
        assert taking.short(pipeline.execute_all(taking.steps)) is None
        db.session.commit()
        assert [db.session.get(Product, products[v]).stock for v in (first, second)] == [3, 0]


def test_a_catalogue_write_sent_together_moves_the_page_caches_figure_and_a_sale_does_not(app):
    variant_id = a_variant(app, 5)
    figure = select(CacheGeneration.value).where(CacheGeneration.name == GENERATION)
    with app.app_context():
        product_id = db.session.get(Variant, variant_id).product_id
        before = db.session.scalar(figure) or 0
        taking = stock.Taking({variant_id: (product_id, 1)})
        pipeline.execute_all(taking.steps)  # a sale: stock = stock - 1
        db.session.commit()
        assert (db.session.scalar(figure) or 0) == before
        new_price = (
            update(Product)
            .where(Product.id == bindparam("product_id"))
            .values(shop_price_fen=bindparam("price"))
            .execution_options(synchronize_session=False)
        )
        pipeline.execute_all([(new_price, {"product_id": product_id, "price": 990})] * 2)
        db.session.commit()
        assert db.session.scalar(figure) == before + 1
