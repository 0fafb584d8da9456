"""Short reads outside the request's transaction: the session row and the page cache's
generation, the only database work of a page served from the page cache (one round trip when
the request brings a sid: the generation comes with the session row).

Each worker thread keeps, per engine, one connection for nothing else, in autocommit (every
read sees the last commit; no transaction is left open), and runs the driver's own cursor on
it: no pooled connection is checked out, no ORM session begun or closed, no statement
compiled. The connections are detached from the pool (never handed to anyone else in
autocommit) and closed when their engine is disposed; a failed read reconnects once."""

import contextlib
import os
import threading
import weakref
from datetime import datetime

from sqlalchemy import event

# Named parameters as each driver writes them (sqlite3: :name, psycopg: %(name)s).
_PARAMETER = {"named": ":{}", "qmark": ":{}", "pyformat": "%({})s", "format": "%({})s"}


class OutsideReads:
    def __init__(self):
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: dict[int, list] = {}  # id(engine) -> its connections, every thread's
        self._statements: dict[tuple, str] = {}

    def row(self, engine, sql: str, **params) -> tuple | None:
        """The first row of `sql` (parameters written {name}), or None."""
        statement = self._statements.get((sql, engine.dialect.paramstyle))
        if statement is None:
            marker = _PARAMETER[engine.dialect.paramstyle]
            statement = sql.format(**{name: marker.format(name) for name in params})
            self._statements[(sql, engine.dialect.paramstyle)] = statement
        for attempt in (1, 2):
            try:
                cursor = self._connection(engine)[1]
                cursor.execute(statement, params)
                return cursor.fetchone()
            except Exception:
                self._drop(engine)
                if attempt == 2:
                    raise
        return None  # not reached

    def _connection(self, engine) -> tuple:
        """This thread's (connection, cursor) for `engine`."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.pid, local.connections = os.getpid(), {}
        # By id, checked against a weak reference: an id may be reused by a later engine.
        kept = local.connections.get(id(engine))
        if kept is None or kept[0]() is not engine:
            connection = self._connect(engine)
            kept = (weakref.ref(engine), connection, connection.cursor())
            local.connections[id(engine)] = kept
        return kept[1:]

    def _connect(self, engine):
        with self._lock:
            if not event.contains(engine, "engine_disposed", self.close_all):
                event.listen(engine, "engine_disposed", self.close_all)
        connection = engine.raw_connection()
        connection.detach()
        if engine.dialect.name == "postgresql":
            connection.dbapi_connection.autocommit = True
        with self._lock:
            self._open.setdefault(id(engine), []).append(connection)
        return connection

    def _drop(self, engine) -> None:
        connections = getattr(self._local, "connections", {})
        kept = connections.pop(id(engine), None)
        if kept is not None:
            connection = kept[1]
            with self._lock:
                with contextlib.suppress(ValueError):
                    self._open.get(id(engine), []).remove(connection)
            with contextlib.suppress(Exception):
                connection.close()

    def close_all(self, engine) -> None:
        """engine_disposed: close every thread's connection to it; the next read opens anew."""
        with self._lock:
            connections = self._open.pop(id(engine), [])
        for connection in connections:
            with contextlib.suppress(Exception):
                connection.close()
        # Other threads still hold the closed connection: their next read fails once and
        # reconnects. This thread forgets it now.
        getattr(self._local, "connections", {}).pop(id(engine), None)


# The page cache's figure (web/cache.py), and the session row with it: a request bringing a
# sid reads both in one round trip.
GENERATION = "catalog"
GENERATION_SQL = f"SELECT value FROM cache_generations WHERE name = '{GENERATION}'"
SESSION_SQL = f"SELECT data, expires_at, ({GENERATION_SQL}) FROM web_sessions WHERE id = {{sid}}"


def as_datetime(value) -> datetime:
    """A DateTime column as the driver returns it (SQLite: ISO text; PostgreSQL: datetime)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


reads = OutsideReads()
