"""Ways to pay, behind one small interface; one module per way.

A method says whether it is offered (and why not), what status a new order paid this way
starts in, and what happens once the order is written. Online methods also name their
processor and check the fields of its notifications. Adding a way to pay means adding a
module and listing it in methods()."""

from dataclasses import dataclass

from wapshop.models import Order, Payment, Region


@dataclass(frozen=True)
class Availability:
    offered: bool
    reason: str = ""  # shown to the buyer when not offered
    carrier: str | None = None


class NotificationRefused(Exception):
    """A processor's notification that must change nothing; the text goes back to it."""


class PaymentMethod:
    code: str
    label: str  # marked for translation in the module
    online = False  # the order waits for a processor's notification
    processor: str | None = None

    def enabled(self) -> bool:
        """Switched on in this shop at all (a processor configured)? Others are not listed."""
        return True

    def availability(self, region: Region, phone: str | None) -> Availability:
        """Offered for this delivery region and (logged-in) buyer phone? An empty reason
        means there is nothing worth telling the buyer about it."""
        raise NotImplementedError

    def initial_status(self) -> str:
        raise NotImplementedError

    def after_placed(self, order: Order) -> None:
        """Inside the order's transaction, once it is written. May raise a CheckoutError."""

    def check_notification(self, fields: dict, payment: Payment) -> None:
        """Method-specific checks of a verified notification; raise NotificationRefused."""


def methods() -> list[PaymentMethod]:
    """The ways to pay this shop has switched on, in the order buyers see them."""
    from wapshop.payments import balance, bank, card, cod

    every = [cod.CashOnDelivery(), card.PrepaidCard(), bank.BankPayment(), balance.BalancePayment()]
    return [m for m in every if m.enabled()]


def by_code(code: str) -> PaymentMethod | None:
    return next((m for m in methods() if m.code == code), None)


def by_processor(processor: str) -> PaymentMethod | None:
    return next((m for m in methods() if m.processor == processor), None)
