"""A worker's resident size after many mixed requests, and the caches' sizes.

    .venv/bin/python -m bench.memory [--requests 10000] [--db sqlite|postgres]

In-process (one process is one gunicorn worker): the demo shop, then --requests requests
mixing every rendition, cookie-less clients and phones with a sid, home, categories and their
pages, products, searches for many different words (each a new page to cache), the
confirmation page. Prints RSS (VmRSS) after start, after the first 1,000 and at the end, with
the page cache's, the kept answers' (web/hits.py) and the gzip cache's entries: all bounded, so
RSS levels off."""

import argparse
import random
import re
from urllib.parse import quote

from sqlalchemy import select

from bench.common import UA, load_demo, machine, make_app, report, table, workdir
from bench.common import COD_DISTRICT
from bench.servers import Databases
from wapshop.extensions import db
from wapshop.models import Category, Product
from wapshop.web import hits, rendering

WORDS = "手机 老人 充电 蓝牙 耳机 收音机 红 黑 大 小 新款 正品 包邮 特价 按键 双卡".split()


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    rng = random.Random(18)
    rows = []
    with workdir() as tmp, Databases(tmp) as databases:
        # TESTING: no funnel flush at exit (the database is gone by then); the cache stays on.
        app = make_app(databases.new(args.db), tmp, TESTING=True, PAGE_CACHE_IN_TESTS=True)
        load_demo(app)
        with app.app_context():
            categories = db.session.scalars(select(Category.id)).all()
            products = db.session.scalars(select(Product.id).limit(300)).all()
            db.session.remove()
        cache, answers = app.extensions["page_cache"], app.extensions[hits.ANSWERS]
        client = app.test_client(use_cookies=False)
        sids = {}
        for rendition in UA:
            page = client.get(f"/?ver={rendition}", headers={"User-Agent": UA[rendition]}).text
            sids[rendition] = re.search(r"sid=([\w-]{16})", page).group(1)
        sizes = lambda: [len(cache), len(answers), len(rendering._gzipped)]  # noqa: E731
        rows.append(["started", 0, rss_kib(), *sizes()])
        statuses: dict[int, int] = {}
        for n in range(1, args.requests + 1):
            rendition = rng.choice(list(UA))
            kind = rng.random()
            if kind < 0.2:
                path = "/"
            elif kind < 0.45:
                path = f"/c/{rng.choice(categories)}?page={rng.randint(1, 3)}"
            elif kind < 0.75:
                path = f"/p/{rng.choice(products)}"
            elif kind < 0.95:
                words = rng.sample(WORDS, 2)
                path = f"/s?q={quote(' '.join(words))}{rng.randint(0, 50)}"
            else:
                path = f"/buy/{rng.choice(products)}?region={COD_DISTRICT}"
            if rng.random() < 0.5:
                path += ("&" if "?" in path else "?") + f"sid={sids[rendition]}"
            headers = {"User-Agent": UA[rendition], "Accept-Encoding": "gzip"}
            status = client.get(path, headers=headers).status_code
            statuses[status] = statuses.get(status, 0) + 1
            if n in (1_000, args.requests // 2, args.requests):
                rows.append([f"after {n:,}", n, rss_kib(), *sizes()])
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    report(
        table(
            f"Resident size of one worker on {args.db} (in-process, mixed requests)",
            ["when", "requests", "RSS KiB", "pages cached", "answers kept", "gzip cached"],
            rows,
        ),
        "statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())),
        f"bounds: page cache {cache.entries} pages of <= {cache.max_bytes:,} B, answers "
        f"{answers.entries} of <= {answers.max_bytes:,} B, gzip "
        f"{rendering.GZIP_ENTRIES} of <= {rendering.GZIP_MAX_BYTES:,} B",
        machine(),
    )


if __name__ == "__main__":
    main()
