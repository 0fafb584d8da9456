"""What every benchmark shares: fresh databases, the app and gunicorn on 127.0.0.1, a small
HTTP client that keeps the session cookie, and tables.

Nothing here touches instance/: databases and media live in a temporary directory, and
PostgreSQL runs in a throwaway cluster (bin/pg-test-cluster) that is stopped at the end."""

import contextlib
import gzip
import html
import http.client
import math
import os
import platform
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from http.cookies import SimpleCookie
from itertools import count
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from flask import Flask
from sqlalchemy import create_engine, func, select, text

from wapshop import ROOT, create_app
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Databases -----------------------------------------------------------------------------


def on_cpus(cpus: set[int] | None):
    """A preexec_fn keeping a server process (and what it forks) on `cpus`; None: all."""
    return None if cpus is None else lambda: os.sched_setaffinity(0, cpus)


def split_cpus(app_cpus: int | None) -> tuple[set[int] | None, set[int] | None]:
    """(the app servers' CPUs, everything else's) when the app servers get `app_cpus` of this
    machine's CPUs to themselves, as on their own machine; (None, None): all share all."""
    if not app_cpus:
        return None, None
    mine = sorted(os.sched_getaffinity(0))
    if not 0 < app_cpus < len(mine):
        raise SystemExit(f"--app-cpus: between 1 and {len(mine) - 1} on this machine")
    return set(mine[:app_cpus]), set(mine[app_cpus:])


class Databases:
    """Fresh, empty databases for one run: SQLite files in `workdir`, or PostgreSQL databases
    in one throwaway cluster, started on first use and stopped (and deleted) by close()."""

    def __init__(self, workdir: Path, cpus: set[int] | None = None):
        self.workdir = workdir
        self.cpus = cpus  # the CPUs the server may run on (None: all)
        self._cluster: str | None = None
        self._admin_url: str | None = None
        self._names = count(1)

    def new(self, kind: str) -> str:
        name = f"bench{next(self._names)}"
        if kind == "sqlite":
            return f"sqlite:///{self.workdir / name}.sqlite"
        if kind != "postgres":
            raise ValueError(f"unknown database kind {kind!r}")
        if self._admin_url is None:
            self._start_cluster()
        engine = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        engine.dispose()
        return self._admin_url.rsplit("/", 1)[0] + "/" + name

    def _start_cluster(self) -> None:
        script = ROOT / "bin" / "pg-test-cluster"
        if not script.exists():
            raise SystemExit("PostgreSQL needs bin/pg-test-cluster (and the server binaries)")
        exports = subprocess.run(
            [str(script), "start"],
            check=True,
            capture_output=True,
            text=True,
            preexec_fn=on_cpus(self.cpus),
        ).stdout
        values = dict(re.findall(r"export (\w+)=(\S+)", exports))
        self._cluster = values["WAPSHOP_PG_CLUSTER"]
        self._admin_url = values["WAPSHOP_TEST_DATABASE_URL"]

    def server_cpu(self) -> float:
        """CPU seconds (user + system) the PostgreSQL cluster's processes have used so far:
        the postmaster and every process it started (backends, writers). 0 without one."""
        if not self._cluster:
            return 0.0
        pid_file = Path(self._cluster) / "data" / "postmaster.pid"
        postmaster = pid_file.read_text().split()[0]
        used = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if entry.name == postmaster or fields[1] == postmaster:  # fields[1]: the parent
                used += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
        return used / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        if self._cluster:
            subprocess.run(
                [str(ROOT / "bin" / "pg-test-cluster"), "stop", self._cluster],
                check=False,
                capture_output=True,
            )
            self._cluster = self._admin_url = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


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


# --- gunicorn ------------------------------------------------------------------------------


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py <target>` on a free 127.0.0.1 port, production settings
    (workers from WAPSHOP_WORKERS or 2 x cores + 1), the access log in a file we can count."""

    def __init__(
        self, target: str, workdir: Path, app: Flask | None = None, workers=None, cpus=None
    ):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.access_log = workdir / f"access-{port}.log"
        self.error_log = workdir / f"error-{port}.log"
        env = {
            **os.environ,
            "WAPSHOP_BIND": f"127.0.0.1:{port}",
            "WAPSHOP_ACCESS_LOG": str(self.access_log),
        }
        if workers:
            env["WAPSHOP_WORKERS"] = str(workers)
        if app is not None:
            env.update(
                WAPSHOP_DATABASE_URL=app.config["DATABASE_URL"],
                WAPSHOP_SECRET_KEY=app.config["SECRET_KEY"],
            )
        self._stderr = open(self.error_log, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", target],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            preexec_fn=on_cpus(cpus),
        )
        self._log_offset = 0
        try:
            self._wait_until_serving()
        except BaseException:
            self.stop()
            raise

    def _wait_until_serving(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.error_log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                status, _h, _b = Browser(self.url).get("/")
                if status < 500:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not serve within {seconds} s")

    def settle(self, quiet: float = 1.0, limit: float = 120) -> None:
        """Wait until the access log stops growing: requests a load generator left queued when
        it exited are still served, and must not count towards the next measurement."""
        deadline = time.monotonic() + limit
        size = -1
        while time.monotonic() < deadline and size != self.access_log.stat().st_size:
            size = self.access_log.stat().st_size
            time.sleep(quiet)

    def statuses(self) -> dict[int, int]:
        """Responses by status code since the last call, from the access log."""
        with open(self.access_log, "rb") as log:
            log.seek(self._log_offset)
            chunk = log.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._log_offset += len(complete)
        found: dict[int, int] = {}
        for code in re.findall(rb'" (\d{3}) ', complete):
            found[int(code)] = found.get(int(code), 0) + 1
        return found

    def tracebacks(self) -> int:
        return self.error_log.read_text(errors="replace").count("Traceback (most recent call")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Stack(Gunicorn):
    """deploy/stack: nginx in front of `instances` gunicorn instances (each `workers` workers)
    over the app's database, already set up. Counts statuses from nginx's access log."""

    def __init__(self, app: Flask, workdir: Path, instances: int, workers=None):
        self.dir = workdir / f"stack-{instances}"
        self.command = [sys.executable, str(ROOT / "deploy" / "stack")]
        options = ["--dir", str(self.dir), "--no-setup", "--instances", str(instances),
                   "--database-url", app.config["DATABASE_URL"]]  # fmt: skip
        if workers:
            options += ["--workers", str(workers)]
        started = subprocess.run(
            [*self.command, "start", *options], capture_output=True, text=True, timeout=300
        )
        if started.returncode:
            raise RuntimeError(f"deploy/stack did not start:\n{started.stdout}{started.stderr}")
        self.url = started.stdout.splitlines()[-1]
        self.access_log = self.dir / "nginx-access.log"
        self._log_offset = 0

    def tracebacks(self) -> int:
        return sum(
            log.read_text(errors="replace").count("Traceback (most recent call")
            for log in self.dir.glob("instance-*.log")
        )

    def stop(self) -> None:
        if (self.dir / "stack.json").exists():
            subprocess.run([*self.command, "stop", "--dir", str(self.dir)], capture_output=True)


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
