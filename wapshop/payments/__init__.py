"""Ways to pay, behind one small interface; one module per way, listed in registry.py.

A leaf under the services: nothing here reads the app's configuration, the request or the
services. A method says whether it is offered (and why not) from facts the services looked
up (Situation), and what status a new order paid this way starts in. Online methods also
name their processor and check the fields of its notifications; their settings (URLs, keys)
are passed in (online.Settings). Adding a way to pay means adding a module and listing it in
registry.py."""

from dataclasses import dataclass

from wapshop.models import Payment, Region

# Each way to pay's name on staff pages and reports (Chinese only, as the back office is);
# buyers see each method's own translated `label`.
STAFF_LABELS = {
    "cod": "货到付款",
    "card": "手机充值卡",
    "bank": "网银/手机银行",
    "balance": "账户余额",
}


@dataclass(frozen=True)
class Availability:
    offered: bool
    reason: str = ""  # shown to the buyer when not offered
    carrier: str | None = None


@dataclass(frozen=True)
class Situation:
    """What a way to pay may ask about an order being placed, looked up by the services."""

    region: Region
    cod_carrier: str | None  # who collects cash in the region, if anyone
    balance_fen: int  # the logged-in account's balance (0 for a guest: a phone proves nothing)


class NotificationRefused(Exception):
    """A processor's notification that must change nothing; the text goes back to it."""


class PaymentMethod:
    code: str
    label: str  # marked for translation in the module
    online = False  # the order waits for a processor's notification
    processor: str | None = None
    from_balance = False  # paid at placing from the buyer's balance: the checkout debits it

    def enabled(self, settings) -> bool:
        """Switched on in this shop at all, given the processors' online.Settings? Others
        are not listed."""
        return True

    def availability(self, situation: Situation) -> Availability:
        """Offered in this situation? An empty reason means there is nothing worth telling
        the buyer about it."""
        raise NotImplementedError

    def initial_status(self) -> str:
        raise NotImplementedError

    def check_notification(self, fields: dict, payment: Payment) -> None:
        """Method-specific checks of a verified notification; raise NotificationRefused."""
