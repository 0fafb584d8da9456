"""WapShop: a storefront for feature phones and smartphones, and its back office."""

import os
from pathlib import Path

from urllib.parse import quote_from_bytes

from flask import Flask, Request
from werkzeug.middleware.proxy_fix import ProxyFix

from wapshop import cli, sandbox
from wapshop.config import DEVELOPMENT_SECRET_KEY
from wapshop.parsing import IdConverter, safe_location
from wapshop.extensions import babel, db, login, migrate
from wapshop.views import (
    accounts,
    admin,
    aftersales,
    cart,
    catalog,
    checkout,
    deals,
    health,
    media,
    members,
    orders,
    payments,
)
from wapshop.web import errors, hits, logs, pageviews, rendering, sessions, templating
from wapshop.web.i18n import select_locale

ROOT = Path(__file__).resolve().parent.parent

# The user-facing areas, one blueprint each (views/<area>.py, templates/<rendition>/<area>/).
AREAS = (
    catalog,
    deals,
    cart,
    checkout,
    orders,
    aftersales,
    payments,
    accounts,
    members,
    admin,
    media,
    health,
)


class ShopRequest(Request):
    def __init__(self, environ, *args, **kwargs):
        super().__init__(environ, *args, **kwargs)
        # Old phones send a search typed in GBK as raw bytes, unescaped. werkzeug reads the
        # query string as UTF-8 and fails on them (a 500 before any handler); escaped, they
        # decode like any invalid %-escape: to U+FFFD.
        if not self.query_string.isascii():
            self.query_string = quote_from_bytes(self.query_string, safe=QUERY_SAFE).encode()


# Every printable ASCII character stays as it is; only bytes past ASCII are escaped.
QUERY_SAFE = bytes(range(0x20, 0x7F)).decode()


class WapShop(Flask):
    request_class = ShopRequest

    def redirect(self, location: str, code: int = 302):
        """Every redirect (flask.redirect comes here): a target carrying CR/LF or other control
        characters is percent-encoded instead of breaking the response with a 500."""
        return super().redirect(safe_location(location), code)


def create_app(test_config: dict | None = None) -> Flask:
    app = WapShop(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    configure(app, test_config)
    app.url_map.converters["int"] = IdConverter

    # Extensions (wapshop/extensions.py) and logging.
    logs.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login.init_app(app)
    babel.init_app(app, locale_selector=select_locale)

    # The request cycle (wapshop/web/): sessions, template helpers, error pages, page views,
    # then the rendition chosen for each request and every response finished.
    sessions.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    pageviews.init_app(app)
    rendering.init_app(app)

    # The command line (wapshop/cli/).
    cli.init_app(app)

    # The areas (wapshop/views/), and the payment sandboxes when they stand in.
    for area in AREAS:
        app.register_blueprint(area.bp)
    if app.config["SANDBOX_PAYMENTS"]:
        app.register_blueprint(sandbox.bp)

    # Around the cycle: stored pages answered before it (web/hits.py), inside the proxy fix.
    hits.init_app(app)
    hops = int(app.config["TRUSTED_PROXY_HOPS"])
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def configure(app: Flask, test_config: dict | None) -> None:
    """defaults < instance/config.py < WAPSHOP_* environment < the test mapping."""
    app.config.from_object("wapshop.config.Defaults")
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("WAPSHOP")
    if test_config:
        app.config.update(test_config)
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        os.makedirs(app.instance_path, exist_ok=True)
        url = "sqlite:///" + os.path.join(app.instance_path, url.removeprefix("sqlite:///"))
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if app.config["SECRET_KEY"] in ("", None, DEVELOPMENT_SECRET_KEY) and not (
        app.testing or app.debug
    ):
        raise RuntimeError(
            "SECRET_KEY is the development key: set a random one in instance/config.py "
            "or WAPSHOP_SECRET_KEY before serving (bin/serve writes one for the demo)"
        )
    app.config["SMS_DEMO_LOG"] = os.path.join(app.instance_path, app.config["SMS_DEMO_LOG"])
