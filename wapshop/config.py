"""Defaults. Overridden by instance/config.py, then WAPSHOP_* environment variables."""

from datetime import timedelta

from wapshop import renditions


# Signs sessions and CSRF tokens. Good enough for tests and a debug server; create_app refuses
# to start anything else with it (bin/serve writes a random key into instance/config.py).
DEVELOPMENT_SECRET_KEY = "dev-only-not-secret"


class Defaults:
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
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
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed
    # (werkzeug's ProxyFix). 0: nobody's, so a forged X-Forwarded-Proto changes nothing. Behind
    # one nginx set 1 (WAPSHOP_TRUSTED_PROXY_HOPS=1); the session cookie is Secure over HTTPS.
    TRUSTED_PROXY_HOPS = 0
    # Operator gateways that may pre-fill the phone field from x-up-calling-line-id.
    TRUSTED_GATEWAYS: tuple = ()
    # Items per list page, per rendition (feature phones get short pages).
    PAGE_SIZE = dict(renditions.PAGE_SIZE)
    WTF_CSRF_TIME_LIMIT = 3600
    # Forms are small; this bounds what a request body may cost us to parse.
    MAX_CONTENT_LENGTH = 256 * 1024
    # Login and order lookup: failures allowed per key and window before refusing.
    THROTTLE_LIMIT = 5
    THROTTLE_ADDR_LIMIT = 30
    THROTTLE_WINDOW = timedelta(minutes=15)
    # SMS codes that prove a phone (registration): life, tries per code, codes per window.
    PHONE_CODE_LIFETIME = timedelta(minutes=10)
    PHONE_CODE_ATTEMPTS = 5
    PHONE_CODE_PER_PHONE = 3
    PHONE_CODE_PER_ADDR = 10
    SEND_FILE_MAX_AGE_DEFAULT = timedelta(days=365)
    # Paying online. Real processors' URLs and keys belong in instance/config.py; with
    # SANDBOX_PAYMENTS on (bin/serve turns it on for the demo) the project's own sandbox card
    # processor and bank stand in for them, at this server's /sandbox/... when URLs are empty.
    SANDBOX_PAYMENTS = False
    MERCHANT_ID = "wapshop"
    CARD_KEY = ""
    BANK_KEY = ""
    CARD_PROCESSOR_URL = ""
    BANK_GATEWAY_URL = ""
    SANDBOX_CARD_KEY = "sandbox-card-key"
    SANDBOX_BANK_KEY = "sandbox-bank-key"
    SANDBOX_NOTIFY_DELAY = 1.0  # seconds before the sandbox card processor answers
    PAYMENT_TIMEOUT = timedelta(minutes=30)
    # Where processors and buyers reach this shop from outside (scheme://host[:port], no
    # trailing slash). Every outward URL (notify, bank return, sandbox processors) is built
    # from it, never from the request's Host header. Empty: the sandbox demo uses
    # http://<WAPSHOP_BIND> (gunicorn's bind, 127.0.0.1:8000 by default); without sandboxes
    # the online ways to pay stay off until it is set.
    PUBLIC_BASE_URL = ""
    # Seconds a processor's notification stays fresh (its signed timestamp); a stale one is
    # refused (the processor retries, re-signed) unless it repeats what was already taken.
    NOTIFY_MAX_AGE = 600
    # Seconds the link back from the bank shows the payment's state (read-only).
    BANK_RETURN_MAX_AGE = 3600
    # The back office: confirmation calls, settlement, risk, after-sales, SMS.
    CALL_ATTEMPTS = 3
    CALL_RETRY_DELAYS = (timedelta(minutes=30), timedelta(hours=2))
    CALL_DEADLINE = timedelta(hours=24)
    CALL_CLAIM = timedelta(minutes=10)
    COD_FEE_BP = 100  # basis points of the collected amount…
    COD_FEE_MIN_FEN = 200  # …but at least this per parcel
    RISK_CANCELLED_ORDERS = 3
    RISK_DUPLICATE_WINDOW = timedelta(minutes=10)
    RETURN_WINDOW = timedelta(days=7)
    SMS_SENDER = "wapshop.sms:RecordingSender"
    # DemoSender appends every message here (relative paths are inside the instance folder).
    SMS_DEMO_LOG = "sms.log"
    SMS_MAX_ATTEMPTS = 5
    # The catalogue's page cache (web/cache.py), per worker: pages kept, bytes per page, and
    # the longest a page is served (the staleness bound of a deal's units and countdown and of
    # stock moved by sales; an admin's change shows on the next request). 0 turns it off.
    PAGE_CACHE_SECONDS = 3
    PAGE_CACHE_ENTRIES = 500
    PAGE_CACHE_MAX_BYTES = 64 * 1024
    PAGE_CACHE_IN_TESTS = False
    # Funnel page views: each worker writes its in-memory counts every N views or T seconds.
    FUNNEL_FLUSH_EVERY = 200
    FUNNEL_FLUSH_SECONDS = 60
    # Back office (/admin): staff sessions end after this long without a request.
    ADMIN_SESSION_LIFETIME = timedelta(minutes=30)
    ADMIN_PAGE_SIZE = 50
    STOCK_WARNING_THRESHOLD = 50
    # Product image uploads: bytes of the file, and pixels (Pillow's bomb guard is far above).
    ADMIN_IMAGE_MAX_BYTES = 8 * 1024 * 1024
    ADMIN_IMAGE_MAX_PIXELS = 40_000_000
    ADMIN_IMAGE_MAX_SIDE = 10_000
    ADMIN_IMPORT_MAX_BYTES = 16 * 1024 * 1024
    # A web import that needs longer is refused whole (nothing kept), well inside gunicorn's
    # 30 s worker timeout; the command line (flask catalog import) has no limit.
    ADMIN_IMPORT_SECONDS = 20
    # Members and marketing (issue 17; admins change tiers in the back office).
    POINTS_PER_YUAN = 1  # earned per yuan paid for goods on a delivered-and-paid order
    POINTS_CHECKIN = 5  # 签到, once per China day
    POINTS_SHARE = 20  # a purchase through a shared link (no share links yet: not earned)
    POINTS_LIFETIME_YEARS = 1
    # (code, name, cumulative delivered-and-paid spend in fen, discount bp, free shipping,
    # shipping-queue priority, birthday coupon fen)
    MEMBER_TIERS = (
        ("normal", "普通", 0, 0, False, False, 0),
        ("silver", "银卡", 50_000, 0, False, False, 500),
        ("gold", "金卡", 200_000, 200, True, False, 1000),
        ("diamond", "钻石", 500_000, 500, True, True, 2000),
    )
    # RFM: no purchase for this long is 沉睡; "frequent" and "big" from these.
    RFM_SLEEPING_DAYS = 90
    RFM_FREQUENT_ORDERS = 2
    RFM_BIG_SPEND_FEN = 50_000
    # Campaign SMS: at most this many per phone in the window; written in batches.
    CAMPAIGN_PER_PHONE = 1
    CAMPAIGN_WINDOW = timedelta(days=7)
    CAMPAIGN_BATCH = 500
    OPT_OUT_WORDS = ("退订", "TD", "T")
