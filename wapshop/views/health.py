"""For load balancers and monitors: is this worker able to reach its database?"""

from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from wapshop.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return (
            "database unavailable\n",
            503,
            {"Content-Type": "text/plain", "Cache-Control": "no-store"},
        )
    return "ok\n", 200, {"Content-Type": "text/plain", "Cache-Control": "no-store"}
