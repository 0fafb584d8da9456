"""What the online ways to pay share: offered where configured, the order waits for payment."""

from flask import current_app

from wapshop.models import OrderStatus, Region
from wapshop.payments import Availability, PaymentMethod


class OnlineMethod(PaymentMethod):
    online = True
    url_setting: str

    def enabled(self) -> bool:
        return bool(processor_settings(current_app.config)[self.url_setting])

    def availability(self, region: Region, phone: str | None) -> Availability:
        return Availability(True)

    def initial_status(self) -> str:
        return OrderStatus.AWAITING_PAYMENT


def processor_settings(config) -> dict:
    """Merchant id, keys and processor URLs in force: configured ones, else the sandboxes'."""
    settings = {
        name: config[name]
        for name in (
            "MERCHANT_ID",
            "CARD_KEY",
            "BANK_KEY",
            "CARD_PROCESSOR_URL",
            "BANK_GATEWAY_URL",
        )
    }
    if config["SANDBOX_PAYMENTS"]:
        from flask import url_for

        settings["CARD_KEY"] = settings["CARD_KEY"] or config["SANDBOX_CARD_KEY"]
        settings["BANK_KEY"] = settings["BANK_KEY"] or config["SANDBOX_BANK_KEY"]
        settings["CARD_PROCESSOR_URL"] = settings["CARD_PROCESSOR_URL"] or url_for(
            "sandbox.card_submit", _external=True, sid=None
        )
        settings["BANK_GATEWAY_URL"] = settings["BANK_GATEWAY_URL"] or url_for(
            "sandbox.bank_page", _external=True, sid=None
        )
    return settings
