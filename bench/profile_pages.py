"""cProfile of the buyer pages in-process (Flask test client), page cache off and on.

    .venv/bin/python -m bench.profile_pages [--requests 300] [--db sqlite|postgres] [--top 15]

Each page of `bench.throughput` (home, category, product; wml, basic, color, touch) is asked
`--requests` times by a cookie-less client through the whole Flask cycle (session, rendition,
view, after-request hooks, gzip); the table gives microseconds per request with the cache off
and on (and on with a sid in the URL), the ratio to the bare Flask app (bench/bare_app.py)
through the same test client, then the top functions (cumulative time) of the home page on `basic` for each."""

import argparse
import cProfile
import gzip
import io
import re
import pstats
import time

from bench.common import UA, load_demo, machine, make_app, report, table, workdir
from bench.bare_app import app as bare_app
from bench.common import demo_pages
from bench.servers import Databases
from wapshop import create_app

PAGES = ("home", "category", "product")
SID = re.compile(r"[?&;]sid=([\w-]{16})")
RENDITIONS = ("wml", "basic", "color", "touch")


BATCHES = 5


def timed(client, path: str, headers: dict, requests: int) -> float:
    """µs per request: the best of BATCHES batches (the machine is shared: the least disturbed
    batch is the closest to what the code costs)."""
    client.get(path, headers=headers)  # the first one fills the cache
    best = float("inf")
    for _batch in range(BATCHES):
        started = time.perf_counter()
        for _ in range(max(1, requests // BATCHES)):
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.status_code)
        best = min(best, (time.perf_counter() - started) / max(1, requests // BATCHES))
    return best * 1e6


def profile_text(client, path: str, headers: dict, requests: int, top: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        client.get(path, headers=headers)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    with workdir() as tmp, Databases(tmp) as databases:
        app = make_app(databases.new(args.db), tmp, TESTING=True)  # no funnel flush at exit
        load_demo(app)
        pages = demo_pages(app)
        apps = {
            cached: create_app(
                {
                    "SECRET_KEY": app.config["SECRET_KEY"],
                    "DATABASE_URL": app.config["DATABASE_URL"],
                    "PAGE_CACHE_SECONDS": 3600 if cached else 0,
                    "TESTING": True,
                    "PAGE_CACHE_IN_TESTS": True,
                }
            )
            for cached in (False, True)
        }
        rows = []
        bare = timed(bare_app.test_client(), "/", {}, args.requests)
        for page in PAGES:
            for rendition in RENDITIONS:
                headers = {"User-Agent": UA[rendition], "Accept-Encoding": "gzip"}
                client = apps[True].test_client(use_cookies=False)
                start = client.get(f"/?ver={rendition}", headers=headers).get_data()
                sid = SID.search(gzip.decompress(start).decode()).group(1)
                sep = "&" if "?" in pages[page] else "?"
                cost = {
                    cached: timed(
                        the_app.test_client(use_cookies=False), pages[page], headers, args.requests
                    )
                    for cached, the_app in apps.items()
                }
                with_sid = timed(client, f"{pages[page]}{sep}sid={sid}", headers, args.requests)
                rows.append(
                    [
                        page,
                        rendition,
                        cost[False],
                        cost[True],
                        with_sid,
                        cost[False] / cost[True],
                        bare / cost[True],
                        bare / with_sid,
                    ]
                )
        rows.append(["bare Flask app", "–", bare, bare, None, None, 1.0, None])
        headers = {"User-Agent": UA["basic"], "Accept-Encoding": "gzip"}
        profiles = [
            f"\n### Profile, home on basic, cache {'on' if cached else 'off'} "
            f"({args.requests} requests)\n\n```\n"
            + profile_text(
                the_app.test_client(use_cookies=False), "/", headers, args.requests, args.top
            )  # fmt: skip
            + "```"
            for cached, the_app in apps.items()
        ]
    report(
        table(
            f"In-process cost per request on {args.db} (Flask test client, cookie-less)",
            [
                "page",
                "rendition",
                "µs, cache off",
                "µs, cache on",
                "µs, on, sid in URL",
                "x faster",
                "x bare",
                "x bare, sid",
            ],  # fmt: skip
            rows,
        ),
        *profiles,
        machine(),
    )


if __name__ == "__main__":
    main()
