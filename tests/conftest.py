"""flaskr-style fixtures: an app with a fresh database per test, a client, a runner.

WAPSHOP_TEST_DATABASE_URL selects the database: a PostgreSQL URL runs the suite there, every
test in its own schema-reset database; by default each test gets its own SQLite file."""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from support.fulfilment import shop  # noqa: F401 (a fixture for every test module)
from support.history import history  # noqa: F401 (a fixture for every test module)
from wapshop import ROOT, create_app
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
        **overrides,
    }
    app = create_app(config)
    if PG_URL:
        _reset_postgres(app)
    with app.app_context():
        db.create_all()
    return app


def sibling_app(app, **overrides):
    """Another app over the same database and media (nothing reset), with other settings."""
    keys = ("TESTING", "SECRET_KEY", "DATABASE_URL")
    return create_app({**{k: app.config[k] for k in keys}, **overrides})


@contextmanager
def app_over(path, **overrides):
    """make_app's app; its sessions and engine closed when the block ends."""
    app = make_app(path, **overrides)
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(tmp_path):
    with app_over(tmp_path) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def sid_of(html: str) -> str | None:
    found = re.search(r"[?&;]sid=([\w-]{16})", html)
    return found.group(1) if found else None


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """One app per test module with the demo catalogue loaded (read-only tests share it)."""
    from wapshop.services import demo

    tmp = tmp_path_factory.mktemp("demo")
    app = make_app(tmp)
    with app.app_context():
        demo.load_demo()
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """gunicorn serving a prepared app on 127.0.0.1; .url is its base URL."""

    def __init__(self, app, workers: int = 2, threads: int = 1, **settings):
        self.app = app
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # A file, not a pipe: a chatty server must never block on a full pipe.
        self.log = tempfile.TemporaryFile()  # gone when closed
        env = {
            **os.environ,
            "WAPSHOP_DATABASE_URL": app.config["DATABASE_URL"],
            "WAPSHOP_SECRET_KEY": app.config["SECRET_KEY"],
            "WAPSHOP_BIND": f"127.0.0.1:{self.port}",
            "WAPSHOP_WORKERS": str(workers),
            "WAPSHOP_ACCESS_LOG": os.devnull,
            **{f"WAPSHOP_{name}": json.dumps(value) for name, value in settings.items()},
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "--threads",
                str(threads),
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.process.poll() is not None:
                    output = self.read_log()
                    self.log.close()
                    raise RuntimeError(output)
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not start in 20 s")

    def read_log(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.final_log = self.read_log()  # what it said, kept after its file is gone
        self.log.close()


@pytest.fixture(scope="module")
def live_server(demo_app):
    """gunicorn over the module's demo database."""
    server = LiveServer(demo_app)
    yield server
    server.stop()


def require_tool(path: str, why: str) -> None:
    """Skip when a system tool is missing, except under CI, where nothing may be skipped."""
    if not os.path.exists(path):
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing in CI ({why})")
        pytest.skip(f"{path} is not installed ({why}); bin/test installs it when run as root")
