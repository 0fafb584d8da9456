"""The demo catalogue's options (services/demo.py): sizes for shoes and clothes, colours where
believable, capacities for phones at stepped prices; each product's stock spread over its
variants, a few sizes sold out."""

import json
from typing import NamedTuple

from wapshop.models import Product, Variant
from wapshop.services import product_variants

COLOURS = ("黑色", "白色", "红色", "蓝色", "灰色", "粉色", "卡其色")


class OptionPlan(NamedTuple):
    """The options a subcategory's goods are sold in. Sizes always; colours (2-3 of the
    list) for a share of the products; capacities with a price step each."""

    sizes: tuple[str, tuple[str, ...]] | None
    colours: tuple[str, ...] = ()
    colour_share: float = 0.0
    capacities: tuple[tuple[str, int], ...] = ()  # value, fen above the shop price
    not_for: tuple[str, ...] = ()  # title words of goods sold in one form (socks packs)


OPTIONS = {
    "men-shoes": OptionPlan(("尺码", tuple(str(n) for n in range(38, 45))), ("黑色", "白色", "灰色", "蓝色"), 0.5),
    "women-shoes": OptionPlan(("尺码", tuple(str(n) for n in range(35, 41))), ("黑色", "白色", "红色", "粉色", "卡其色"), 0.5),
    "clothes": OptionPlan(("尺码", ("S", "M", "L", "XL", "XXL")), COLOURS, 0.6),
    "underwear": OptionPlan(("尺码", ("M", "L", "XL", "XXL")), ("黑色", "白色", "灰色", "粉色"), 0.4, not_for=("袜",)),
    "kids": OptionPlan(("尺码", ("80", "90", "100", "110", "120")), ("粉色", "蓝色", "黄色"), 0.5),
    "phones": OptionPlan(None, ("黑色", "白色", "金色"), 0.5, (("64G", 0), ("128G", 50_00), ("256G", 150_00))),
}  # fmt: skip
SOLD_OUT_SIZE = 0.12  # share of sizes sold out in a product otherwise in stock


def add_variants(rng, product: Product, plan_name: str, spec_table, number: int) -> None:
    """A variant per combination of the product's options (its stock total spread over
    them, a few sizes sold out), or its one variant when it is sold in one form.
    `spec_table`: the subcategory's (spec name, values) of demo.SPECS."""
    plan = OPTIONS.get(plan_name)
    if plan is None or any(word in product.title for word in plan.not_for):
        product.variants.append(Variant(stock=product.stock))
        return
    options: list[tuple[str, tuple[str, ...]]] = []
    if plan.colours and rng.random() < plan.colour_share:
        options.append(("颜色", tuple(rng.sample(plan.colours, rng.randint(2, 3)))))
    if plan.sizes:
        options.append(plan.sizes)
    if plan.capacities:
        options.append(("容量", tuple(value for value, _ in plan.capacities)))
    steps = dict(plan.capacities)
    product.options_json = product_variants.options_json(tuple(options))
    chosen = {name for name, _ in options}
    specs = [pair for pair in product.specs if pair[0] not in chosen]
    for name, values in spec_table:  # at least two specs besides what buyers choose
        if len(specs) < 2 and name not in chosen and name not in dict(specs):
            specs.append((name, rng.choice(values)))
    product.specs_json = json.dumps([list(pair) for pair in specs], ensure_ascii=False)
    combos = product_variants.combos(tuple(options))
    stocks = _spread(rng, product.stock, len(combos))
    for position, (values, stock) in enumerate(zip(combos, stocks, strict=True)):
        step = steps.get(values[-1], 0)
        product.variants.append(
            Variant(
                values_json=product_variants.values_json(values),
                label=product_variants.label_of(values),
                code=f"D{number:03d}-{position + 1:02d}",
                price_fen=product.shop_price_fen + step if step else None,
                stock=stock,
                position=position,
            )
        )


def _spread(rng, total: int, parts: int) -> list[int]:
    """`total` units over `parts` variants, unevenly, some at zero; the sum is `total`."""
    if total == 0:
        return [0] * parts
    weights = [0.0 if rng.random() < SOLD_OUT_SIZE else rng.uniform(0.2, 1.0) for _ in range(parts)]
    if not any(weights):
        weights[rng.randrange(parts)] = 1.0
    shares = [int(total * w / sum(weights)) for w in weights]
    shares[weights.index(max(weights))] += total - sum(shares)
    return shares
