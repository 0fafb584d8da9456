"""货到付款: offered where a carrier collects cash; the order then waits for the seller."""

from flask_babel import lazy_gettext as _l

from wapshop.models import OrderStatus, Region
from wapshop.payments import Availability, PaymentMethod
from wapshop.services import regions


class CashOnDelivery(PaymentMethod):
    code = "cod"
    label = _l("货到付款")

    def availability(self, region: Region, phone: str | None) -> Availability:
        carrier = regions.cod_carrier(region)
        if carrier is None:
            return Availability(False, _l("本地区暂无快递代收货款，不能货到付款。"))
        return Availability(True, carrier=carrier)

    def initial_status(self) -> str:
        return OrderStatus.PLACED
