"""What every benchmark shares besides its servers (bench/servers.py): the app on a fresh
database with the demo data, a small HTTP client that keeps the session cookie, the order
form, tables and the machine's description.

Nothing here touches instance/: databases and media live in a temporary directory."""

import contextlib
import gzip
import html
import http.client
import math
import os
import platform
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
from datetime import date
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from flask import Flask
from sqlalchemy import func, select

from wapshop import create_app
from wapshop.extensions import db
from wapshop.models import Category, Deal, Product, Variant
from wapshop.clock import utcnow
from wapshop.renditions import ALL_RENDITIONS

# User-Agents that wapshop.web.devices maps to these renditions (bench.throughput checks it), so
# load generators that keep no cookies get a rendition without a session row per request.
UA = {
    "wml": "Nokia7110/1.0 (05.01)",
    "basic": "SonyEricssonT610/R201 Profile/MIDP-1.0 Configuration/CLDC-1.0",
    "touch": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 6_1 like Mac OS X) AppleWebKit/536.26 "
        "(KHTML, like Gecko) Version/6.0 Mobile/10B143 Safari/8536.25"
    ),
    "color": "Nokia6300/2.0 (05.00) Profile/MIDP-2.0 Configuration/CLDC-1.1",
}
COD_DISTRICT = "110105"  # 北京市朝阳区: 顺丰 collects cash there
SESSION_COOKIE = "wsid"
SEARCH_QUERY = "手机"


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so `with` blocks stop servers and clusters on the way out."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def make_app(database_url: str, workdir: Path, **config) -> Flask:
    """The shop on `database_url`, schema made by the migrations (as `flask setup` does)."""
    from flask_migrate import upgrade

    app = create_app(
        {
            "SECRET_KEY": "bench-not-secret",
            "DATABASE_URL": database_url,
            **config,
        }
    )
    with app.app_context():
        upgrade()
    return app


def load_demo(app: Flask) -> None:
    from wapshop.services import demo

    with app.app_context():
        demo.load_demo()
        db.session.commit()


def demo_pages(app) -> dict[str, str]:
    """Buyer pages of the demo: the first top category, a running deal's product (shown to every
    rendition), a plain product with stock and an image, its region picker and confirmation."""
    now = utcnow()
    with app.app_context():
        top = db.session.scalar(select(Category).where(Category.parent_id.is_(None)).limit(1))
        deal = next(
            d
            for d in db.session.scalars(select(Deal).order_by(Deal.position))
            if d.running_at(now) and d.remaining > 0 and d.renditions == ALL_RENDITIONS
        )
        dealt = select(Deal.product_id)
        # Sold in one form (one variant): the confirmation needs no size chosen first.
        one_form = select(Variant.product_id).group_by(Variant.product_id).having(func.count() == 1)
        plain = db.session.scalar(
            select(Product)
            .where(
                Product.id.not_in(dealt),
                Product.id.in_(one_form),
                Product.stock > 100,
                Product.image.is_not(None),
            )
            .order_by(Product.id)
            .limit(1)
        )
        return {
            "home": "/",
            "category": f"/c/{top.id}",
            "product with deal": f"/p/{deal.product_id}",
            "product": f"/p/{plain.id}",
            "search": f"/s?q={quote(SEARCH_QUERY)}",
            "region picker": f"/buy/{plain.id}",
            "confirmation": f"/buy/{plain.id}?region={COD_DISTRICT}",
        }


# --- A buyer's browser ---------------------------------------------------------------------


class Browser:
    """One HTTP/1.1 client on one host, keeping the session cookie like a phone that has them.

    Methods return (status, headers, body text); redirects are not followed."""

    def __init__(self, base_url: str, user_agent: str = UA["basic"], timeout: float = 60):
        parts = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        self.user_agent = user_agent
        self.cookie: str | None = None

    def request(self, method: str, path: str, form: dict | None = None):
        headers = {"User-Agent": self.user_agent}
        if self.cookie:
            headers["Cookie"] = f"{SESSION_COOKIE}={self.cookie}"
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body, headers)
            response = self.conn.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()  # the next request opens a new connection
            raise
        if response.will_close:  # gunicorn's sync workers close after every response
            self.conn.close()
        for header in response.headers.get_all("Set-Cookie") or ():
            jar = SimpleCookie(header)
            if SESSION_COOKIE in jar:
                self.cookie = jar[SESSION_COOKIE].value
        if response.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        return response.status, response.headers, data.decode("utf-8", "replace")

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, form: dict):
        return self.request("POST", path, form)

    def close(self) -> None:
        self.conn.close()


_TAG = re.compile(r"<(input|postfield)\b([^>]*)>", re.I)
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden fields of a page's form: XHTML/HTML <input type=hidden>, WML <postfield>."""
    found = {}
    for tag, attrs in _TAG.findall(page):
        a = dict(_ATTR.findall(attrs))
        value = html.unescape(a.get("value", ""))
        if tag.lower() == "postfield" and not value.startswith("$("):
            found[a["name"]] = value.replace("$$", "$")
        elif a.get("type") == "hidden" and "name" in a:
            found[a["name"]] = value
    return found


def post_action(page: str) -> str:
    """Where the page's POST form goes: <form action method=post> or WML <go href method=post>."""
    for tag, attrs in re.findall(r"<(form|go)\b([^>]*)>", page):
        a = dict(_ATTR.findall(attrs))
        if a.get("method") == "post":
            return html.unescape(a["action" if tag == "form" else "href"])
    raise ValueError("no POST form on the page")


def order_form(page: str, phone: str, quantity: int = 1) -> dict[str, str]:
    """The confirmation form as a buyer fills it in (the region was picked in the URL)."""
    return {
        **hidden_fields(page),
        "quantity": str(quantity),
        "name": "张三",
        "phone": phone,
        "street": "建国路88号",
        "payment": "cod",
    }


def phone_number(n: int) -> str:
    """A distinct valid mainland mobile number for each n < 10**8."""
    return f"139{n:08d}"


# --- Measuring and reporting ---------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def table(title: str, headers: list[str], rows: list[list]) -> str:
    """A Markdown table (it reads as plain text too), numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    right = [all(_is_number(r[i]) or r[i] is None for r in rows) for i in range(len(headers))]

    def line(row):
        padded = (c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right))
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 1) + (":" if r else "-") for w, r in zip(widths, right))
    return "\n".join([f"\n### {title}\n", line(cells[0]), rule + "|", *map(line, cells[1:])])


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews every figure."""
    return Path("/proc/loadavg").read_text().split()[0]


def machine() -> str:
    """One line saying what the figures were measured on."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    postgres = _postgres_version()
    return (
        f"{date.today()}: {os.cpu_count()} CPUs ({cpu}), {mem_kb / 2**20:.0f} GiB RAM, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
        + (f", PostgreSQL {postgres}" if postgres else "")
    )


def _postgres_version() -> str | None:
    bins = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parts[-3])],
    )
    if not bins:
        return None
    out = subprocess.run([str(bins[-1]), "--version"], capture_output=True, text=True).stdout
    found = re.search(r"\(PostgreSQL\) (\S+)", out)
    return found.group(1) if found else None


def report(*parts: str) -> None:
    print(*parts, sep="\n", flush=True)


@contextlib.contextmanager
def workdir():
    """A temporary directory for databases, media and logs, deleted at the end."""
    stop_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="wapshop-bench-") as path:
        yield Path(path)
