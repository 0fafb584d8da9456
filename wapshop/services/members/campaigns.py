"""Campaigns: a coupon plus an SMS to an RFM segment (the win-back SMS to 沉睡 buyers).

The audience is the segment less phones that answered 退订 and phones that already had
CAMPAIGN_PER_PHONE campaign SMS in CAMPAIGN_WINDOW; a phone gets one SMS per campaign (a
unique row), so a repeated or interrupted send adds nobody twice. Messages go to the SMS
outbox (services/notify.py's table; `flask sms send` sends them) in batches, each committed
by the caller, and every one ends with the opt-out instruction."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, insert, select, update

from wapshop.extensions import db
from wapshop.models import (
    Campaign,
    CampaignRecipient,
    Coupon,
    CouponUse,
    MemberSegment,
    Order,
    OutboxMessage,
    SmsOptOut,
    Staff,
)
from wapshop.services import Refusal, admin_audit
from wapshop.services.members import coupons, rfm
from wapshop.services.members.settlement import UNDONE

KIND = "campaign"
OPT_OUT_TAIL = "回T退订"
MESSAGE_MAX = 60
STATUS_LABELS = {"draft": "未发送", "sending": "发送中", "sent": "已发送"}


class CampaignRefused(Refusal):
    status = 400


@dataclass(frozen=True)
class Preview:
    phones: list[str]  # who gets it, in order
    segment_size: int
    opted_out: int
    capped: int


@dataclass(frozen=True)
class CampaignReport:
    recipients: int
    sent: int  # outbox messages the gateway took
    coupons_used: int
    orders: int
    revenue_fen: int


def create_campaign(
    name: str, segment: str, coupon_id: int | None, message: str, staff: Staff | None
) -> Campaign:
    """A draft. Raises CampaignRefused for an unknown segment or coupon or a long message.
    Flushes and audits; the caller commits."""
    if segment not in rfm.SEGMENTS:
        raise CampaignRefused("请选择一个分组。", field="segment")
    if coupon_id is not None and coupons.get(coupon_id) is None:
        raise CampaignRefused("没有这张优惠券。", field="coupon_id")
    if not message.strip() or len(message) > MESSAGE_MAX:
        raise CampaignRefused(f"短信内容 1 到 {MESSAGE_MAX} 个字。", field="message")
    campaign = Campaign(name=name, segment=segment, coupon_id=coupon_id,
                        message=message.strip(), staff_id=staff.id if staff else None)  # fmt: skip
    db.session.add(campaign)
    db.session.flush()
    admin_audit.record(staff, "create", "campaign", campaign.id, None,
                       {"name": name, "segment": segment, "coupon_id": coupon_id})  # fmt: skip
    return campaign


def compose(campaign: Campaign, shop_name: str) -> str:
    """The SMS: 【shop】, the message, the coupon's code, the opt-out instruction last."""
    code = f"券码{campaign.coupon.code}，" if campaign.coupon is not None else ""
    return f"【{shop_name}】{campaign.message}{code}{OPT_OUT_TAIL}"


def preview(campaign: Campaign, now: datetime, settings) -> Preview:
    """Who would get the campaign now (those it has not reached yet), and who is left out."""
    segment = rfm.phones_in(campaign.segment)
    # Joined on the segment table, not an IN list: a segment may hold a million phones.
    in_segment = MemberSegment.segment == campaign.segment
    opted = set(
        db.session.scalars(
            select(SmsOptOut.phone).join(
                MemberSegment, and_(SmsOptOut.phone == MemberSegment.phone, in_segment)
            )
        )
    )
    recent = db.session.execute(
        select(CampaignRecipient.phone, func.count(CampaignRecipient.id))
        .join(MemberSegment, and_(CampaignRecipient.phone == MemberSegment.phone, in_segment))
        .where(CampaignRecipient.created_at > now - settings.campaign_window)
        .group_by(CampaignRecipient.phone)
    ).all()
    capped = {p for p, n in recent if n >= settings.campaign_per_phone} - opted
    reached = set(
        db.session.scalars(
            select(CampaignRecipient.phone).where(CampaignRecipient.campaign_id == campaign.id)
        )
    )
    phones = [p for p in segment if p not in opted and p not in capped and p not in reached]
    return Preview(phones, len(segment), len(opted), len(capped - reached))


def send_batch(campaign: Campaign, now: datetime, settings) -> int:
    """Write the next batch (CAMPAIGN_BATCH phones): each its coupon grant, outbox message
    and recipient row. Returns how many; 0 when everyone is reached (the campaign is then
    marked sent). Flushes; the caller commits after each batch."""
    # Lock the campaign (PostgreSQL: a second sender waits for this batch, then sees it).
    db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id)
        .values(status="sending")
        .execution_options(synchronize_session=False)
    )
    phones = preview(campaign, now, settings).phones[: settings.campaign_batch]
    if not phones:
        db.session.execute(
            update(Campaign)
            .where(Campaign.id == campaign.id)
            .values(status="sent", sent_at=func.coalesce(Campaign.sent_at, now))
            .execution_options(synchronize_session=False)
        )
        db.session.expire(campaign)
        return 0
    if campaign.coupon_id is not None:
        coupons.grant(campaign.coupon_id, phones, campaign.id)
    body = compose(campaign, settings.shop_name)
    for phone in phones:
        message_id = db.session.execute(
            insert(OutboxMessage)
            .values(
                phone=phone,
                kind=KIND,
                body=body,
                status="pending",
                attempts=0,
                last_error="",
                sent_via="",
                created_at=now,
            )  # fmt: skip
            .returning(OutboxMessage.id)
        ).scalar_one()
        db.session.add(
            CampaignRecipient(
                campaign_id=campaign.id, phone=phone, message_id=message_id, created_at=now
            )
        )
    db.session.flush()
    return len(phones)


def send_all(campaign: Campaign, clock, settings, end_batch) -> int:
    """Every batch of the campaign; `end_batch` (the caller's commit) ends each one, so a
    large segment never sits in one transaction. Returns the messages written."""
    total = 0
    while written := send_batch(campaign, clock(), settings):
        end_batch()
        total += written
    end_batch()
    return total


def opt_out(phone: str, text: str, words) -> bool:
    """An inbound SMS: record the opt-out when its text is one of the opt-out words (退订, T,
    TD…) or contains 退订. Returns whether it opted out. Flushes; the caller commits."""
    said = (text or "").strip().upper()
    if not (said in {w.upper() for w in words} or "退订" in said):
        return False
    if db.session.get(SmsOptOut, phone) is None:
        db.session.add(SmsOptOut(phone=phone, text=said[:70]))
        db.session.flush()
    return True


def listing() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(100)))


def get(campaign_id: int) -> Campaign | None:
    return db.session.get(Campaign, campaign_id)


def report(campaign: Campaign) -> CampaignReport:
    """Recipients, messages sent, the campaign coupon's uses by recipients, and the orders
    (not undone) those uses were on with their revenue."""
    recipients = select(CampaignRecipient.phone).where(CampaignRecipient.campaign_id == campaign.id)
    count = db.session.scalar(select(func.count()).select_from(recipients.subquery()))
    sent = db.session.scalar(
        select(func.count(OutboxMessage.id))
        .join(CampaignRecipient, CampaignRecipient.message_id == OutboxMessage.id)
        .where(CampaignRecipient.campaign_id == campaign.id, OutboxMessage.status == "sent")
    )
    used = orders = revenue = 0
    if campaign.coupon_id is not None:
        uses = select(CouponUse.order_id).where(
            CouponUse.coupon_id == campaign.coupon_id,
            CouponUse.phone.in_(recipients),
            CouponUse.released_at.is_(None),
        )
        used = db.session.scalar(select(func.count()).select_from(uses.subquery()))
        orders, revenue = db.session.execute(
            select(func.count(Order.id), func.coalesce(func.sum(Order.total_fen), 0)).where(
                Order.id.in_(uses), Order.status.not_in(UNDONE)
            )
        ).one()
    return CampaignReport(count, sent, used, orders, revenue)


def segment_sizes() -> dict[str, int]:
    return dict(
        db.session.execute(
            select(MemberSegment.segment, func.count(MemberSegment.phone)).group_by(
                MemberSegment.segment
            )
        ).all()
    )


def coupon_choices() -> list[Coupon]:
    return [c for c in coupons.listing() if not c.stopped]
