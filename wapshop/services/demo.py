"""Demo data: a believable catalogue with images and today's deals (over the reference data of
services/reference.py), and a bulk catalogue for benchmarks. Every loader adds and flushes; the caller commits.

All randomness is seeded, so every run produces the same data."""

import json
import math
import random
from datetime import datetime, timedelta
from itertools import chain, zip_longest
from typing import NamedTuple

from PIL import Image, ImageDraw
from sqlalchemy import select

from wapshop import images
from wapshop.extensions import db
from wapshop.models import (
    Category,
    Collection,
    Deal,
    Product,
    SearchTerm,
    Seller,
    collection_products,
)
from wapshop.clock import china_day, china_day_bounds, utcnow
from wapshop.renditions import ALL_RENDITIONS
from wapshop.services import (
    demo_history,
    demo_variants,
    reference,
    reports,
    search,
    shipping_rules,
)
from wapshop.services.demo_variants import COLOURS

SEED = 2013
FEATURE_PHONES = "wml,basic,color"
PREMIUM = "color,touch"


# --- The catalogue: two-level categories, each subcategory with the goods it sells.
class Sub(NamedTuple):
    name: str
    specs: str  # a key of SPECS
    price: tuple[float, float]  # shop price range in yuan, skewed to the low end
    items: tuple[str, ...]
    options: str = ""  # a key of demo_variants.OPTIONS: what buyers choose (sizes, colours…)


class Top(NamedTuple):
    name: str
    sellers: tuple[str, ...]
    colour: tuple[int, int, int]  # base colour of the generated product images
    prefixes: tuple[str, ...]
    subtitles: tuple[str, ...]
    subs: tuple[Sub, ...]


SELLERS = (
    # name, confirms its own orders by phone
    ("深圳华强数码", True),
    ("晋江鞋业批发", False),
    ("广州白马服饰", True),
    ("义乌小商品", False),
    ("杭州四季青日化", False),
)

CATALOG = (
    Top(
        "鞋服",
        ("晋江鞋业批发", "广州白马服饰"),
        (196, 80, 60),
        ("2013新款", "韩版", "潮流", "百搭", "经典", "透气", "加厚", "学生"),
        ("货到付款 不合适7天包退换", "厂家直销 全国包邮", "尺码标准 放心穿"),
        (
            Sub("男鞋", "shoes", (39, 159), ("男士休闲板鞋", "男款跑步鞋", "商务皮鞋", "男士帆布鞋", "加绒棉鞋", "男士豆豆鞋"), "men-shoes"),
            Sub("女鞋", "shoes", (29, 139), ("女士单鞋", "平底帆布鞋", "坡跟凉鞋", "马丁靴", "女款运动鞋", "雪地靴"), "women-shoes"),
            Sub("运动服", "clothes", (29, 199), ("运动套装", "速干T恤", "连帽卫衣", "运动短裤", "冲锋衣"), "clothes"),
            Sub("女装", "clothes", (29, 259), ("雪纺连衣裙", "修身打底衫", "针织开衫", "小脚牛仔裤", "短款羽绒服"), "clothes"),
            Sub("内衣袜子", "underwear", (9.9, 79), ("纯棉男袜10双装", "船袜5双装", "保暖内衣套装", "纯棉内裤3条装", "无痕文胸"), "underwear"),
        ),
    ),
    Top(
        "3C数码",
        ("深圳华强数码",),
        (40, 90, 160),
        ("正品", "原装", "新款", "超薄", "便携", "高清"),
        ("全国联保 一年保修", "货到付款 验货再签收", "深圳发货 次日送达"),
        (
            Sub("手机", "phones", (99, 299), ("双卡双待老人手机", "大字大声老年机", "4.0寸安卓智能手机", "直板学生手机", "三防超长待机手机", "5.0寸四核智能手机"), "phones"),
            Sub("耳机", "gadgets", (9.9, 99), ("入耳式耳机", "头戴式耳机", "蓝牙耳机", "线控耳机带麦")),
            Sub("充电宝", "gadgets", (29, 129), ("移动电源10000毫安", "充电宝5000毫安", "迷你充电宝", "太阳能充电宝")),
            Sub("手机配件", "gadgets", (9.9, 39), ("手机壳", "钢化玻璃膜", "1米数据线", "USB充电器", "手机支架", "自拍杆")),
            Sub("存储卡", "gadgets", (9.9, 89), ("TF内存卡8G", "TF内存卡16G", "U盘16G", "U盘32G", "读卡器")),
        ),
    ),
    Top(
        "护肤品",
        ("杭州四季青日化",),
        (214, 110, 150),
        ("补水", "保湿", "控油", "美白", "清爽", "温和"),
        ("专柜同款 假一赔十", "过敏包退 货到付款", "买二送一 小样随机"),
        (
            Sub("洁面", "beauty", (9.9, 69), ("洗面奶", "洁面乳", "洁面皂", "卸妆水")),
            Sub("面霜乳液", "beauty", (19, 159), ("面霜", "乳液", "爽肤水", "精华液", "护肤套装")),
            Sub("面膜", "beauty", (9.9, 79), ("面膜10片装", "睡眠面膜", "泥膜", "眼膜贴")),
            Sub("防晒隔离", "beauty", (19, 99), ("防晒霜SPF30", "隔离霜", "BB霜", "防晒喷雾")),
        ),
    ),
    Top(
        "家居",
        ("义乌小商品",),
        (70, 150, 110),
        ("家用", "加厚", "简约", "韩式", "多功能", "创意"),
        ("义乌发货 满39包邮", "质量问题包换", "居家好物 实惠耐用"),
        (
            Sub("床上用品", "home", (39, 259), ("纯棉四件套", "夏凉席", "保暖被芯", "记忆枕", "珊瑚绒毛毯")),
            Sub("收纳整理", "home", (9.9, 69), ("收纳箱", "衣柜收纳袋", "桌面收纳盒", "鞋架", "粘钩10个装")),
            Sub("厨房用品", "home", (19, 159), ("不锈钢保温杯", "菜刀套装", "不粘锅", "保鲜盒套装", "电热水壶")),
            Sub("清洁用品", "home", (9.9, 49), ("平板拖把", "洗衣液2kg", "垃圾袋5卷", "抹布10条装", "马桶刷")),
        ),
    ),
    Top(
        "食品",
        ("杭州四季青日化", "义乌小商品"),
        (200, 140, 40),
        ("正宗", "特产", "手工", "散装", "新货", "农家"),
        ("新鲜日期 当天发货", "吃货必备 量大实惠", "产地直供 货到付款"),
        (
            Sub("零食", "food", (9.9, 59), ("五香牛肉干", "卤鸭脖", "辣条大礼包", "香辣豆干", "饼干礼盒")),
            Sub("坚果炒货", "food", (19, 89), ("碧根果", "开心果", "夏威夷果", "五香瓜子", "薄皮核桃")),
            Sub("茶叶", "food", (19, 199), ("安溪铁观音", "西湖龙井", "普洱茶饼", "杭白菊", "武夷大红袍")),
            Sub("地方特产", "food", (19, 99), ("新疆红枣", "云南鲜花饼", "四川腊肠", "东北黑木耳", "宁夏枸杞")),
        ),
    ),
    Top(
        "母婴",
        ("义乌小商品",),
        (120, 170, 210),
        ("婴儿", "宝宝", "儿童", "新生儿", "柔软", "纯棉"),
        ("母婴专供 安全无毒", "妈妈放心 货到付款", "大包装 更划算"),
        (
            Sub("纸尿裤", "baby", (29, 149), ("纸尿裤L码", "纸尿裤M码", "拉拉裤", "湿巾10包装")),
            Sub("奶瓶喂养", "baby", (9.9, 69), ("宽口径奶瓶", "硅胶奶嘴", "辅食碗勺", "吸管杯")),
            Sub("童装", "baby", (29, 139), ("连体衣", "卫衣套装", "睡衣套装", "羽绒服"), "kids"),
            Sub("玩具", "baby", (19, 129), ("拼插积木", "遥控汽车", "毛绒玩具", "木质拼图", "早教机")),
        ),
    ),
    Top(
        "文具",
        ("义乌小商品",),
        (150, 110, 190),
        ("学生", "开学", "创意", "可爱", "办公", "加厚"),
        ("开学季 全场包邮", "学生党必备", "义乌发货 量大从优"),
        (
            Sub("书包", "stationery", (19, 129), ("双肩书包", "帆布书包", "护脊书包", "大容量笔袋")),
            Sub("笔类", "stationery", (9.9, 49), ("中性笔12支", "练字钢笔", "自动铅笔", "荧光笔套装", "彩色铅笔")),
            Sub("本子", "stationery", (9.9, 39), ("笔记本", "作业本10本装", "活页本", "密码日记本", "错题本")),
            Sub("学习用品", "stationery", (9.9, 159), ("护眼台灯", "计算器", "文具套装", "书立", "英语复读机")),
        ),
    ),
)  # fmt: skip

# Spec name and the values it takes, in display order; a product shows the first 2-5.
SPECS = {
    "shoes": (("颜色", COLOURS), ("尺码", ("35-39", "38-44", "39-45")), ("鞋面材质", ("PU", "头层牛皮", "帆布", "网布")), ("产地", ("福建晋江", "广东东莞", "浙江温州"))),
    "clothes": (("颜色", COLOURS), ("尺码", ("S-XL", "M-XXL", "均码")), ("面料", ("纯棉", "涤纶", "雪纺", "针织")), ("产地", ("广东广州", "浙江杭州", "福建石狮"))),
    "underwear": (("颜色", COLOURS), ("尺码", ("均码", "M-XXL")), ("面料", ("纯棉", "莫代尔")), ("产地", ("浙江义乌", "浙江诸暨"))),
    "phones": (("颜色", ("黑色", "白色", "红色", "金色")), ("屏幕", ("2.4寸", "3.5寸", "4.0寸", "5.0寸")), ("网络", ("移动GSM", "联通WCDMA", "移动TD-SCDMA")), ("电池", ("1800毫安", "2500毫安", "3000毫安")), ("产地", ("广东深圳",))),
    "gadgets": (("颜色", ("黑色", "白色", "蓝色", "粉色")), ("接口", ("Micro USB", "3.5mm", "USB")), ("重量", ("30克", "120克", "220克")), ("产地", ("广东深圳", "广东东莞"))),
    "beauty": (("规格", ("50ml", "100ml", "120g", "10片")), ("适合肤质", ("任何肤质", "干性", "油性", "混合性")), ("保质期", ("3年",)), ("产地", ("上海", "广东广州", "浙江杭州"))),
    "home": (("颜色", COLOURS), ("材质", ("不锈钢", "PP塑料", "纯棉", "竹")), ("尺寸", ("小号", "中号", "大号")), ("产地", ("浙江义乌", "广东佛山", "江苏南通"))),
    "food": (("净含量", ("250g", "500g", "1000g")), ("保质期", ("6个月", "12个月", "18个月")), ("包装", ("袋装", "罐装", "礼盒装")), ("储存", ("常温", "阴凉干燥处"))),
    "baby": (("适用年龄", ("0-1岁", "1-3岁", "3-6岁")), ("材质", ("纯棉", "PP", "硅胶")), ("颜色", ("粉色", "蓝色", "黄色")), ("产地", ("浙江", "广东", "福建"))),
    "stationery": (("颜色", COLOURS), ("规格", ("A5", "B5", "16K", "12支装")), ("材质", ("塑料", "牛津布", "纸质")), ("产地", ("浙江义乌", "上海"))),
}  # fmt: skip


PRODUCTS_PER_SUB = 8
# Extra words for bulk titles, so search meets the long tail a real catalogue has.
BULK_SUFFIXES = ("", "", "", "包邮", "特价", "热卖", "批发", "清仓", "正品", "促销")


# --- Collections (专场): slug, name, blurb, renditions, subcategories drawn from, size.
COLLECTIONS = (
    ("phones", "手机专场", "百元智能机、老人机，货到付款", ALL_RENDITIONS, ("手机", "充电宝", "手机配件", "耳机"), 12),
    ("back-to-school", "开学必备", "书包文具、耳机充电宝，开学一次买齐", ALL_RENDITIONS, ("书包", "笔类", "本子", "学习用品", "充电宝"), 14),
    ("couples", "情侣礼物", "送给TA的小心意", PREMIUM, ("女装", "面霜乳液", "运动服", "耳机", "面膜"), 10),
)  # fmt: skip


# --- Today's deals. Times are (anchor, offset): anchors are `now` and midnights in China Standard Time.
class DealPlan(NamedTuple):
    starts: tuple[str, timedelta]
    ends: tuple[str, timedelta]
    renditions: str
    per_buyer_limit: int
    quantity: int
    sold_share: float
    subcategory: str | None = None  # None: any cheap product
    cap_yuan: float | None = 49.9  # deal price ceiling; None for the premium deal


H = timedelta(hours=1)
DEALS = (
    DealPlan(("today", 0 * H), ("tomorrow", 0 * H), ALL_RENDITIONS, 2, 200, 0.4),  # ends tonight
    DealPlan(("now", -2 * H), ("now", timedelta(hours=3, minutes=12, seconds=30)), ALL_RENDITIONS, 1, 50, 0.7),
    DealPlan(("now", -1 * H), ("now", 1.5 * H), ALL_RENDITIONS, 2, 100, 0.85),
    DealPlan(("today", 0 * H), ("now", 5.5 * H), FEATURE_PHONES, 3, 120, 0.2),
    DealPlan(("today", 0 * H), ("tomorrow", 0 * H), ALL_RENDITIONS, 2, 80, 0.3),
    DealPlan(("now", -3 * H), ("now", 8 * H), ALL_RENDITIONS, 1, 30, 1.0),  # sold out
    DealPlan(("today", 0 * H), ("tomorrow", 0 * H), FEATURE_PHONES, 3, 150, 0.1),
    DealPlan(("today", 0 * H), ("tomorrow", 0 * H), PREMIUM, 1, 30, 0.5, "手机", None),
    DealPlan(("now", -0.5 * H), ("now", 2 * H), ALL_RENDITIONS, 2, 60, 0.0),
    DealPlan(("today", 0 * H), ("tomorrow", 10 * H), ALL_RENDITIONS, 2, 100, 0.25),
    # scheduled for tomorrow, and one that ended yesterday
    DealPlan(("tomorrow", 10 * H), ("tomorrow", 22 * H), ALL_RENDITIONS, 2, 100, 0.0),
    DealPlan(("tomorrow", 0 * H), ("tomorrow", 24 * H), FEATURE_PHONES, 3, 200, 0.0),
    DealPlan(("yesterday", 10 * H), ("yesterday", 22 * H), ALL_RENDITIONS, 2, 50, 0.9),
)  # fmt: skip


def load_demo(now: datetime | None = None) -> int:
    """Load regions, sellers, categories, products with images, collections, today's deals and
    30 days of orders moved through the services (services/demo_history.py), counted in the
    reports' rollups.

    Does nothing when products exist. `now` is naive UTC. Returns the number of products added."""
    if db.session.scalar(select(Product.id).limit(1)) is not None:
        return 0
    now = now or utcnow()
    rng = random.Random(SEED)
    reference.load_regions()
    shipping_rules.load_demo_rules()
    sellers, subcategories = _add_skeleton()
    products = _add_products(rng, sellers, subcategories)
    search.reindex(products)
    _add_collections(products)
    _add_deals(rng, products, now)
    db.session.flush()
    demo_history.load_history(now)
    reports.refresh(now)
    return len(products)


def _add_skeleton() -> tuple[dict[str, Seller], dict[str, Category]]:
    """Sellers and two-level categories by name, creating those that are missing."""
    sellers = {s.name: s for s in db.session.scalars(select(Seller))}
    for name, confirms in SELLERS:
        if name not in sellers:
            sellers[name] = Seller(name=name, confirms_own_orders=confirms)
            db.session.add(sellers[name])
    tops = {
        c.name: c for c in db.session.scalars(select(Category).where(Category.parent_id.is_(None)))
    }
    subcategories = {}
    for position, top in enumerate(CATALOG):
        if top.name not in tops:
            tops[top.name] = Category(name=top.name, position=position)
            db.session.add(tops[top.name])
        existing = {c.name: c for c in tops[top.name].children}
        for sub_position, sub in enumerate(top.subs):
            if sub.name not in existing:
                existing[sub.name] = Category(
                    name=sub.name, position=sub_position, parent=tops[top.name]
                )
                db.session.add(existing[sub.name])
            subcategories[sub.name] = existing[sub.name]
    db.session.flush()
    return sellers, subcategories


def _add_products(rng, sellers, subcategories) -> list[Product]:
    """The catalogue's products. Options come from their own random stream, so the rest of
    the catalogue (titles, prices, stock totals, deals) is the same with or without them."""
    products = []
    variant_rng = random.Random(SEED + 1)
    for top in CATALOG:
        for sub in top.subs:
            for title in _titles(rng, top.prefixes, sub.items, PRODUCTS_PER_SUB):
                shop, market = _prices(rng, *sub.price)
                product = Product(
                    category=subcategories[sub.name],
                    seller=sellers[rng.choice(top.sellers)],
                    title=title,
                    subtitle=rng.choice(top.subtitles),
                    shop_price_fen=shop,
                    market_price_fen=market,
                    specs_json=_specs_json(rng, sub.specs),
                )
                product.stock = _stock(rng)
                demo_variants.add_variants(
                    variant_rng, product, sub.options, SPECS[sub.specs], len(products)
                )
                picture = _product_picture(rng, top.colour)
                product.image = images.write_variants(picture, f"demo{len(products):03d}")
                products.append(product)
    db.session.add_all(products)
    db.session.flush()
    return products


def _titles(rng, prefixes, items, count) -> list[str]:
    """`count` distinct titles: each item in turn, behind a prefix not yet used with it."""
    titles: list[str] = []
    while len(titles) < count:
        item = items[len(titles) % len(items)]
        title = rng.choice(prefixes) + item
        if title not in titles:
            titles.append(title)
    return titles


def _prices(rng, low_yuan: float, high_yuan: float) -> tuple[int, int]:
    """Shop and market price in fen: mostly near the low end, often ending in .90."""
    yuan = max(low_yuan, round(rng.triangular(low_yuan, high_yuan, low_yuan)))
    shop = round(yuan * 100)
    if shop % 1000 == 0 or rng.random() < 0.5:
        shop = max(shop - 10, 100)
    market = math.ceil(shop * rng.uniform(1.3, 2.4) / 100) * 100
    return shop, market


def _stock(rng) -> int:
    roll = rng.random()
    if roll < 0.06:
        return 0
    if roll < 0.3:
        return rng.randint(1, 50)
    return rng.randint(51, 3000)


def _specs_json(rng, kind: str) -> str:
    specs = SPECS[kind]
    shown = specs[: rng.randint(2, len(specs))]
    return json.dumps([[name, rng.choice(values)] for name, values in shown], ensure_ascii=False)


def _product_picture(rng, colour) -> Image.Image:
    """A square in the category's colour with a lighter shape on it: a stand-in photo."""
    size = images.IMAGE_SIZES["m"]
    background = tuple(max(0, min(255, c + rng.randint(-30, 30))) for c in colour)
    foreground = tuple(c + (255 - c) * 2 // 3 for c in background)
    picture = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(picture)
    w, h = size
    margin = rng.randint(w // 8, w // 4)
    box = (margin, margin, w - margin, h - margin)
    shape = rng.choice(("ellipse", "rectangle", "rounded", "triangle"))
    if shape == "ellipse":
        draw.ellipse(box, fill=foreground)
    elif shape == "rectangle":
        draw.rectangle(box, fill=foreground)
    elif shape == "rounded":
        draw.rounded_rectangle(box, radius=w // 10, fill=foreground)
    else:
        draw.polygon(
            [(w // 2, margin), (w - margin, h - margin), (margin, h - margin)], fill=foreground
        )
    draw.rectangle((0, h - h // 10, w, h), fill=tuple(c // 2 for c in background))
    return picture


def _add_collections(products: list[Product]) -> None:
    """Each collection interleaves in-stock products of its subcategories."""
    by_sub: dict[str, list[Product]] = {}
    for product in products:
        if product.stock > 0:
            by_sub.setdefault(product.category.name, []).append(product)
    for position, (slug, name, blurb, renditions, subs, size) in enumerate(COLLECTIONS):
        collection = Collection(
            slug=slug, name=name, blurb=blurb, renditions=renditions, position=position
        )
        db.session.add(collection)
        db.session.flush()
        mixed = [p for p in chain(*zip_longest(*(by_sub[s] for s in subs))) if p is not None]
        db.session.execute(
            collection_products.insert(),
            [
                {"collection_id": collection.id, "product_id": p.id, "position": i}
                for i, p in enumerate(mixed[:size])
            ],
        )


def _add_deals(rng, products: list[Product], now: datetime) -> None:
    anchors = _day_anchors(now)
    candidates = [p for p in products if p.stock > 0]
    rng.shuffle(candidates)
    taken: set[int] = set()
    for position, plan in enumerate(DEALS):
        product = _deal_product(candidates, taken, plan)
        taken.add(product.id)
        db.session.add(
            Deal(
                product=product,
                deal_price_fen=_deal_price(rng, product.shop_price_fen, plan.cap_yuan),
                starts_at=anchors[plan.starts[0]] + plan.starts[1],
                ends_at=anchors[plan.ends[0]] + plan.ends[1],
                quantity=plan.quantity,
                sold=round(plan.quantity * plan.sold_share),
                per_buyer_limit=plan.per_buyer_limit,
                renditions=plan.renditions,
                position=position,
            )
        )


def _day_anchors(now: datetime) -> dict[str, datetime]:
    """`now` and the China midnights of yesterday, today and tomorrow, all naive UTC."""
    today, _ = china_day_bounds(china_day(now))
    day = timedelta(days=1)
    return {"now": now, "yesterday": today - day, "today": today, "tomorrow": today + day}


def _deal_product(candidates: list[Product], taken: set[int], plan: DealPlan) -> Product:
    """A product not yet on a deal with stock for the whole deal quantity.

    The premium deal takes the dearest product of its subcategory; the others a cheap one."""
    fits = [p for p in candidates if p.id not in taken and p.stock >= plan.quantity]
    if plan.subcategory:
        fits = [p for p in fits if p.category.name == plan.subcategory]
        return max(fits, key=lambda p: p.shop_price_fen)
    return next(p for p in fits if p.shop_price_fen <= 8000)


def _deal_price(rng, shop_fen: int, cap_yuan: float | None) -> int:
    """Below the shop price (45-85% of it), ending in .90, and under the cap if there is one."""
    target = shop_fen * (rng.uniform(0.45, 0.75) if cap_yuan else 0.85)
    if cap_yuan:
        target = min(target, cap_yuan * 100)
    return max(int(target // 100) * 100 - 10, 90)


def make_bulk_catalog(n_products: int = 100_000) -> int:
    """Bulk-insert n products with titles from the catalogue's word lists, and index them.

    Spread over the existing subcategories and sellers (created from the demo tables when
    there are none). No images. Returns the number added; the caller commits."""
    rng = random.Random(SEED + n_products)
    subs_query = select(Category.id, Category.name).where(Category.parent_id.is_not(None))
    seller_ids = db.session.scalars(select(Seller.id)).all()
    subs = db.session.execute(subs_query).all()
    if not (subs and seller_ids):
        sellers, _ = _add_skeleton()
        seller_ids = [s.id for s in sellers.values()]
        subs = db.session.execute(subs_query).all()
    words = _bulk_word_lists()
    all_items = tuple(item for _, items, _ in words.values() for item in items)
    default = (CATALOG[0].prefixes, all_items, (9.9, 199))
    specs = [_specs_json(rng, kind) for kind in SPECS for _ in range(20)]
    now = utcnow()
    insert_products = Product.__table__.insert().returning(Product.id, sort_by_parameter_order=True)
    batch = 10_000
    for start in range(0, n_products, batch):
        rows = []
        for _ in range(min(batch, n_products - start)):
            category_id, sub_name = rng.choice(subs)
            prefixes, items, price = words.get(sub_name, default)
            title = rng.choice(prefixes) + _zipf_choice(rng, items) + rng.choice(BULK_SUFFIXES)
            shop, market = _prices(rng, *price)
            rows.append(
                {
                    "category_id": category_id,
                    "seller_id": rng.choice(seller_ids),
                    "title": title,
                    "subtitle": "",
                    "shop_price_fen": shop,
                    "market_price_fen": market,
                    "stock": _stock(rng),
                    "specs_json": rng.choice(specs),
                    "image": None,
                    "active": True,
                    "created_at": now,
                }
            )
        ids = db.session.execute(insert_products, rows).scalars().all()
        terms = sorted(
            (term, product_id)
            for product_id, row in zip(ids, rows, strict=True)
            for term in search.index_terms(row["title"])
        )
        # In index order, so the B-tree inserts touch fewer pages.
        db.session.execute(
            SearchTerm.__table__.insert(), [{"term": t, "product_id": i} for t, i in terms]
        )
    db.session.flush()
    return n_products


def _bulk_word_lists() -> dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[float, float]]]:
    """Subcategory name -> (title prefixes, items, price range) from the catalogue tables."""
    return {sub.name: (top.prefixes, sub.items, sub.price) for top in CATALOG for sub in top.subs}


def _zipf_choice(rng, words: tuple[str, ...]) -> str:
    """The first words much more often than the last, as in a real catalogue."""
    return rng.choices(words, weights=[1 / rank for rank in range(1, len(words) + 1)])[0]
