import hashlib
import re

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField, ValidationError
from wtforms.validators import DataRequired, Length

from wapshop.forms import ShopForm, mainland_mobile
from wapshop.parsing import parse_id, parse_int
from wapshop.services.checkout import MAX_LINES, MAX_QUANTITY, Line

NAME_MAX = 20
# One line: the whole address the first time ("广东深圳南山区科技园路1号"), the street once the
# region is confirmed. 60 characters hold any street, building and room, and keep the WML
# confirmation deck within its 2,000 bytes even when it comes back with errors.
STREET_MAX = 60
COUPON_MAX = 20  # coupons.CODE
MAX_POINTS = 10**9


def encode_lines(lines: list[Line]) -> str:
    """The lines the confirmation page shows, as one hidden value: variant.quantity.price.deal
    per line, joined by '-' (deal 0: none)."""
    return "-".join(
        f"{x.variant_id}.{x.quantity}.{x.seen_price_fen or 0}.{x.seen_deal_id or 0}" for x in lines
    )


def decode_lines(text: str) -> list[Line]:
    """Raises ValueError unless `text` is what encode_lines writes, 1…20 distinct lines."""
    parts = (text or "").split("-")
    if not 1 <= len(parts) <= MAX_LINES:
        raise ValueError("line count")
    lines = []
    for part in parts:
        fields = part.split(".")
        if len(fields) != 4:
            raise ValueError("line shape")
        variant, quantity = parse_id(fields[0]), parse_int(fields[1], 1, MAX_QUANTITY)
        price, deal = parse_int(fields[2]), parse_int(fields[3])
        lines.append(Line(variant, quantity, price or None, deal or None))
    if len({x.variant_id for x in lines}) != len(lines):
        raise ValueError("twice the same variant")
    return lines


def digest_lines(lines: list[Line]) -> str:
    """What a cart's confirmation posts instead of its lines (they stay in the session): a
    digest of the lines and prices it showed, so the submit finds out if either changed."""
    return "#" + hashlib.sha256(encode_lines(lines).encode()).hexdigest()[:16]


def _lines(form, field) -> None:
    if not field.data or re.fullmatch(r"#[0-9a-f]{16}", field.data):
        return  # empty: a page from before carts, which posted its price and deal instead
    try:
        decode_lines(field.data)
    except ValueError:
        raise ValidationError(_l("页面已过期，请再提交一次。")) from None


def _optional_int(form, field) -> None:
    try:
        if field.data:
            parse_int(field.data)
    except ValueError:
        raise ValidationError(_l("页面已过期，请再提交一次。")) from None


def _optional_quantity(form, field) -> None:
    try:
        if field.data is not None:
            field.data = str(parse_int(field.data, 1, MAX_QUANTITY))
    except ValueError:
        raise ValidationError(_l("数量请填1到%(n)d。", n=MAX_QUANTITY)) from None


def read_choice(code: str | None, points: str | None) -> tuple[str, int]:
    """A discount choice as typed or picked: the code (trimmed, at most COUPON_MAX) and the
    points (0 for anything that is not a whole number in range)."""
    try:
        wanted = parse_int(points or "0", 0, MAX_POINTS)
    except ValueError:
        wanted = 0
    return (code or "").strip()[:COUPON_MAX], wanted


def _optional_points(form, field) -> None:
    try:
        parse_int(field.data or "0", 0, MAX_POINTS)
    except ValueError:
        raise ValidationError(_l("积分请填 0 或正整数。")) from None


class OrderForm(ShopForm):
    token = HiddenField(validators=[DataRequired(), Length(min=16, max=60)])
    # What the buyer was shown; the server's prices are charged, these only detect a change.
    lines = HiddenField(validators=[_lines])
    total = HiddenField(validators=[_optional_int])
    # 立即购买's quantity is chosen on the product page; a client posting one here changes
    # its one line (and so the total: the page is shown again with it).
    quantity = StringField(_l("数量"), validators=[_optional_quantity])
    region = HiddenField()  # the confirmed district; empty until the address line is parsed
    area = StringField()  # a district chosen among the parser's candidates
    # The one free-text line before the region is confirmed: "广东深圳南山区科技园路1号".
    address = StringField(
        _l("收货地址"),
        filters=[lambda s: s.strip() if s else s],
        validators=[Length(max=STREET_MAX + 20, message=_l("地址太长了。"))],
    )
    name = StringField(
        _l("收货人"),
        filters=[lambda s: s.strip() if s else s],
        validators=[
            DataRequired(_l("请填写收货人姓名。")),
            Length(max=NAME_MAX, message=_l("姓名最多%(n)d个字。", n=NAME_MAX)),
        ],
    )
    phone = StringField(
        _l("手机号"), validators=[DataRequired(_l("请填写手机号。")), mainland_mobile]
    )
    street = StringField(
        _l("详细地址"),
        filters=[lambda s: s.strip() if s else s],
        validators=[
            DataRequired(_l("请填写详细地址。")),
            Length(
                min=4,
                max=STREET_MAX,
                message=_l("详细地址请写4到%(n)d个字（街道、门牌号）。", n=STREET_MAX),
            ),
        ],
    )
    payment = StringField(
        _l("付款方式"), default="cod", validators=[DataRequired(_l("请选择付款方式。"))]
    )

    # Members' discounts: a code typed, or one of the buyer's coupons picked, and points.
    coupon = StringField(
        _l("券码"),
        filters=[lambda s: s.strip() if s else s],
        validators=[Length(max=COUPON_MAX, message=_l("没有这张优惠券，请核对券码。"))],
    )
    mine = StringField(validators=[Length(max=COUPON_MAX)])
    points = StringField(_l("积分"), validators=[_optional_points])

    def posted_choice(self) -> tuple[str, int] | None:
        """The code and points the page's controls ask for; None when it had none (WML
        chooses on a deck of its own, kept in the session)."""
        if not any(f.raw_data for f in (self.coupon, self.mine, self.points)):
            return None
        return read_choice(self.coupon.data or self.mine.data, self.points.data)

    @property
    def seen_lines(self) -> list[Line]:
        return decode_lines(self.lines.data)

    @property
    def seen_total(self) -> int | None:
        return int(self.total.data) if self.total.data else None


def _variant(form, field) -> None:
    try:
        parse_id(field.data)
    except ValueError:
        raise ValidationError(_l("请先选择款式（尺码、颜色）。")) from None


def _quantity(form, field) -> None:
    try:
        field.data = str(parse_int(field.data or "1", 1, MAX_QUANTITY))
    except ValueError:
        raise ValidationError(_l("数量请填1到%(n)d。", n=MAX_QUANTITY)) from None


class CartForm(ShopForm):
    """Add to the cart, or 立即购买 with the chosen variant: which variant and how many.

    No CSRF token: the product page must stay a page any visitor gets without a session
    being written (browsing costs no database write, and no sid in every link). A forged
    post can only put goods in a cart, which the buyer sees listed before any order."""

    class Meta:
        csrf = False

    v = StringField(_l("款式"), validators=[_variant])
    q = StringField(_l("数量"), default="1", validators=[_quantity])


class CartChangeForm(ShopForm):
    """The cart page's one form: new quantities (q<variant id>) and removals (rm<variant id>)
    are read from the request by the view; this form only carries the CSRF token."""
