"""What the online ways to pay share: offered where configured, the order waits for payment.

Processors' settings come from configuration only (Settings.from_config, built by whoever
holds the app's config and passed in): never from the request, so a forged Host header
cannot redirect a card or a buyer, and a script or cron job with an app but no request can
place orders."""

from collections.abc import Mapping
from dataclasses import dataclass

from wapshop.models import OrderStatus
from wapshop.payments import Availability, PaymentMethod, Situation

DEMO_BIND = "127.0.0.1:8000"  # gunicorn.conf.py's default bind
NOTIFY_PATH = "/pay/notify/<processor>"  # the payments blueprint's route for notifications
# The sandboxes' routes (wapshop/sandbox), standing in for processors' URLs in the demo.
SANDBOX_CARD_SUBMIT_PATH = "/sandbox/card/submit"
SANDBOX_BANK_PAGE_PATH = "/sandbox/bank/pay"


@dataclass(frozen=True)
class Settings:
    """Merchant id, signing keys and URLs of the processors, and this shop's public address."""

    merchant_id: str
    keys: Mapping[str, str]  # by processor: card, bank
    urls: Mapping[str, str]  # by processor: where the card goes, the bank's page
    public_base_url: str  # scheme://host[:port], no trailing slash; "" when unknown
    notify_max_age: int  # seconds

    def public_url(self, path: str) -> str:
        """This shop's URL for a path of its own (as url_for builds it, without _external)."""
        return self.public_base_url + path

    def notify_url(self, processor: str) -> str:
        return self.public_url(NOTIFY_PATH.replace("<processor>", processor))

    @classmethod
    def from_config(cls, config: Mapping) -> "Settings":
        """The settings in force: configured ones, else (SANDBOX_PAYMENTS) the sandboxes'."""
        base = public_base_url(config)
        keys = {"card": config["CARD_KEY"], "bank": config["BANK_KEY"]}
        urls = {"card": config["CARD_PROCESSOR_URL"], "bank": config["BANK_GATEWAY_URL"]}
        if config["SANDBOX_PAYMENTS"]:
            keys["card"] = keys["card"] or config["SANDBOX_CARD_KEY"]
            keys["bank"] = keys["bank"] or config["SANDBOX_BANK_KEY"]
            urls["card"] = urls["card"] or base + SANDBOX_CARD_SUBMIT_PATH
            urls["bank"] = urls["bank"] or base + SANDBOX_BANK_PAGE_PATH
        return cls(
            merchant_id=config["MERCHANT_ID"],
            keys=keys,
            urls=urls,
            public_base_url=base,
            notify_max_age=int(config["NOTIFY_MAX_AGE"]),
        )


def public_base_url(config: Mapping) -> str:
    """PUBLIC_BASE_URL; for the sandbox demo without one, http:// and gunicorn's bind
    (WAPSHOP_BIND arrives in the config as BIND, which only the environment sets). Never
    the request's Host."""
    base = config["PUBLIC_BASE_URL"] or ""
    if not base and config["SANDBOX_PAYMENTS"]:
        base = f"http://{config.get('BIND') or DEMO_BIND}"
    return base.rstrip("/")


class OnlineMethod(PaymentMethod):
    online = True

    def enabled(self, settings: Settings) -> bool:
        # The processor must be configured, and must be able to reach us back.
        return bool(settings.urls[self.processor] and settings.public_base_url)

    def availability(self, situation: Situation) -> Availability:
        return Availability(True)

    def initial_status(self) -> str:
        return OrderStatus.AWAITING_PAYMENT
