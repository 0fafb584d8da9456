"""For load balancers and monitors: can this worker take an order right now?

Reaching the database is not enough: a database file that went missing (SQLite makes a new,
empty one) or one that is read-only answers SELECT 1 while every page fails. So the check
reads the tables an order needs, then updates the orders in a statement that matches no row,
and rolls back. Such an UPDATE still needs write access (SQLite takes its write lock,
PostgreSQL refuses it in a read-only transaction or without the grant) but changes nothing
and costs no row lock. The answer is 200 `ok`, or 503 and a one-line reason."""

from flask import Blueprint
from sqlalchemy import false, literal, select, text, union_all, update
from sqlalchemy.exc import SQLAlchemyError

from wapshop.extensions import db
from wapshop.models import Order, OrderEvent, OrderItem, Product, WebSession

bp = Blueprint("health", __name__)
# What placing an order writes: stock, the order, its items and event, the buyer's session.
ORDER_TABLES = tuple(m.__table__ for m in (Product, Order, OrderItem, OrderEvent, WebSession))
ORDERS = Order.__table__


def problem() -> str | None:
    """Why this worker cannot take an order now, or None. Leaves no transaction open."""
    checks = (
        ("database unavailable", text("SELECT 1")),
        (
            "database schema missing",
            union_all(*(select(literal(1)).select_from(t).where(false()) for t in ORDER_TABLES)),
        ),
        # Read-only is a property of the whole database (file, mount, server, transaction):
        # one table's write stands for all (each statement is a round trip).
        ("database refuses writes", update(ORDERS).where(false()).values(id=ORDERS.c.id)),
    )
    try:
        for reason, statement in checks:
            try:
                db.session.execute(statement)
            except SQLAlchemyError:
                return reason
    finally:
        db.session.rollback()
    return None


@bp.get("/healthz")
def healthz():
    reason = problem()
    headers = {"Content-Type": "text/plain", "Cache-Control": "no-store"}
    if reason:
        return f"{reason}\n", 503, headers
    return "ok\n", 200, headers
