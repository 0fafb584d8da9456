"""The ways to pay this shop offers, in the order buyers see them."""

from wapshop.payments import PaymentMethod, balance, bank, card, cod
from wapshop.payments.online import Settings

EVERY: tuple[PaymentMethod, ...] = (
    cod.CashOnDelivery(),
    card.PrepaidCard(),
    bank.BankPayment(),
    balance.BalancePayment(),
)


def methods(settings: Settings) -> list[PaymentMethod]:
    """The ways to pay switched on with these processors' settings."""
    return [m for m in EVERY if m.enabled(settings)]


def by_code(code: str, settings: Settings) -> PaymentMethod | None:
    return next((m for m in methods(settings) if m.code == code), None)


def by_processor(processor: str, settings: Settings) -> PaymentMethod | None:
    return next((m for m in methods(settings) if m.processor == processor), None)
