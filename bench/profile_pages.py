"""cProfile of the buyer pages in-process (Flask test client), page cache off and on.

    .venv/bin/python -m bench.profile_pages [--requests 300] [--db sqlite|postgres] [--top 15]

Each page of `bench.throughput` (home, category, product; wml, basic, color, touch) is asked
`--requests` times by a cookie-less client through the whole Flask cycle (session, rendition,
view, after-request hooks, gzip); the table gives microseconds per request with the cache off
and on, then the top functions (cumulative time) of the home page on `basic` for each."""

import argparse
import cProfile
import io
import pstats
import time

from bench.common import UA, Databases, load_demo, machine, make_app, report, table, workdir
from bench.common import demo_pages
from wapshop import create_app

PAGES = ("home", "category", "product")
RENDITIONS = ("wml", "basic", "color", "touch")


def timed(client, path: str, headers: dict, requests: int) -> float:
    client.get(path, headers=headers)  # the first one fills the cache
    started = time.perf_counter()
    for _ in range(requests):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.status_code)
    return (time.perf_counter() - started) / requests * 1e6


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
        app = make_app(databases.new(args.db), tmp)
        load_demo(app)
        pages = demo_pages(app)
        apps = {
            cached: create_app(
                {
                    "SECRET_KEY": app.config["SECRET_KEY"],
                    "DATABASE_URL": app.config["DATABASE_URL"],
                    "PAGE_CACHE_SECONDS": 3600 if cached else 0,
                }
            )
            for cached in (False, True)
        }
        rows = []
        for page in PAGES:
            for rendition in RENDITIONS:
                headers = {"User-Agent": UA[rendition], "Accept-Encoding": "gzip"}
                cost = {
                    cached: timed(
                        the_app.test_client(use_cookies=False), pages[page], headers, args.requests
                    )  # fmt: skip
                    for cached, the_app in apps.items()
                }
                rows.append([page, rendition, cost[False], cost[True], cost[False] / cost[True]])
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
            ["page", "rendition", "µs, cache off", "µs, cache on", "x faster"],
            rows,
        ),
        *profiles,
        machine(),
    )


if __name__ == "__main__":
    main()
