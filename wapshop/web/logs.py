"""Structured logs: one JSON object per line on stderr, easy to ship and query; and the
gunicorn access log, with the secrets URLs carry (the sid, the bank return's token) removed."""

import json
import logging
import sys
from urllib.parse import unquote_plus

from flask import has_request_context, request
from gunicorn.glogging import Logger as GunicornLogger

# Query parameters that are passwords: a sid, the bank return's token. Never logged.
SECRET_PARAMS = frozenset({"sid", "t", "token", "password", "code"})
_URL_ATOMS = ("r", "q", "f", "{referer}i", "{location}o")
_URL_ENVIRON = ("raw_uri", "query_string", "request_uri", "http_referer")
_COOKIE_ATOMS = ("{cookie}i", "{set-cookie}o", "{http_cookie}e")


def scrub_query(query: str) -> str:
    """A query string without the secret parameters (however their names are escaped)."""
    return "&".join(
        part
        for part in query.split("&")
        if part and unquote_plus(part.split("=", 1)[0]) not in SECRET_PARAMS
    )


def scrub_url(url: str) -> str:
    """A URL, a path or a request line ("GET /o?sid=… HTTP/1.1") with the secret parameters
    removed from its query."""
    head, sep, rest = url.partition("?")
    if not sep:
        return url
    query, space, tail = rest.partition(" ")
    kept = scrub_query(query)
    return head + (f"?{kept}" if kept else "") + space + tail


class AccessLogger(GunicornLogger):
    """gunicorn's logger whose access-log atoms never show a secret: every atom that holds a
    URL (the request line, the query, the Referer, a redirect's Location) is scrubbed, and
    cookies are never logged, whatever access_log_format asks for."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name in (*_URL_ATOMS, *(f"{{{key}}}e" for key in _URL_ENVIRON)):
            if isinstance(atoms.get(name), str):
                atoms[name] = scrub_url(atoms[name]) if name != "q" else scrub_query(atoms[name])
        atoms["{query_string}e"] = atoms["q"]
        for name in _COOKIE_ATOMS:
            atoms[name] = "-"
        return atoms


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if has_request_context():
            entry.update(method=request.method, path=request.path, addr=request.remote_addr)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def init_app(app) -> None:
    if app.testing:
        return  # pytest captures plain records
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("wapshop")
    root.handlers[:] = [handler]
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    app.logger.handlers[:] = [handler]
