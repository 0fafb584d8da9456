"""Server-side sessions that survive phones and gateways which drop cookies.

The session id (sid) is a random password kept in web_sessions. A client that returns our
cookie uses it; one that does not gets the sid on every internal URL, added by url_for itself
(see add_sid_to_urls), never by templates. Rows are written only when the session changes,
so browsing costs no database write."""

import json
import secrets
from datetime import timedelta

from flask import has_request_context, request, session
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete, update
from werkzeug.datastructures import CallbackDict

from wapshop.extensions import db
from wapshop.models import WebSession
from wapshop.models.base import utcnow

SID_PARAM = "sid"
# Content-named, cached-for-ever files: a per-session URL would defeat the cache and spread
# the sid into image requests and proxy logs.
NO_SID_ENDPOINTS = frozenset({"static", "media.file"})


SID_BYTES = 12
SID_LENGTH = 16


def new_sid() -> str:
    # 96 random bits in 16 characters: far beyond guessing (OWASP asks for 64), and every
    # link on a 2,000-byte WML deck carries it, so each character counts.
    return secrets.token_urlsafe(SID_BYTES)


def _valid_sid(value: str | None) -> bool:
    return (
        bool(value)
        and len(value) == SID_LENGTH
        and value.replace("-", "a").replace("_", "a").isalnum()
    )


class DbSession(CallbackDict, SessionMixin):
    def __init__(self, initial=None, sid=None, stored=False, from_cookie=False, expires_at=None):
        def on_update(self):
            self.modified = True

        super().__init__(initial, on_update)
        self.sid = sid or new_sid()
        self.stored = stored
        self.from_cookie = from_cookie
        self.modified = False
        self.replaced_sid: str | None = None
        self.expires_at = expires_at

    def regenerate(self) -> None:
        """New sid for the same data (at login and logout), so a sid seen before is worthless."""
        if self.stored and self.replaced_sid is None:
            self.replaced_sid = self.sid
        self.sid = new_sid()
        self.modified = True

    @property
    def in_urls(self) -> bool:
        """Carry the sid in URLs: the session exists but the client did not send the cookie."""
        return not self.from_cookie and (self.stored or self.modified)


class DbSessionInterface(SessionInterface):
    def open_session(self, app, request):
        cookie_sid = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
        # Forms post to URLs built by url_for, so the sid is in the query string there too;
        # the body is never read here (before error handlers exist for this request).
        sid = cookie_sid if _valid_sid(cookie_sid) else request.args.get(SID_PARAM)
        if _valid_sid(sid):
            row = db.session.get(WebSession, sid)
            if row is not None and row.expires_at > utcnow():
                return DbSession(
                    json.loads(row.data),
                    sid=sid,
                    stored=True,
                    from_cookie=sid == cookie_sid,
                    expires_at=row.expires_at,
                )
        return DbSession()

    def save_session(self, app, session, response):
        lifetime: timedelta = app.config["SESSION_LIFETIME"]
        now = utcnow()
        if session.stored and session.expires_at - now < lifetime / 2:
            session.modified = True  # an active session slides forward, at most a write an hour
        if session.replaced_sid:
            db.session.execute(delete(WebSession).where(WebSession.id == session.replaced_sid))
        if session.modified and (session or session.stored):
            data = json.dumps(dict(session), separators=(",", ":"), default=str)
            changed = db.session.execute(
                update(WebSession)
                .where(WebSession.id == session.sid)
                .values(data=data, expires_at=now + lifetime)
            ).rowcount
            if not changed:
                db.session.add(WebSession(id=session.sid, data=data, expires_at=now + lifetime))
            db.session.commit()
            session.stored = True
        elif session.replaced_sid:
            db.session.commit()
        if session.stored:
            response.set_cookie(
                app.config["SESSION_COOKIE_NAME"],
                session.sid,
                httponly=True,
                samesite=app.config["SESSION_COOKIE_SAMESITE"],
                secure=request.is_secure or app.config.get("SESSION_COOKIE_SECURE", False),
                path="/",
            )
            response.vary.add("Cookie")


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
