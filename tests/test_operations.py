"""Running the shop: health endpoint, backups, the set-up command."""

import shutil
import sqlite3

import pytest
from sqlalchemy import func, select

from conftest import PG_URL
from factories import make_product
from wapshop.extensions import db
from wapshop.models import Product


def test_health_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.text == "ok\n"


def test_health_reports_an_unreachable_database():
    from wapshop import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite:////nonexistent/dir/x.sqlite"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and "database unavailable" in response.text


def test_backup_writes_a_copy_with_the_same_data(app, runner, tmp_path):
    with app.app_context():
        make_product()
        db.session.commit()
    target = tmp_path / "backup.db"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    if PG_URL:
        if shutil.which("pg_restore") is None:
            pytest.fail("pg_restore missing")
        assert target.stat().st_size > 0
        return
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT count(*) FROM products").fetchone() == (1,)


def test_setup_loads_the_demo_once(app, runner):
    with app.app_context():
        db.drop_all()
    assert runner.invoke(args=["setup"]).exit_code == 0
    with app.app_context():
        first = db.session.scalar(select(func.count(Product.id)))
    second = runner.invoke(args=["setup"])
    assert second.exit_code == 0 and "Loaded" not in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Product.id))) == first >= 200


def test_sessions_purge_removes_only_expired_sessions(app, runner):
    from datetime import timedelta

    from wapshop.models import WebSession
    from wapshop.clock import utcnow

    with app.app_context():
        db.session.add_all(
            [
                WebSession(id="a" * 22, expires_at=utcnow() - timedelta(minutes=1)),
                WebSession(id="b" * 22, expires_at=utcnow() + timedelta(minutes=1)),
            ]
        )
        db.session.commit()
    result = runner.invoke(args=["sessions", "purge"])
    assert "Removed 1 expired sessions" in result.output
    with app.app_context():
        assert [s.id for s in db.session.query(WebSession)] == ["b" * 22]
