"""货到付款: offered where a carrier collects cash; the order then waits for the seller."""

from flask_babel import lazy_gettext as _l

from wapshop.models import OrderStatus
from wapshop.payments import Availability, PaymentMethod, Situation


class CashOnDelivery(PaymentMethod):
    code = "cod"
    label = _l("货到付款")

    def availability(self, situation: Situation) -> Availability:
        if situation.cod_carrier is None:
            return Availability(False, _l("本地区暂无快递代收货款，不能货到付款。"))
        return Availability(True, carrier=situation.cod_carrier)

    def initial_status(self) -> str:
        return OrderStatus.PLACED
