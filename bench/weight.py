"""Page weight: every buyer page in every rendition against DESIGN.md's budgets.

Measured as a cookie-less phone (the worst case: the sid rides on every link): the first
request picks the rendition with ?ver=, which starts the session; every later URL carries the
sid. Markup bytes as served without and with `Accept-Encoding: gzip`; "total" adds every image
and the stylesheet the page references (as served, each counted once per page).

    .venv/bin/python -m bench.weight
"""

import re
from html import unescape
from urllib.parse import urlsplit


from bench.common import SEARCH_QUERY, demo_pages, hidden_fields, load_demo, machine, make_app
from bench.common import order_form, phone_number, post_action, report, table, workdir
from wapshop.web.sessions import SID_PARAM

# DESIGN.md section 2: (markup, markup + images) budgets in bytes.
BUDGETS = {
    "wml": (2000, None),
    "basic": (6144, None),
    "color": (10240, 20480),
    "touch": (16384, None),
}
_ASSET = re.compile(r'<img [^>]*src="([^"]+)"|<link rel="stylesheet" href="([^"]+)"')


def with_sid(url: str, sid: str) -> str:
    return url if f"{SID_PARAM}=" in url else f"{url}{'&' if '?' in url else '?'}{SID_PARAM}={sid}"


class Weigher:
    def __init__(self, client):
        self.client = client
        self.assets: dict[str, tuple[int, int]] = {}

    def fetch(self, url: str, gzip: bool):
        headers = {"Accept-Encoding": "gzip"} if gzip else {}
        return self.client.get(url, headers=headers)

    def asset(self, url: str) -> tuple[int, int]:
        """Bytes of an image or stylesheet, plain and as served to a gzip-accepting client."""
        if url not in self.assets:
            plain, served = self.fetch(url, False), self.fetch(url, True)
            assert plain.status_code == 200, (url, plain.status_code)
            self.assets[url] = (len(plain.data), len(served.data))
        return self.assets[url]

    def weigh(self, rendition: str, page: str, url: str) -> list:
        plain, served = self.fetch(url, False), self.fetch(url, True)
        markup = plain.get_data(as_text=True)
        assets = {unescape(a or b) for a, b in _ASSET.findall(markup)}
        sizes = [self.asset(a) for a in sorted(assets)]
        total, total_gz = len(plain.data), len(served.data)
        total += sum(s for s, _g in sizes)
        total_gz += sum(g for _s, g in sizes)
        sid_assets = sum(f"{SID_PARAM}=" in urlsplit(a).query for a in assets)
        markup_budget, total_budget = BUDGETS[rendition]
        over = [
            what
            for what, size, budget in (
                ("markup", len(plain.data), markup_budget),
                ("total", total, total_budget),
            )
            if budget and size > budget
        ]
        return [
            rendition,
            page,
            plain.status_code,
            len(plain.data),
            len(served.data),
            len(assets),
            sid_assets,
            total,
            total_gz,
            markup_budget,
            total_budget,
            "OVER " + "+".join(over) if over else "ok",
        ]


def weigh_rendition(app, rendition: str, pages: dict[str, str], n: int) -> list[list]:
    client = app.test_client(use_cookies=False)
    first = client.get(f"/?{'ver'}={rendition}")
    sid = re.search(rf"[?&;]{SID_PARAM}=([\w-]+)", first.get_data(as_text=True)).group(1)
    weigher = Weigher(client)
    rows = [weigher.weigh(rendition, page, with_sid(url, sid)) for page, url in pages.items()]
    confirmation = client.get(with_sid(pages["confirmation"], sid)).get_data(as_text=True)
    assert hidden_fields(confirmation), "no form on the confirmation page"
    placed = client.post(post_action(confirmation), data=order_form(confirmation, phone_number(n)))
    assert placed.status_code == 303, (rendition, placed.status_code, placed.data[:500])
    placed_url = placed.headers["Location"]
    number = re.search(r"/buy/done/(\d+)", placed_url).group(1)
    for page, url in (("placed", placed_url), ("order", f"/o/{number}"), ("orders", "/o")):
        rows.append(weigher.weigh(rendition, page, with_sid(url, sid)))
    return rows


def main() -> None:
    with workdir() as tmp:
        app = make_app(f"sqlite:///{tmp / 'weight.sqlite'}", tmp)
        load_demo(app)
        pages = demo_pages(app)
        rows = []
        for n, rendition in enumerate(BUDGETS):
            rows += weigh_rendition(app, rendition, pages, n)
    headers = [
        "rendition",
        "page",
        "status",
        "markup B",
        "markup gz B",
        "assets",
        "assets w/ sid",
        "total B",
        "total gz B",
        "markup budget",
        "total budget",
        "verdict",
    ]
    report(
        table(f"Page weight (cookie-less, sid in links; search q={SEARCH_QUERY})", headers, rows),
        "",
        machine(),
    )


if __name__ == "__main__":
    main()
