"""Defaults. Overridden by instance/config.py, then WAPSHOP_* environment variables."""

from datetime import timedelta


class Defaults:
    # instance/config.py must set a real one in production; the demo runner writes one.
    SECRET_KEY = "dev-only-not-secret"
    # Relative SQLite paths resolve inside the instance folder (see create_app).
    DATABASE_URL = "sqlite:///wapshop.sqlite"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")
    SHOP_NAME = "WapShop"
    HOTLINE = "400-820-8820"
    # Sessions travel in a cookie, or as ?sid= when the client drops cookies.
    SESSION_COOKIE_NAME = "wsid"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_LIFETIME = timedelta(hours=2)
    # Operator gateways that may pre-fill the phone field from x-up-calling-line-id.
    TRUSTED_GATEWAYS: tuple = ()
    # Items per list page, per rendition: feature phones get short pages.
    PAGE_SIZE = {"wml": 4, "basic": 8, "color": 8, "touch": 20}
    WTF_CSRF_TIME_LIMIT = 3600
    # Forms are small; this bounds what a request body may cost us to parse.
    MAX_CONTENT_LENGTH = 256 * 1024
    # Login and order lookup: failures allowed per key and window before refusing.
    THROTTLE_LIMIT = 5
    THROTTLE_ADDR_LIMIT = 30
    THROTTLE_WINDOW = timedelta(minutes=15)
    SEND_FILE_MAX_AGE_DEFAULT = timedelta(days=365)
