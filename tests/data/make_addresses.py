"""Writes addresses.tsv: free-text address lines generated from our own region table
(wapshop/data/regions.tsv), each labelled with the district it names or "ambiguous", then
the hand-written lines of addresses_hand.tsv. Seeded: running it again gives the same file.

    .venv/bin/python tests/data/make_addresses.py

Labels come from the generation (the district drawn), not from the parser. A line is labelled
"ambiguous" when the district name as written, within the province/city written before it,
also names another district of the table (same full name, or same name without 区/县/市)."""

import csv
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
TABLE = HERE.parent.parent / "wapshop" / "data" / "regions.tsv"
OUT = HERE / "addresses.tsv"
HAND = HERE / "addresses_hand.tsv"
SEED = 14
GENERATED = 320

PROVINCE_SHORT = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "宁夏回族自治区": "宁夏",
    "新疆维吾尔自治区": "新疆",
}
# How people shorten autonomous prefectures (written by hand, not derived).
PREFECTURE_SHORT = {
    "延边朝鲜族自治州": "延边",
    "恩施土家族苗族自治州": "恩施",
    "湘西土家族苗族自治州": "湘西",
    "黔东南苗族侗族自治州": "黔东南",
    "黔南布依族苗族自治州": "黔南",
    "黔西南布依族苗族自治州": "黔西南",
    "凉山彝族自治州": "凉山",
    "甘孜藏族自治州": "甘孜",
    "阿坝藏族羌族自治州": "阿坝",
    "大理白族自治州": "大理",
    "红河哈尼族彝族自治州": "红河",
    "西双版纳傣族自治州": "西双版纳",
    "楚雄彝族自治州": "楚雄",
    "伊犁哈萨克自治州": "伊犁",
    "昌吉回族自治州": "昌吉",
    "临夏回族自治州": "临夏",
    "甘南藏族自治州": "甘南",
    "海西蒙古族藏族自治州": "海西",
}
NAMES = "张伟 王芳 李娜 刘洋 陈静 杨磊 赵敏 周杰 吴霞 徐强 孙丽 马超 朱婷 胡军 郭雪 何平 林晓燕 罗刚".split()
STREETS = (
    "中山路{n}号",
    "人民路{n}号",
    "解放路{n}号院",
    "北京路{n}号",
    "南京路{n}弄",
    "长安街{n}号",
    "建设路{n}号{b}栋",
    "朝阳路{n}号",
    "鼓楼大街{n}号",
    "新华路{n}号",
    "黄河路{n}号",
    "长江路{n}号{b}单元",
    "和平街{n}号",
    "幸福小区{b}号楼{n}室",
    "城关镇{n}号",
    "东风村{b}组",
    "工业园{b}栋",
    "花园小区{b}栋{n}",
    "师范学院{b}号宿舍楼",
    "步行街{n}号",
)


def short(name: str) -> str:
    if name in PROVINCE_SHORT:
        return PROVINCE_SHORT[name]
    if name in PREFECTURE_SHORT:
        return PREFECTURE_SHORT[name]
    for suffix in ("省", "市", "区", "县"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2 and "自治" not in name:
            return name[: -len(suffix)]
    return name


def main() -> None:
    rng = random.Random(SEED)
    with TABLE.open(encoding="utf-8", newline="") as f:
        rows = {r["code"]: r for r in csv.DictReader(f, delimiter="\t")}
    districts = [r for r in rows.values() if r["level"] == "3"]

    def up(r):
        return rows[r["parent_code"]] if r["parent_code"] else None

    def ambiguous(district, written, scope):
        """Another district under `scope` (a code, or None for all) written the same way."""
        for other in districts:
            if other["code"] == district["code"]:
                continue
            if written not in (other["name"], short(other["name"])):
                continue
            chain, node = set(), other
            while node is not None:
                chain.add(node["code"])
                node = up(node)
            if scope is None or scope in chain:
                return True
        return False

    def street():
        return rng.choice(STREETS).format(n=rng.randint(1, 388), b=rng.randint(1, 12))

    out = []
    by_name = {}
    for d in districts:
        by_name.setdefault(d["name"], []).append(d)
    shared = [d for d in districts if len(by_name[d["name"]]) > 1]
    picks = rng.sample(districts, GENERATED - 40) + rng.sample(shared, 40)
    for i, d in enumerate(picks):
        city = up(d)
        province = up(city)
        # 重庆's counties hang under a city called "县"; nobody writes that (nor 省直辖…).
        unwritten = city["name"] == "县" or "直辖" in city["name"]
        municipality = city["name"] == province["name"] or unwritten
        p_full, c_full, d_full = province["name"], "" if unwritten else city["name"], d["name"]
        form = i % 9 if i < GENERATED - 40 else 9
        if municipality and form in (1, 2, 3):
            form = 7
        if form == 0:  # full names
            parts, scope = [p_full, c_full, d_full], city["code"]
        elif form == 1:  # short names
            parts, scope = [short(p_full), short(c_full), short(d_full)], city["code"]
        elif form == 2:  # no province
            parts, scope = [c_full, d_full], city["code"]
        elif form == 3:  # short province, full city and district, with spaces
            parts, scope = [short(p_full) + " ", c_full + " ", d_full], city["code"]
        elif form == 4:  # province and district only
            parts, scope = [p_full, d_full], province["code"]
        elif form == 5:  # receiver and phone first
            phone = f"1{rng.choice('3589')}{rng.randint(0, 999999999):09d}"
            parts = [f"{rng.choice(NAMES)} {phone} ", p_full, c_full, d_full]
            scope = city["code"]
        elif form == 6:  # ZIP and punctuation
            zip_code = f"{province['code'][:2]}{rng.randint(0, 9999):04d}"
            parts, scope = [p_full + "，", c_full + "，", d_full + "，"], city["code"]
            parts.insert(0, zip_code + " ")
        elif form == 7:  # municipality style: province short, district
            parts, scope = [short(p_full), d_full], province["code"]
        elif form == 8:  # receiver after, label before
            parts, scope = ["收货地址：", short(p_full), c_full, d_full], city["code"]
        else:  # district alone, as people type when they think it obvious
            parts, scope = [d_full], None
        text = "".join(parts) + street()
        if form == 8:
            text += f" {rng.choice(NAMES)}收"
        written_district = parts[-1].strip(" ，")
        label = "ambiguous" if ambiguous(d, written_district, scope) else d["code"]
        out.append((text, label, f"generated:{form}"))
    with HAND.open(encoding="utf-8", newline="") as f:
        hand = [(r["address"], r["expected"], "hand") for r in csv.DictReader(f, delimiter="\t")]
    with OUT.open("w", encoding="utf-8", newline="") as f:
        f.write("address\texpected\tsource\n")
        for row in out + hand:
            f.write("\t".join(row) + "\n")


if __name__ == "__main__":
    main()
