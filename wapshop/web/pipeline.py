"""Several statements of the session's transaction in one round trip to the database.

On PostgreSQL (psycopg) the statements go out together in pipeline mode and the server runs
them one after the other, each exactly as if it had been sent alone: in its own snapshot
(READ COMMITTED), seeing what the ones before it wrote and what other transactions committed
before it began. Only the waiting between them goes. Elsewhere (SQLite, in-process: there is
no round trip to save) they run one by one through the session.

Every statement is still seen by the engine's before/after_cursor_execute listeners, in
order, as the statements sent one by one are, and a catalogue write moves the page cache's
figure (web/cache.notice) as through the session. What the pipeline cannot do: use one
statement's result to build the next (every parameter is known before the first is sent).

A Batch gathers the statements of several parts of one piece of work (a purchase's order
lines, its session, the rows every buyer shares) to send them together, each part reading its
own statements' results."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import exc
from sqlalchemy.sql import Executable

from wapshop.extensions import db
from wapshop.web import cache

Step = tuple[Executable, Mapping[str, object]]


@dataclass(frozen=True)
class Done:
    """What one statement gave: its rows (RETURNING or SELECT), and how many rows it wrote
    or, when it returns rows, gave (drivers differ on a RETURNING statement's own count)."""

    rows: list[tuple]
    rowcount: int

    def scalar(self):
        return self.rows[0][0] if self.rows else None


class SentTogether:
    """What the cursor listeners get as the execution context of a statement sent in a
    pipeline: the statements of one pipeline share one (bench/statements.py counts the round
    trips by it)."""


class Batch:
    """Statements added by several callers, sent together once, in the order added."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self._checks: list[tuple[slice, Callable[[list[Done]], None]]] = []

    def add(self, steps: Sequence[Step], check: Callable[[list[Done]], None] | None = None):
        """Add `steps`; the slice of the results that will be theirs. `check`, if given, gets
        them once sent (before send returns)."""
        part = slice(len(self.steps), len(self.steps) + len(steps))
        self.steps.extend(steps)
        if check is not None:
            self._checks.append((part, check))
        return part

    def send(self) -> list[Done]:
        """Run them all (execute_all), then each part's check in the order added."""
        done = execute_all(self.steps)
        for part, check in self._checks:
            check(done[part])
        return done


def execute_all(steps: Sequence[Step]) -> list[Done]:
    """Run the statements in order in the session's transaction; one Done each. A database
    error is raised as SQLAlchemy raises it (e.g. IntegrityError); the caller rolls back."""
    db.session.flush()
    for stmt, _params in steps:  # past the session's do_orm_execute: the page cache's notice
        cache.notice(db.session, stmt, stmt.get_execution_options())
    conn = db.session.connection()
    raw = conn.connection.driver_connection
    if len(steps) < 2 or not hasattr(raw, "pipeline"):
        return [_one(conn, stmt, params) for stmt, params in steps]
    sent = []
    together = SentTogether()
    try:
        with raw.pipeline():
            for stmt, params in steps:
                compiled = _compiled(stmt, conn.dialect)
                values = _values(compiled, params)
                cursor = raw.cursor()
                conn.dispatch.before_cursor_execute(
                    conn, cursor, compiled.string, values, together, False
                )
                cursor.execute(compiled.string, values)
                conn.dispatch.after_cursor_execute(
                    conn, cursor, compiled.string, values, together, False
                )
                sent.append((cursor, compiled.string, values))
    except conn.dialect.loaded_dbapi.Error as error:
        # Reported at the pipeline's end: which statement failed is in the error's text.
        statements = "\n".join(sql for _cursor, sql, _values in sent)
        raise exc.DBAPIError.instance(
            statements, None, error, conn.dialect.loaded_dbapi.Error
        ) from error
    return [_done(cursor.description is not None, cursor) for cursor, _sql, _values in sent]


def _one(conn, stmt, params) -> Done:
    result = conn.execute(stmt, params)
    return _done(result.returns_rows, result)


def _done(returns_rows: bool, result) -> Done:
    """A Done from a DBAPI cursor or a SQLAlchemy result, which is closed."""
    if returns_rows:
        rows = [tuple(row) for row in result.fetchall()]
        done = Done(rows=rows, rowcount=len(rows))
    else:
        done = Done(rows=[], rowcount=result.rowcount)
    result.close()
    return done


def _values(compiled, params) -> dict:
    """The driver's parameters, each through its type's bind processor as SQLAlchemy's own
    execution passes them (none for the integers, text and times placing sends)."""
    values = compiled.construct_params(params)
    for name, process in compiled._bind_processors.items():
        if name in values and values[name] is not None:
            values[name] = process(values[name])
    return values


@lru_cache(maxsize=64)
def _compiled(stmt, dialect):
    """A statement built once (a module's constant) compiled once per dialect."""
    return stmt.compile(dialect=dialect)
