"""Members and marketing: points (a ledger of lots), tiers, coupons and their uses, 满减
promotions, RFM segments, SMS campaigns and opt-outs. Keyed on the normalised phone, so
guests identified by phone hold points and coupons as account holders do."""

import json
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wapshop.extensions import db
from wapshop.models.base import utcnow


class PointsAccount(db.Model):
    """A phone's points and its delivered-and-paid spend (what its tier follows). `points` is
    changed only by conditional UPDATE with its ledger row, so it never goes negative."""

    __tablename__ = "points_accounts"
    __table_args__ = (
        CheckConstraint("points >= 0", name="points"),
        CheckConstraint("spend_fen >= 0", name="spend"),
    )
    phone: Mapped[str] = mapped_column(String(11), primary_key=True)
    points: Mapped[int] = mapped_column(default=0)
    spend_fen: Mapped[int] = mapped_column(default=0)


class PointsEntry(db.Model):
    """One change of a phone's points. Earnings are lots: `remaining` of them is unspent and
    expires at `expires_at`; spending takes the oldest lots first."""

    __tablename__ = "points_entries"
    __table_args__ = (
        # An order earns, is taken back, spends and gets its spend back once each.
        UniqueConstraint("order_id", "kind", name="uq_points_entries_order_kind"),
        # One check-in per China day per phone (day is set for check-ins only).
        UniqueConstraint("phone", "kind", "day", name="uq_points_entries_phone_kind_day"),
        CheckConstraint("remaining >= 0", name="remaining"),
        Index("ix_points_entries_phone_expires", "phone", "expires_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(11))
    points: Mapped[int]  # positive earned, negative spent / expired / taken back
    # order, checkin, share, adjust, redeem, refund (a spend given back), reverse, expire
    kind: Mapped[str] = mapped_column(String(12))
    remaining: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime | None]
    day: Mapped[date | None]
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    note: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MemberTier(db.Model):
    """A tier and its perks as admins set them; with no rows, config MEMBER_TIERS applies."""

    __tablename__ = "member_tiers"
    __table_args__ = (
        CheckConstraint("threshold_fen >= 0", name="threshold"),
        CheckConstraint("discount_bp >= 0 AND discount_bp <= 5000", name="discount"),
        CheckConstraint("birthday_coupon_fen >= 0", name="birthday"),
    )
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(10))
    threshold_fen: Mapped[int]
    discount_bp: Mapped[int] = mapped_column(default=0)  # basis points off the goods
    free_shipping: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[bool] = mapped_column(default=False)  # first in the shipping queue
    birthday_coupon_fen: Mapped[int] = mapped_column(default=0)


class Coupon(db.Model):
    """优惠券: fixed fen or a percentage off the goods it covers (all, or some categories or
    products), from a minimum, in a window; `code` is what the buyer types or picks. A public
    coupon is anyone's; otherwise only phones it was granted to may use it."""

    __tablename__ = "coupons"
    __table_args__ = (
        CheckConstraint("kind IN ('fixed', 'percent')", name="kind"),
        CheckConstraint(
            "(kind = 'fixed' AND amount_fen > 0) OR (kind = 'percent' AND percent_bp > 0"
            " AND percent_bp < 10000)",
            name="amount",
        ),
        CheckConstraint("min_goods_fen >= 0", name="minimum"),
        CheckConstraint("ends_at > starts_at", name="window"),
        CheckConstraint("per_phone_cap >= 1", name="per_phone"),
        CheckConstraint("used >= 0 AND (total_cap IS NULL OR used <= total_cap)", name="used"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(8))
    amount_fen: Mapped[int] = mapped_column(default=0)
    percent_bp: Mapped[int] = mapped_column(default=0)
    max_off_fen: Mapped[int | None]  # a percentage coupon's ceiling
    min_goods_fen: Mapped[int] = mapped_column(default=0)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # JSON lists of ids; both empty: every product.
    category_ids_json: Mapped[str] = mapped_column(Text, default="[]")
    product_ids_json: Mapped[str] = mapped_column(Text, default="[]")
    public: Mapped[bool] = mapped_column(default=False)
    stackable: Mapped[bool] = mapped_column(default=False)  # combines with 满减
    total_cap: Mapped[int | None]
    per_phone_cap: Mapped[int] = mapped_column(default=1)
    used: Mapped[int] = mapped_column(default=0)
    stopped: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def category_ids(self) -> list[int]:
        return list(json.loads(self.category_ids_json))

    @property
    def product_ids(self) -> list[int]:
        return list(json.loads(self.product_ids_json))


class CouponGrant(db.Model):
    """A coupon given to one phone (directly, by a segment campaign, on a birthday)."""

    __tablename__ = "coupon_grants"
    __table_args__ = (UniqueConstraint("coupon_id", "phone", name="uq_coupon_grants_coupon_phone"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"))
    phone: Mapped[str] = mapped_column(String(11), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    coupon: Mapped[Coupon] = relationship()


class CouponUse(db.Model):
    """One use of a coupon on an order. `nth` is the phone's nth use of it (unique, so two
    sessions cannot both take the phone's last use); NULL once released (order cancelled)."""

    __tablename__ = "coupon_uses"
    __table_args__ = (
        UniqueConstraint("coupon_id", "phone", "nth", name="uq_coupon_uses_coupon_phone_nth"),
        UniqueConstraint("order_id", name="uq_coupon_uses_order"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"), index=True)
    phone: Mapped[str] = mapped_column(String(11))
    nth: Mapped[int | None]
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    amount_fen: Mapped[int]
    released_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Promotion(db.Model):
    """满减: `off_fen` off an order whose goods reach `threshold_fen`, in a window."""

    __tablename__ = "promotions"
    __table_args__ = (
        CheckConstraint("off_fen > 0 AND off_fen < threshold_fen", name="amounts"),
        CheckConstraint("ends_at > starts_at", name="window"),
        Index("ix_promotions_ends_at", "ends_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    threshold_fen: Mapped[int]
    off_fen: Mapped[int]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    stopped: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MemberSegment(db.Model):
    """A phone's RFM figures and segment as of the last `flask members rfm`."""

    __tablename__ = "member_segments"
    phone: Mapped[str] = mapped_column(String(11), primary_key=True)
    segment: Mapped[str] = mapped_column(String(12), index=True)
    last_order_at: Mapped[datetime]
    orders: Mapped[int]
    spend_fen: Mapped[int]
    computed_at: Mapped[datetime]


class SmsOptOut(db.Model):
    """A phone that answered 退订: no marketing SMS goes to it."""

    __tablename__ = "sms_opt_outs"
    phone: Mapped[str] = mapped_column(String(11), primary_key=True)
    text: Mapped[str] = mapped_column(String(70), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Campaign(db.Model):
    """A coupon plus an SMS to a segment. Recipients are written in batches, each its outbox
    message; a second send of the same campaign adds nobody twice."""

    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    segment: Mapped[str] = mapped_column(String(12))
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))
    message: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft, sent
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    coupon: Mapped[Coupon | None] = relationship()


class CampaignRecipient(db.Model):
    __tablename__ = "campaign_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "phone", name="uq_campaign_recipients_campaign_phone"),
        Index("ix_campaign_recipients_phone_at", "phone", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    phone: Mapped[str] = mapped_column(String(11))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
