"""flaskr-style fixtures: an app with a fresh database per test, a client, a runner.

WAPSHOP_TEST_DATABASE_URL selects the database: a PostgreSQL URL runs the suite there, every
test in its own schema-reset database; by default each test gets its own SQLite file."""

import os
import re

import pytest
from sqlalchemy import text

from wapshop import create_app
from wapshop.extensions import db

PG_URL = os.environ.get("WAPSHOP_TEST_DATABASE_URL", "")


def _database_url(tmp_path) -> str:
    return PG_URL or f"sqlite:///{tmp_path / 'test.sqlite'}"


def _reset_postgres(app) -> None:
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))


def make_app(tmp_path, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test",
        "DATABASE_URL": _database_url(tmp_path),
        "MEDIA_DIR": str(tmp_path / "media"),
        **overrides,
    }
    app = create_app(config)
    if PG_URL:
        _reset_postgres(app)
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def sid_of(html: str) -> str | None:
    found = re.search(r"[?&;]sid=([\w-]{22})", html)
    return found.group(1) if found else None
