"""Back-office marketing forms: coupons, 满减, points adjustments, tiers and campaigns."""

import re
from decimal import Decimal

from wtforms import (
    BooleanField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from wapshop.clock import from_china
from wapshop.forms import ShopForm, WholeNumberField, mainland_mobile
from wapshop.forms.admin import CHOOSE_FROM_LIST, YuanField
from wapshop.forms.admin.deals import _cst_time
from wapshop.money import parse_yuan
from wapshop.parsing import parse_int
from wapshop.services import phones as phone_numbers
from wapshop.services.members import rfm
from wapshop.services.members.coupons import KIND_LABELS, CouponInput
from wapshop.services.members.promotions import PromotionInput
from wapshop.services.members.tiers import Tier

PHONES_MAX = 2000


def _optional_fen(field) -> int | None:
    text = (field.data or "").strip()
    if not text:
        return None
    try:
        fen = parse_yuan(text)
    except ValueError:
        fen = -1
    if fen < 0:
        raise ValidationError("请填金额，单位元，例如 29.90。")
    return fen


def _ids(text: str) -> tuple[int, ...]:
    parts = [p for p in (text or "").replace("，", ",").split(",") if p.strip()]
    try:
        return tuple(parse_int(p) for p in parts)
    except ValueError:
        raise ValidationError("请填数字ID，用逗号分开。") from None


class CouponForm(ShopForm):
    name = StringField(
        "名称", validators=[DataRequired("请填写名称。"), Length(max=40, message="最多 40 个字。")]
    )
    code = StringField(
        "券码（空：自动生成）", validators=[Length(max=20, message="最多 20 个字。")]
    )
    kind = SelectField(
        "类型",
        choices=[SelectChoice(k, label) for k, label in KIND_LABELS.items()],
        invalid_choice_message=CHOOSE_FROM_LIST,
    )
    amount = StringField("立减金额（元，立减券）")
    percent = WholeNumberField(
        "减百分之几（折扣券，1-99）", validators=[Optional(), NumberRange(1, 99, "1 到 99。")]
    )
    max_off = StringField("最多减（元，折扣券，可空）")
    min_goods = StringField("最低消费（元，可空）")
    starts_at = _cst_time("开始（北京时间）")
    ends_at = _cst_time("结束（北京时间）")
    category_ids = StringField(
        "只限这些分类ID（逗号分开，空：全部商品）",
        validators=[Length(max=500, message="最多 500 个字。")],
    )
    product_ids = StringField(
        "只限这些商品ID（逗号分开）", validators=[Length(max=500, message="最多 500 个字。")]
    )
    public = BooleanField("公开券码：谁都可以输入使用")
    stackable = BooleanField("可与满减同享")
    total_cap = WholeNumberField(
        "总共可用次数（空：不限）", validators=[Optional(), NumberRange(1, 10_000_000, "1 起。")]
    )
    per_phone_cap = WholeNumberField(
        "每个手机号可用次数",
        default=1,
        validators=[InputRequired("请填次数。"), NumberRange(1, 99, "1 到 99 次。")],
    )
    phones = TextAreaField(
        "发给这些手机号（每行一个，可空）",
        validators=[Length(max=PHONES_MAX * 14, message="手机号太多了。")],
    )

    def validate_amount(self, field):
        fen = _optional_fen(field)
        if self.kind.data == "fixed" and not fen:
            raise ValidationError("立减券请填金额。")

    def validate_percent(self, field):
        if self.kind.data == "percent" and not field.data:
            raise ValidationError("折扣券请填百分比。")

    def validate_max_off(self, field):
        _optional_fen(field)

    def validate_min_goods(self, field):
        _optional_fen(field)

    def validate_category_ids(self, field):
        _ids(field.data)

    def validate_product_ids(self, field):
        _ids(field.data)

    def validate_phones(self, field):
        found = self.phone_list()
        if found is None:
            raise ValidationError("有的手机号不对：每行一个 11 位手机号。")
        if len(found) > PHONES_MAX:
            raise ValidationError(f"一次最多 {PHONES_MAX} 个手机号。")

    def phone_list(self) -> list[str] | None:
        lines = [ln.strip() for ln in (self.phones.data or "").splitlines() if ln.strip()]
        found = [phone_numbers.normalise(ln) for ln in lines]
        return None if None in found else sorted(set(found))

    def data_for_service(self) -> CouponInput:
        fixed = self.kind.data == "fixed"
        return CouponInput(
            name=self.name.data.strip(),
            kind=self.kind.data,
            amount_fen=_optional_fen(self.amount) or 0 if fixed else 0,
            percent_bp=0 if fixed else self.percent.data * 100,
            max_off_fen=None if fixed else _optional_fen(self.max_off),
            min_goods_fen=_optional_fen(self.min_goods) or 0,
            starts_at=from_china(self.starts_at.data),
            ends_at=from_china(self.ends_at.data),
            category_ids=_ids(self.category_ids.data),
            product_ids=_ids(self.product_ids.data),
            public=self.public.data,
            stackable=self.stackable.data,
            total_cap=self.total_cap.data,
            per_phone_cap=self.per_phone_cap.data,
            code=self.code.data or "",
        )


class PromotionForm(ShopForm):
    name = StringField(
        "名称（如 满300减50）",
        validators=[DataRequired("请填写名称。"), Length(max=40, message="最多 40 个字。")],
    )
    threshold = YuanField("满（元）")
    off = YuanField("减（元）")
    starts_at = _cst_time("开始（北京时间）")
    ends_at = _cst_time("结束（北京时间）")

    def data_for_service(self) -> PromotionInput:
        return PromotionInput(
            name=self.name.data.strip(),
            threshold_fen=self.threshold.fen,
            off_fen=self.off.fen,
            starts_at=from_china(self.starts_at.data),
            ends_at=from_china(self.ends_at.data),
        )


class PointsAdjustForm(ShopForm):
    phone = StringField("手机号", validators=[DataRequired("请填手机号。"), mainland_mobile])
    points = StringField("加减积分（扣除写负数，如 -200）", validators=[DataRequired("请填积分。")])
    reason = StringField(
        "原因",
        validators=[DataRequired("请写明原因。"), Length(max=100, message="最多 100 个字。")],
    )

    def validate_points(self, field):
        text = (field.data or "").strip()
        try:
            value = parse_int(text.lstrip("-"), 1, 10_000_000)
        except ValueError:
            raise ValidationError("请填 1 到 10000000 的整数，扣除写负数。") from None
        field.data = -value if text.startswith("-") else value


class PhoneLookupForm(ShopForm):
    class Meta:
        csrf = False

    phone = StringField("手机号", validators=[DataRequired("请填手机号。"), mainland_mobile])


PERCENT = re.compile(r"\d{1,2}(\.\d{1,2})?")


def _basis_points(text: str) -> int:
    return int(Decimal(text.strip()) * 100)


def _percent(form, field) -> None:
    text = (field.data or "").strip()
    if not PERCENT.fullmatch(text) or _basis_points(text) > 5000:
        raise ValidationError("请填 0 到 50 的百分比，例如 2 或 2.5。")


def tiers_form(tiers: list[Tier]):
    """A form with a row of fields per tier (its threshold, discount and perks)."""

    class TiersForm(ShopForm):
        def rows(self):
            return [(t, [self[f"{t.code}_{name}"] for name in TIER_FIELDS]) for t in tiers]

        def data_for_service(self) -> list[Tier]:
            return [
                Tier(
                    t.code,
                    t.name,
                    self[f"{t.code}_threshold"].fen if t.threshold_fen else 0,
                    _basis_points(self[f"{t.code}_discount"].data),
                    self[f"{t.code}_free_shipping"].data,
                    self[f"{t.code}_priority"].data,
                    _optional_fen(self[f"{t.code}_birthday"]) or 0,
                )
                for t in tiers
            ]

    for t in tiers:
        threshold = YuanField if t.threshold_fen else StringField
        setattr(
            TiersForm, f"{t.code}_threshold", threshold("累计消费（元）", default=t.threshold_fen)
        )
        setattr(
            TiersForm,
            f"{t.code}_discount",
            StringField(
                "会员优惠（%，0 到 50，可带两位小数）",
                default=f"{t.discount_bp / 100:g}",
                validators=[_percent],
            ),
        )
        setattr(TiersForm, f"{t.code}_free_shipping", BooleanField("包邮", default=t.free_shipping))
        setattr(TiersForm, f"{t.code}_priority", BooleanField("优先发货", default=t.priority))
        setattr(
            TiersForm,
            f"{t.code}_birthday",
            StringField(
                "生日券（元）",
                default=f"{t.birthday_coupon_fen / 100:.2f}",
                validators=[lambda form, field: _optional_fen(field)],
            ),
        )
    return TiersForm


TIER_FIELDS = ("threshold", "discount", "free_shipping", "priority", "birthday")


class CampaignForm(ShopForm):
    name = StringField(
        "名称", validators=[DataRequired("请填写名称。"), Length(max=40, message="最多 40 个字。")]
    )
    segment = SelectField(
        "发给哪个分组",
        choices=[SelectChoice(s, s) for s in rfm.SEGMENTS],
        invalid_choice_message=CHOOSE_FROM_LIST,
    )
    coupon_id = SelectField("附带优惠券", coerce=int, invalid_choice_message=CHOOSE_FROM_LIST)
    message = TextAreaField(
        "短信内容（不含店名、券码和退订说明，会自动加上）",
        validators=[DataRequired("请填写短信内容。"), Length(max=60, message="最多 60 个字。")],
    )
