"""A buyer's after-sales forms: what is wanted and why, and adding to an open request."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from wapshop.forms import ShopForm
from wapshop.services.aftersales import BODY_MAX, KIND_TEXT


def _text(label):
    return StringField(
        label,
        filters=[lambda s: s.strip() if s else s],
        validators=[
            DataRequired(_l("请写下您的问题或原因。")),
            Length(max=BODY_MAX, message=_l("最多%(n)d个字。", n=BODY_MAX)),
        ],
    )


class TicketForm(ShopForm):
    kind = SelectField(
        _l("办理"),
        choices=[SelectChoice(str(kind), text) for kind, text in KIND_TEXT.items()],
        validators=[DataRequired(_l("请选择要办理的事项。"))],
        validate_choice=False,  # the service refuses an unknown kind in words buyers read
    )
    body = _text(_l("说明"))
    # An exchange to another size or colour; choices per order (views/aftersales.py).
    variant = SelectField(_l("换成"), choices=[], validate_choice=False)

    def variant_id(self) -> int | None:
        """The chosen variant's id, None for none; 0 (no such variant) for anything else."""
        text = self.variant.data or ""
        return None if not text else int(text) if text.isascii() and text.isdigit() else 0


class TicketReplyForm(ShopForm):
    body = _text(_l("补充"))
