"""One free-text address line ("张三 广东深圳南山区科技园1号 13800138000") → province/city/
district from our GB/T 2260 table, plus the street. When the text fits more than one district
(朝阳区 is in 北京 and in 长春), the caller asks the buyer among `candidates` instead of guessing.

The names index is built once per process from data/regions.tsv, the file the `regions` table
is loaded from; only the matched codes are read back from the database (one query).

Our own table rather than a PyPI parser: cpca 0.5.5 (last release 2021, pulls in pandas), run on
tests/data/addresses.tsv, placed 76.6% of the lines and silently picked one district for every
one of the 47 ambiguous lines (e.g. 朝阳区 alone), with its own vintage of codes (4 not ours)."""

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import select

from wapshop.extensions import db
from wapshop.models import Region
from wapshop.services.reference import REGIONS_TSV

DISTRICT = 3
# Only the head of the text can name the region: a 10 KB paste is not scanned whole.
HEAD = 80
SHORTEST_ALIAS = 2

ETHNIC = (
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 "
    "水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 "
    "乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺 各"
).split()
_ETHNIC = "|".join(sorted(ETHNIC, key=len, reverse=True))
# 恩施土家族苗族自治州 → 恩施 (and 恩施州), 广西壮族自治区 → 广西, 长阳土家族自治县 → 长阳.
_AUTONOMOUS = re.compile(rf"^(.+?)(?:(?:{_ETHNIC})族)*自治(?:区|州|县|旗)$")
# Longest suffix first: 浦东新区 → 浦东, 神农架林区 → 神农架, 阿克苏地区 → 阿克苏.
_SUFFIXES = ("特别行政区", "新区", "林区", "地区", "省", "市", "区", "县", "盟", "旗")
# Phone numbers (mobile, landline) and ZIP codes mixed into the line; digits glued to other
# digits are a house number, not a ZIP.
_NOISE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{6})(?!\d)")
_SEPARATOR = re.compile(r"[\s,，。.;；:：、/\\|()（）\[\]【】<>《》\"'“”‘’#＃\-—_*~·]+")
_LABELS = re.compile(r"(?:收货人|收件人|联系人|收货地址|详细地址|地址|电话|手机|邮编)")
_EDGE = " ,，。;；:：、-—_"


@dataclass(frozen=True)
class ParsedAddress:
    region: Region | None  # the one district the text names, else None
    candidates: list[Region] = field(default_factory=list)  # when ambiguous: ask among these
    street: str = ""  # the text after the region names


@dataclass(frozen=True)
class _Table:
    aliases: dict[str, frozenset[str]]  # a name as written → the codes it may mean
    ancestors: dict[str, frozenset[str]]  # code → the codes above it
    level: dict[str, int]
    districts_under: dict[str, frozenset[str]]  # a city or province → its districts
    longest: int


def aliases_of(name: str) -> set[str]:
    """The ways people write a region's name: in full, and without its 省/市/区/县/自治州…
    (never shorter than two characters)."""
    if "直辖" in name:
        return set()
    names = {name}
    autonomous = _AUTONOMOUS.match(name)
    if autonomous:
        names.add(autonomous.group(1))
        if name.endswith("自治州"):
            names.add(autonomous.group(1) + "州")  # 延边州, 恩施州
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            names.add(name[: -len(suffix)])
            break
    return {n for n in names if len(n) >= SHORTEST_ALIAS}


@cache
def _table() -> _Table:
    with REGIONS_TSV.open(encoding="utf-8", newline="") as tsv:
        rows = list(csv.DictReader(tsv, delimiter="\t"))
    parent = {r["code"]: r["parent_code"] or None for r in rows}
    level = {r["code"]: int(r["level"]) for r in rows}
    aliases: dict[str, set[str]] = {}
    for row in rows:
        for alias in aliases_of(row["name"]):
            aliases.setdefault(alias, set()).add(row["code"])
    ancestors = {}
    districts_under: dict[str, set[str]] = {}
    for code in parent:
        chain, up = [], parent[code]
        while up:
            chain.append(up)
            up = parent[up]
        ancestors[code] = frozenset(chain)
        if level[code] == DISTRICT:
            for above in chain:
                districts_under.setdefault(above, set()).add(code)
    return _Table(
        aliases={k: frozenset(v) for k, v in aliases.items()},
        ancestors=ancestors,
        level=level,
        districts_under={k: frozenset(v) for k, v in districts_under.items()},
        longest=max(len(a) for a in aliases),
    )


def _clean(text: str) -> tuple[str, str, list[int]]:
    """The text made comparable (NFKC, no control characters, phones and ZIPs blanked), and its
    head without separators or labels with, for each kept character, its index in the text."""
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)
    text = _NOISE.sub(lambda m: " " * len(m.group()), text)
    text = _LABELS.sub(lambda m: " " * len(m.group()), text)
    kept, where = [], []
    for i, c in enumerate(text):
        if len(kept) >= HEAD:
            break
        if not _SEPARATOR.fullmatch(c):
            kept.append(c)
            where.append(i)
    return text, "".join(kept), where


def _matches(head: str, table: _Table) -> dict[int, list[tuple[int, frozenset[str]]]]:
    """Every alias found in the head: start → [(end, codes)], longest first."""
    found: dict[int, list[tuple[int, frozenset[str]]]] = {}
    for start in range(len(head)):
        for end in range(min(len(head), start + table.longest), start + SHORTEST_ALIAS - 1, -1):
            codes = table.aliases.get(head[start:end])
            if codes:
                found.setdefault(start, []).append((end, codes))
    return found


def _below(state: frozenset[str] | None, codes: frozenset[str], table: _Table) -> frozenset[str]:
    if state is None:
        return codes
    return frozenset(c for c in codes if table.ancestors[c] & state)


def _chain(start, found, table):
    """The longest run of names written one after another, each inside the one before:
    (count, end, state) where state is the set of regions it may still mean."""
    best = (0, start, None)
    stack = [(start, None, 0)]
    while stack:
        pos, state, count = stack.pop()
        if (count, pos) > best[:2]:  # more names, then the longer way of writing them
            best = (count, pos, state)
        if state is not None and all(table.level[c] == DISTRICT for c in state):
            continue
        for end, codes in found.get(pos, ()):
            narrowed = _below(state, codes, table)
            if narrowed:
                stack.append((end, narrowed, count + 1))
    return best


def _districts(state: frozenset[str], table: _Table) -> tuple[set[str], bool]:
    """The districts a state names, and whether it names only districts (a city with a single
    district, like 东莞市, names that one)."""
    districts = {c for c in state if table.level[c] == DISTRICT}
    vague = False
    for code in state - districts:
        under = table.districts_under.get(code, frozenset())
        if under & districts:
            continue  # 北京 (the city) above 朝阳区: the district says more
        if len(under) == 1:
            districts |= under
        else:
            vague = True
    return districts, not vague


def _best_chain(head: str, table: _Table):
    """The run that names the region: the longest ("黄山 广东深圳南山区": 黄山 was the
    receiver), else the first (later ones are street words: 南山区北京路)."""
    found = _matches(head, table)
    chains = [c for c in (_chain(start, found, table) for start in sorted(found)) if c[0]]
    if not chains:
        return None
    best = chains[0]
    for other in chains[1:]:
        if other[0] > best[0]:
            best = other
    return best


def parse(text: str) -> ParsedAddress:
    """Read province/city/district from a free-text line. `region` when exactly one district
    fits; `candidates` (and no region) when several do; neither when no district is named.
    Never raises on any text."""
    table = _table()
    cleaned, head, where = _clean(text)
    chain = _best_chain(head, table)
    if chain is None:
        return ParsedAddress(None, [], _tidy(cleaned))
    _count, end, state = chain
    street = _tidy(cleaned[where[end - 1] + 1 :] if end else cleaned)
    codes, exact = _districts(state, table)
    found = {
        r.code: r for r in db.session.scalars(select(Region).where(Region.code.in_(sorted(codes))))
    }
    regions = [found[c] for c in sorted(codes) if c in found]
    if exact and len(regions) == 1:
        return ParsedAddress(regions[0], regions, street)
    return ParsedAddress(None, regions if len(regions) > 1 else [], street)


def _tidy(text: str) -> str:
    return " ".join(text.split()).strip(_EDGE)
