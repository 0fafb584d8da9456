"""网银/手机银行: the buyer goes to the bank with parameters the shop signed; the bank tells
the shop server to server. The page the buyer comes back to only shows what the database says."""

from urllib.parse import urlencode

from flask_babel import lazy_gettext as _l

from wapshop.models import Payment
from wapshop.payments import NotificationRefused, signing
from wapshop.payments.online import OnlineMethod, Settings

CURRENCY = "CNY"


class BankPayment(OnlineMethod):
    code = "bank"
    label = _l("网银/手机银行")
    processor = "bank"

    def check_notification(self, fields: dict, payment: Payment) -> None:
        if fields.get("amount_fen") != str(payment.amount_fen):
            raise NotificationRefused("amount does not match the payment")
        if fields.get("currency") != CURRENCY:
            raise NotificationRefused("currency is not CNY")


def gateway_url(payment: Payment, settings: Settings, return_url: str) -> str:
    """Where to send the buyer: the bank's page, with the shop's signed request."""
    fields = signing.signed(
        {
            "merchant_id": settings.merchant_id,
            "reference": payment.reference,
            "amount_fen": payment.amount_fen,
            "currency": CURRENCY,
            "notify_url": settings.notify_url("bank"),
            "return_url": return_url,
        },
        settings.keys["bank"],
    )
    return f"{settings.urls['bank']}?{urlencode(fields)}"
