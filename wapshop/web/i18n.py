"""Chinese by default; English through the message catalogues in wapshop/translations."""

from flask import current_app, has_request_context, request, session

LANG_PARAM = "lang"


def select_locale() -> str:
    """?lang= (remembered in the session) → the session → the default, zh_CN."""
    if not has_request_context():  # commands, the SMS outbox: the shop's own language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    chosen = request.args.get(LANG_PARAM)
    if chosen in languages:
        if session.get(LANG_PARAM) != chosen:
            session[LANG_PARAM] = chosen
        return chosen
    return session.get(LANG_PARAM) or current_app.config["BABEL_DEFAULT_LOCALE"]
