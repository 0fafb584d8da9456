"""Who may do what in the back office, what staff read for each status, its refusals and
its settings; finding an order within a seller's scope."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import exists, select

from wapshop.payments import STAFF_LABELS
from wapshop.config import Defaults
from wapshop.extensions import db
from wapshop.models import (
    Order,
    OrderItem,
    OrderStatus,
    Seller,
    Staff,
    StaffRole,
)
from wapshop.models.ops import CallOutcome
from wapshop.services import NotFound, Refusal

S = OrderStatus

# What staff read for each status (the buyers' wording is orders.STATUS_TEXT).
STATUS_LABELS = {
    S.AWAITING_PAYMENT: "待付款",
    S.PAID: "已付款·待审地址",
    S.PLACED: "待审地址",
    S.ADDRESS_OK: "待电话确认",
    S.ADDRESS_INVALID: "地址无效",
    S.CONFIRMED: "待发货",
    S.SHIPPED: "已发货",
    S.DELIVERED: "已签收",
    S.REFUSED: "拒收",
    S.SETTLED: "已结算",
    S.CANCELLED: "已取消",
    S.RETURN_REQUESTED: "申请退货",
    S.RETURNED: "已退货",
    S.REFUNDED: "已退款",
}
# Ways to pay as staff read them (as the checkout offers them).
PAYMENT_LABELS = STAFF_LABELS
OUTCOME_LABELS = {
    CallOutcome.CONFIRMED: "已确认",
    CallOutcome.NO_ANSWER: "无人接听",
    CallOutcome.DECLINED: "买家不要了",
    CallOutcome.FAKE: "虚假订单",
}

# Who may do what; admins may do everything. Sellers only ever see their own orders, and
# make confirmation calls only when they confirm their own orders (Seller.confirms_own_orders).
ACTION_ROLES = {
    "view": (StaffRole.OPERATOR, StaffRole.SERVICE, StaffRole.SELLER),
    "address": (StaffRole.OPERATOR, StaffRole.SERVICE, StaffRole.SELLER),
    "call": (StaffRole.SERVICE, StaffRole.SELLER),
    "ship": (StaffRole.OPERATOR, StaffRole.SELLER),
    "delivery": (StaffRole.OPERATOR, StaffRole.SERVICE, StaffRole.SELLER),
    "cancel": (StaffRole.OPERATOR, StaffRole.SERVICE),
    "settle": (StaffRole.OPERATOR,),
}
ADDRESS_FROM = (S.PLACED, S.PAID)
STAFF_CANCELLABLE = (
    S.AWAITING_PAYMENT,
    S.PAID,
    S.PLACED,
    S.ADDRESS_OK,
    S.ADDRESS_INVALID,
    S.CONFIRMED,
)
# Delivered parcels whose cash the courier still owes, whatever after-sales did since.
COLLECTED = (S.DELIVERED, S.RETURN_REQUESTED, S.RETURNED, S.REFUNDED)


class OpsError(Refusal):
    """A refusal with a message for staff; `field` names the form field it belongs to.
    A missing order is the shared NotFound (404), re-exported here."""

    status = 409


class Forbidden(OpsError):
    status = 403


class BadInput(OpsError):
    status = 400


class Refused(OpsError):
    """Not allowed from the order's status (e.g. ship an order nobody confirmed)."""


class StatusChanged(Refused):
    """Someone else moved the order since this staff member looked at it."""


@dataclass(frozen=True)
class Settings:
    """The back office's knobs, read once from configuration (see settings_from); the
    defaults are config.Defaults', the one place defaults live."""

    call_attempts: int = Defaults.CALL_ATTEMPTS
    retry_delays: tuple[timedelta, ...] = Defaults.CALL_RETRY_DELAYS
    call_deadline: timedelta = Defaults.CALL_DEADLINE
    claim_for: timedelta = Defaults.CALL_CLAIM
    cod_fee_bp: int = Defaults.COD_FEE_BP  # basis points of the cash collected
    cod_fee_min_fen: int = Defaults.COD_FEE_MIN_FEN


def settings_from(config) -> Settings:
    return Settings(
        call_attempts=config["CALL_ATTEMPTS"],
        retry_delays=tuple(config["CALL_RETRY_DELAYS"]),
        call_deadline=config["CALL_DEADLINE"],
        claim_for=config["CALL_CLAIM"],
        cod_fee_bp=config["COD_FEE_BP"],
        cod_fee_min_fen=config["COD_FEE_MIN_FEN"],
    )


def actor_of(staff: Staff) -> str:
    return f"staff:{staff.username}"[:40]


def who(actor: str) -> str:
    """An event's actor as staff read it."""
    if actor.startswith("staff:"):
        return actor.removeprefix("staff:")
    if actor.startswith("buyer") or actor == "guest":
        return "买家"
    if actor.startswith("processor:"):
        return "支付通知"
    return {"system": "系统"}.get(actor, actor)


def may(staff: Staff, action: str) -> bool:
    return staff.role == StaffRole.ADMIN or staff.role in ACTION_ROLES[action]


# --- Finding orders, always within the seller's scope.


def scoped(stmt, seller_id: int | None):
    """Limit a select of orders to one seller's orders (None: all)."""
    if seller_id is None:
        return stmt
    return stmt.where(
        exists().where(OrderItem.order_id == Order.id, OrderItem.seller_id == seller_id)
    )


def get_order(order_id: int, seller_id: int | None) -> Order:
    """The order if this scope may see it; a missing order and another seller's order are the
    same NotFound, so ids cannot be probed."""
    order = db.session.scalar(scoped(select(Order).where(Order.id == order_id), seller_id))
    if order is None:
        raise NotFound("没有这个订单。")
    return order


def confirmed_by_seller(order: Order) -> bool:
    """Big sellers call their own buyers; the shop's customer service calls everyone else's."""
    sellers = {item.seller_id for item in order.items}
    confirming = db.session.scalars(
        select(Seller.id).where(Seller.id.in_(sellers), Seller.confirms_own_orders.is_(True))
    ).all()
    return bool(sellers) and set(confirming) == sellers


def seller_names(order: Order) -> dict[int, str]:
    """Staff may see who ships each item (buyers never do)."""
    ids = {item.seller_id for item in order.items}
    return dict(db.session.execute(select(Seller.id, Seller.name).where(Seller.id.in_(ids))).all())


def check_may_call(staff: Staff, order: Order) -> None:
    """Raises Forbidden unless this staff member makes this order's confirmation call."""
    if staff.role == StaffRole.ADMIN:
        return
    by_seller = confirmed_by_seller(order)
    if staff.role == StaffRole.SELLER and not by_seller:
        raise Forbidden("这个订单由商城客服电话确认。")
    if staff.role == StaffRole.SERVICE and by_seller:
        raise Forbidden("这个订单由卖家自己电话确认。")


def actions_for(staff: Staff, order: Order) -> set[str]:
    """The forms the order's page offers this staff member now."""
    status = order.status
    offered = set()
    if status in (*ADDRESS_FROM, S.ADDRESS_INVALID) and may(staff, "address"):
        offered.add("address")
    if status == S.ADDRESS_OK and may(staff, "call"):
        try:
            check_may_call(staff, order)
            offered.add("call")
        except Forbidden:
            pass
    if status in (S.ADDRESS_OK, S.ADDRESS_INVALID) and may(staff, "call"):
        try:
            check_may_call(staff, order)
            offered.add("correct")
        except Forbidden:
            pass
    if status == S.CONFIRMED and may(staff, "ship"):
        offered.add("ship")
    if status == S.SHIPPED and may(staff, "delivery"):
        offered.add("delivery")
    if status in STAFF_CANCELLABLE and may(staff, "cancel"):
        offered.add("cancel")
    return offered
