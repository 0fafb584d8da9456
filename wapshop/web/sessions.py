"""Server-side sessions that survive phones and gateways which drop cookies.

The session id (sid) is a random password kept in web_sessions. A client that returns our
cookie uses it; one that does not gets the sid on every internal URL, added by url_for itself
(see add_sid_to_urls), never by templates. Rows are written only when the session changes,
so browsing costs no database write."""

import hashlib
import json
import secrets
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app, has_request_context, request, session
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import bindparam, delete, insert, update
from werkzeug.datastructures import CallbackDict

from wapshop.extensions import db
from wapshop.models import WebSession
from wapshop.web import pipeline
from wapshop.clock import utcnow
from wapshop.parsing import present_arg
from wapshop.web.reads import SESSION_SQL, as_datetime, reads

SID_PARAM = "sid"
# Content-named, cached-for-ever files: a per-session URL would defeat the cache and spread
# the sid into image requests and proxy logs.
NO_SID_ENDPOINTS = frozenset({"static", "media.file"})


# What a replaced sid keeps, for a little while: the CSRF secret and display choices, never
# anything that grants access. A confirmation submitted twice (a slow network, an impatient
# thumb) comes back on the old sid and must still pass CSRF to be shown its order.
KEPT_WHEN_MOVED = ("csrf_token", "ver", "lang")
MOVED_LIFETIME = timedelta(minutes=10)

# The browser a session was granted to (login, an order…), as a short hash of its User-Agent.
# A sid from a URL is honoured only by that same browser: a logged-in sid pasted into a link
# must not make the victim shop inside the attacker's account (cookies prove themselves).
CLIENT_KEY = "_client"
# A session opened for this request before Flask's cycle (web/hits.py), in its WSGI environ.
OPENED_NOTE = "wapshop.session"

SID_BYTES = 12
SID_LENGTH = 16


def new_sid() -> str:
    # 96 random bits in 16 characters: far beyond guessing (OWASP asks for 64), and every
    # link on a 2,000-byte WML deck carries it, so each character counts.
    return secrets.token_urlsafe(SID_BYTES)


def client_tag(req) -> str:
    return hashlib.sha256(req.headers.get("User-Agent", "").encode()).hexdigest()[:12]


def _valid_sid(value: str | None) -> bool:
    return (
        bool(value)
        and len(value) == SID_LENGTH
        and value.replace("-", "a").replace("_", "a").isalnum()
    )


class DbSession(CallbackDict, SessionMixin):
    def __init__(
        self,
        initial=None,
        sid=None,
        stored=False,
        from_cookie=False,
        expires_at=None,
        generation=None,
    ):
        def on_update(self):
            self.modified = True

        super().__init__(initial, on_update)
        self.sid = sid or new_sid()
        self.stored = stored
        self.from_cookie = from_cookie
        # This sid was made by us in this request (a new session, or regenerated): only such
        # a sid, or the one the client's own cookie sent, may be set as a cookie. A sid read
        # from a URL may be someone else's (a shared link), so it never becomes a cookie.
        self.fresh = sid is None
        self.written = False  # its row was written in this request (save_now)
        self.modified = False
        self.replaced_sid: str | None = None
        self.expires_at = expires_at
        # The page cache's generation when it came with the session row (web/reads.py).
        self.generation: int | None = generation

    def regenerate(self) -> None:
        """New sid for the same data, at every grant of access (login, logout, an order placed
        or found, a bank return), so a sid seen before, in a link or a log, is worthless. A
        client without cookies gets the new sid in the URLs built after this call."""
        if self.stored and self.replaced_sid is None:
            self.replaced_sid = self.sid
        self.sid = new_sid()
        self.fresh = True
        self.written = False
        self.modified = True
        if has_request_context():
            self[CLIENT_KEY] = client_tag(request)

    def slides(self, lifetime: timedelta, now) -> bool:
        """An active session slides forward when less than half its lifetime is left (a
        write at most once an hour): saving it then writes its row."""
        return self.stored and self.expires_at - now < lifetime / 2

    @property
    def in_urls(self) -> bool:
        """Carry the sid in URLs: the session exists but the client did not send the cookie."""
        return not self.from_cookie and (self.stored or self.modified)


class DbSessionInterface(SessionInterface):
    def open_session(self, app, request):
        opened = request.environ.pop(OPENED_NOTE, None)
        if opened is not None:  # read already by web/hits.py for this very request
            return opened
        cookie_sid = present_arg(request.cookies, app.config["SESSION_COOKIE_NAME"])
        # Forms post to URLs built by url_for, so the sid is in the query string there too;
        # the body is never read here (before error handlers exist for this request).
        sid = cookie_sid if _valid_sid(cookie_sid) else present_arg(request.args, SID_PARAM)
        if _valid_sid(sid):
            # Outside the request's transaction (web/reads.py), with the page cache's
            # generation: a page served from the cache then costs this one round trip.
            row = reads.row(db.engine, SESSION_SQL, sid=sid)
            expires_at = as_datetime(row[1]) if row is not None else None
            if expires_at is not None and expires_at > utcnow():
                data = json.loads(row[0])
                from_cookie = sid == cookie_sid
                granted_to = data.get(CLIENT_KEY)
                if from_cookie or granted_to is None or granted_to == client_tag(request):
                    return DbSession(
                        data,
                        sid=sid,
                        stored=True,
                        from_cookie=from_cookie,
                        expires_at=expires_at,
                        generation=row[2] or 0,
                    )
        return DbSession()

    def save_session(self, app, session, response):
        if write_session(app, session):
            db.session.commit()
        if session.stored and (session.from_cookie or session.fresh):
            response.set_cookie(
                app.config["SESSION_COOKIE_NAME"],
                session.sid,
                httponly=True,
                samesite=app.config["SESSION_COOKIE_SAMESITE"],
                secure=request.is_secure or app.config["SESSION_COOKIE_SECURE"],
                path="/",
            )
            response.vary.add("Cookie")


# Built once (their cache keys with them): every request that changes its session runs them.
_WRITE = (
    update(WebSession)
    .where(WebSession.id == bindparam("sid"))
    .values(data=bindparam("data"), expires_at=bindparam("expires_at"))
)
_ADD = insert(WebSession).values(
    id=bindparam("sid"),
    data=bindparam("data"),
    expires_at=bindparam("expires_at"),
    created_at=bindparam("now"),
)


def write_session(app, session, batch: pipeline.Batch | None = None) -> bool:
    """The session's writes, sent now in the current transaction, or added to `batch` (sent
    with the caller's other statements); True when there were any. A regenerated session's
    two writes (the old sid kept briefly, the new one's row) go to the database together."""
    lifetime: timedelta = app.config["SESSION_LIFETIME"]
    now = utcnow()
    if session.slides(lifetime, now):
        session.modified = True
    steps = []
    if session.replaced_sid:
        kept = {key: session[key] for key in KEPT_WHEN_MOVED if key in session}
        expires_at = min(now + MOVED_LIFETIME, now + lifetime)
        row = {"sid": session.replaced_sid, "data": json.dumps(kept), "expires_at": expires_at}
        steps.append((_WRITE, row))
        session.replaced_sid = None
    row = None
    if session.modified and (session or session.stored):
        data = json.dumps(dict(session), separators=(",", ":"), default=str)
        row = {"sid": session.sid, "data": data, "expires_at": now + lifetime, "now": now}
        # A sid made in this request (a new session, or a regenerated one) has no row yet:
        # one INSERT, not an UPDATE that finds nothing first.
        steps.append((_ADD if session.fresh and not session.written else _WRITE, row))
        session.stored = session.written = True
        session.expires_at = now + lifetime
        session.modified = False
    if not steps:
        return False

    def check(done: list[pipeline.Done]) -> None:
        if row is not None and steps[-1][0] is _WRITE and done[-1].rowcount == 0:
            pipeline.execute_all([(_ADD, row)])  # its row was purged meanwhile

    if batch is not None:
        batch.add(steps, check)
    else:
        check(pipeline.execute_all(steps))
    return True


def save_now(batch: pipeline.Batch) -> None:
    """Write this request's session in the caller's transaction, with the statements of
    `batch`: a view that commits anyway (an order placed) saves the COMMIT save_session would
    need after it, and a round trip. Changes made to the session later in the request are
    written after the view as usual."""
    if isinstance(session, DbSession):
        write_session(current_app, session, batch)


_STATE = ("sid", "fresh", "written", "modified", "replaced_sid", "stored", "expires_at")


def checkpoint():
    """A function putting this request's session back as it is now (its data, its sid and
    what is written of it): for a view that writes it (save_now) in a transaction that may
    still roll back."""
    current = session._get_current_object() if has_request_context() else None
    if not isinstance(current, DbSession):
        return lambda: None
    data, state = dict(current), {name: getattr(current, name) for name in _STATE}

    def restore() -> None:
        current.clear()
        current.update(data)
        for name, value in state.items():
            setattr(current, name, value)

    return restore


def regenerate() -> None:
    """Move this request's session to a fresh sid (see DbSession.regenerate)."""
    if isinstance(session, DbSession):
        session.regenerate()


def add_sid_to_urls(endpoint: str, values: dict) -> None:
    """url_defaults hook: every URL this app builds carries the sid when cookies fail."""
    if (
        has_request_context()
        and endpoint not in NO_SID_ENDPOINTS
        and SID_PARAM not in values
        and isinstance(session, DbSession)
        and session.in_urls
    ):
        values[SID_PARAM] = session.sid


def purge_expired() -> int:
    """Delete expired sessions; returns how many (the caller commits)."""
    return db.session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow())).rowcount


def init_app(app) -> None:
    app.session_interface = DbSessionInterface()
    app.url_defaults(add_sid_to_urls)


def sid_fields() -> list[tuple[str, str]]:
    """Hidden fields a GET form needs to keep the session (its query string replaces the
    action's). Templates get them through the form macros, never by hand."""
    if has_request_context() and isinstance(session, DbSession) and session.in_urls:
        return [(SID_PARAM, session.sid)]
    return []


def local_target(target: str | None, prefix: str = "/") -> str | None:
    """`target` when it is a path on this site under `prefix` (after ?next=), else None.

    Refused: anything with a scheme or host, a second leading slash or a backslash (browsers
    read both as the start of a host), control characters and spaces (a tab in "/\t/evil"
    is dropped by browsers, leaving "//evil")."""
    if not target or len(target) > 2000 or not target.startswith("/"):
        return None
    if any(ord(c) < 0x21 or c in "\x7f\\" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target[1:2] == "/":
        return None
    if not (parts.path + "/").startswith(prefix.rstrip("/") + "/"):
        return None
    return target


def with_current_sid(target: str) -> str:
    """A same-site URL with any sid it carried replaced by this session's, when the session
    travels in URLs: a path taken from ?next= may hold a sid that is dead after a login."""
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != SID_PARAM]
    if has_request_context() and isinstance(session, DbSession) and session.in_urls:
        query.append((SID_PARAM, session.sid))
    return urlunsplit(parts._replace(query=urlencode(query)))
