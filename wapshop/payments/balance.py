"""账户余额: a logged-in buyer pays from the balance that card remainders built up. The
checkout debits the balance in the order's transaction (services/checkout.py)."""

from flask_babel import lazy_gettext as _l

from wapshop.money import format_fen
from wapshop.models import OrderStatus
from wapshop.payments import Availability, PaymentMethod, Situation


class BalancePayment(PaymentMethod):
    code = "balance"
    label = _l("账户余额")
    from_balance = True

    def availability(self, situation: Situation) -> Availability:
        # Only the account's owner may spend it: a typed-in phone number proves nothing.
        # Without one, or with nothing in it, the option is not worth a line on the page.
        # (The account page tells buyers what their balance is for.)
        if situation.balance_fen <= 0:
            return Availability(False)
        return Availability(True, _l("余额 %(amount)s", amount=format_fen(situation.balance_fen)))

    def initial_status(self) -> str:
        return OrderStatus.PAID
