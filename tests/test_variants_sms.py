"""Order SMS name the variant ("白色/42") after the order number where there is one, and stay
within one message (70 characters) when they fit without it; a replacement asks no money."""

from sqlalchemy import select

from factories import make_product_with_options, make_regions
from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.models import Order, OrderEvent, OrderItem, OrderStatus, OutboxMessage
from wapshop.services import notify

S = OrderStatus


def bodies(kind: str) -> list[str]:
    return list(
        db.session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
    )


def new_order(product, labels, method="cod", status=S.PLACED) -> Order:
    """An order with a line per label (placing it queues the "placed" SMS in its flush)."""
    now = utcnow()
    order = Order(
        number="2013052012", phone="13800138000", receiver_name="张三", region_code="440305",
        region_text="广东省深圳市南山区", street="科技园1号", payment_method=method,
        carrier="顺丰", status=status, goods_fen=5990, total_fen=5990, rendition="wml",
        created_at=now, updated_at=now,
    )  # fmt: skip
    for label in labels:
        variant = next(v for v in product.variants if v.label == label)
        order.items.append(
            OrderItem(product_id=product.id, variant_id=variant.id, variant_label=label,
                      seller_id=product.seller_id, title=product.title, unit_price_fen=5990,
                      market_price_fen=9900, quantity=1)
        )  # fmt: skip
    order.events.append(OrderEvent(at=now, actor="guest", to_status=status, note=method))
    db.session.add(order)
    db.session.flush()
    return order


def test_compose_names_the_variant_within_one_sms(app):
    with app.app_context():
        for kind, extra in [
            ("placed", {}),
            ("confirmed", {}),
            ("shipped", {"carrier": "顺丰", "tracking": "123456789012"}),
            ("delivered", {}),
        ]:
            plain = notify.compose(kind, "2013052012", 5990, False, **extra)
            named = notify.compose(kind, "2013052012", 5990, False, variant="卡其色/42", **extra)
            assert "订单2013052012（卡其色/42）" in named and len(named) <= notify.ONE_SMS
            assert named.replace("（卡其色/42）", "") == plain
        placed = notify.compose("placed", "2013052012", 5990, True, variant="卡其色/42")
        assert len(placed) <= notify.ONE_SMS and "货到付款￥59.90" in placed
        # Too long for one message with the variant: sent without it.
        long = notify.compose(
            "placed", "2013052012", 5990, True, variant="超长的颜色名称/XXL加大码"
        )
        assert "超长" not in long and len(long) <= notify.ONE_SMS
        reminder = notify.compose("please_reply", "2013052012", 5990, True, variant="白色/42")
        assert "白色/42" not in reminder


def test_a_replacement_is_free_and_names_the_size_sent(app):
    with app.app_context():
        sent = notify.compose(
            "shipped", "2013052012", 5990, True, variant="40", carrier="EMS",
            tracking="EA123456785CN", replacement=True,
        )  # fmt: skip
    assert sent == "【WapShop】换货商品（40）已由EMS发出，运单号EA123456785CN。客服400-820-8820"


def test_placing_an_order_names_its_variant_in_the_placed_sms(app):
    with app.app_context():
        make_regions()
        shoe = make_product_with_options("颜色:白色 黑色\n尺码:41 42", stock=3)
        db.session.commit()
        new_order(shoe, ["白色/42"])
        [placed] = bodies("placed")
        assert "订单2013052012（白色/42）已收到" in placed and len(placed) <= notify.ONE_SMS
        db.session.rollback()
        new_order(shoe, ["白色/42", "黑色/41"])  # two lines: the first, and 等
        assert "订单2013052012（白色/42等）" in bodies("placed")[0]


def test_paying_later_reads_the_lines_from_the_database(app):
    with app.app_context():
        make_regions()
        shoe = make_product_with_options("尺码:41 42", stock=3)
        order = new_order(shoe, ["42"], method="card", status=S.AWAITING_PAYMENT)
        db.session.commit()
        order_id = order.id
        db.session.expunge_all()  # a later request: the lines are not in the session
        db.session.add(
            OrderEvent(order_id=order_id, at=utcnow(), actor="card",
                       from_status=S.AWAITING_PAYMENT, to_status=S.PAID)
        )  # fmt: skip
        db.session.flush()
        assert "订单2013052012（42）已付款" in bodies("placed")[0]


def test_order_actions_name_the_variant(app):
    with app.app_context():
        make_regions()
        shoe = make_product_with_options("尺码:41 42", stock=3)
        order = new_order(shoe, ["41"])
        notify.enqueue(order, "confirmed")
        assert bodies("confirmed") == [
            "【WapShop】订单2013052012（41）已确认，将尽快发货。客服400-820-8820"
        ]
