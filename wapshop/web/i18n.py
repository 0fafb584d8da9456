"""Chinese by default; English through the message catalogues in wapshop/translations."""

from functools import cache

from babel import Locale
from flask import current_app, has_request_context, request, session

from wapshop.parsing import present_arg

LANG_PARAM = "lang"


@cache
def _locale(code: str) -> Locale:
    """Parsed once per process: flask_babel parses what the selector returns on every request
    (a directory listing of Babel's locale data each time), unless it is already a Locale."""
    return Locale.parse(code)


def select_locale() -> Locale:
    """?lang= (remembered in the session) → the session → the default, zh_CN."""
    return _locale(locale_code())


def locale_code() -> str:
    """The chosen language's code (what select_locale parses; the page cache keys on it)."""
    if not has_request_context():  # commands, the SMS outbox: the shop's own language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    chosen = present_arg(request.args, LANG_PARAM)
    if chosen in languages:
        if session.get(LANG_PARAM) != chosen:
            session[LANG_PARAM] = chosen
        return chosen
    return remembered_locale(session)


def remembered_locale(sess) -> str:
    """The language a session holds (the default when none), before any ?lang=."""
    return sess.get(LANG_PARAM) or current_app.config["BABEL_DEFAULT_LOCALE"]
