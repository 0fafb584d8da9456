"""Ways to pay, behind one small interface; one module per way.

A method says whether it is offered for a delivery region (and why not), and what status an
order paid this way starts in. Adding a way to pay means adding a module and listing it here."""

from dataclasses import dataclass

from wapshop.models import Region


@dataclass(frozen=True)
class Availability:
    offered: bool
    reason: str = ""  # shown to the buyer when not offered
    carrier: str | None = None


class PaymentMethod:
    code: str
    label: str  # marked for translation in the module

    def availability(self, region: Region) -> Availability:
        raise NotImplementedError

    def initial_status(self) -> str:
        raise NotImplementedError


def methods() -> list[PaymentMethod]:
    from wapshop.payments import cod

    return [cod.CashOnDelivery()]


def by_code(code: str) -> PaymentMethod | None:
    return next((m for m in methods() if m.code == code), None)
