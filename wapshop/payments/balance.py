"""账户余额: a logged-in buyer pays from the balance that card remainders built up."""

from flask_babel import lazy_gettext as _l

from wapshop.money import format_fen
from wapshop.models import Order, OrderStatus, Region
from wapshop.payments import Availability, PaymentMethod
from wapshop.services import balances


class BalancePayment(PaymentMethod):
    code = "balance"
    label = _l("账户余额")

    def availability(self, region: Region, phone: str | None) -> Availability:
        # Only the account's owner may spend it: a typed-in phone number proves nothing.
        # Without one, or with nothing in it, the option is not worth a line on the page.
        # (The account page tells buyers what their balance is for.)
        have = balances.amount(phone) if phone else 0
        if have <= 0:
            return Availability(False)
        return Availability(True, _l("余额 %(amount)s", amount=format_fen(have)))

    def initial_status(self) -> str:
        return OrderStatus.PAID

    def after_placed(self, order: Order) -> None:
        from wapshop.services import checkout, payments

        payer = payments.payer_phone(order)
        payment = payments.new_payment(order, self.code, "balance", status="succeeded")
        try:
            balances.debit(payer, order.total_fen, "order_payment", payment.id, order.id)
        except balances.InsufficientBalance as exc:
            raise checkout.PaymentUnavailable(_l("余额不足，请选择其他付款方式。")) from exc
