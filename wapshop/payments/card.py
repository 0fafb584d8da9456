"""手机充值卡: the buyer gives a prepaid phone card; the processor answers later, signed.

Card formats (digits only), as the operators print them:
  中国移动  serial 17, password 18
  中国联通  serial 15, password 19
  中国电信  serial 19, password 18
The password goes to the processor and nowhere else: never stored, logged or shown again."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from wapshop.models import Payment
from wapshop.payments import NotificationRefused, http, signing
from wapshop.payments.online import OnlineMethod, Settings


@dataclass(frozen=True)
class Operator:
    name: str
    serial_digits: int
    password_digits: int


OPERATORS = {
    "cmcc": Operator(_l("中国移动"), 17, 18),
    "unicom": Operator(_l("中国联通"), 15, 19),
    "telecom": Operator(_l("中国电信"), 19, 18),
}
FACE_VALUES_YUAN = (10, 20, 30, 50, 100, 300, 500)

# What a failure from the processor means to the buyer, and what to do about it.
FAILURES = {
    "wrong_password": _l("卡号或密码不对，请核对后再试。"),
    "used": _l("这张卡已经用过了，请换一张卡。"),
    "wrong_face_value": _l("卡的面额和您选的不一样，请选对面额再试。"),
    "unreachable": _l("充值卡系统暂时连不上，请稍后再试，或改用其他付款方式。"),
}


class PrepaidCard(OnlineMethod):
    code = "card"
    label = _l("手机充值卡")
    processor = "card"

    def check_notification(self, fields: dict, payment: Payment) -> None:
        if fields.get("face_fen") != str(payment.card_face_fen):
            raise NotificationRefused("face value does not match the submitted card")


def submit(payment: Payment, serial: str, password: str, settings: Settings) -> str:
    """Send the card to the processor; returns its transaction id once it accepts the job.

    Raises http.Unreachable when it cannot be reached or does not accept."""
    fields = signing.signed(
        {
            "merchant_id": settings.merchant_id,
            "reference": payment.reference,
            "operator": payment.card_operator,
            "face_fen": payment.card_face_fen,
            "serial": serial,
            "password": password,
            "notify_url": settings.notify_url("card"),
        },
        settings.keys["card"],
    )
    status, body = http.post_form(settings.urls["card"], fields)
    if status != 200 or not body.startswith("accepted "):
        raise http.Unreachable(f"card processor answered {status}")
    return body.split(" ", 1)[1].strip()
