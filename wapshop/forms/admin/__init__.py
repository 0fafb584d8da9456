"""Back-office forms, one module per admin view module. Staff pages are Chinese only, so these
labels and messages are plain strings, not catalogue messages."""

from wtforms import SelectChoice, SelectMultipleField, StringField, ValidationError
from wtforms.validators import DataRequired
from wtforms.widgets import CheckboxInput, ListWidget

from wapshop.forms import ShopForm
from wapshop.renditions import RENDITIONS
from wapshop.money import format_fen, parse_yuan
from wapshop.renditions import LABELS

# <input type="datetime-local"> sends the first; people typing by hand write the others.
TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
RENDITION_CHOICES = [SelectChoice(r, f"{r}（{LABELS[r]}）") for r in RENDITIONS]


class ActionForm(ShopForm):
    """A button that changes something (stop, copy, delete): only its CSRF token."""


class YuanField(StringField):
    """A price typed in yuan ('29.9' or '￥29.90'); `fen` holds it once validated."""

    fen: int | None = None

    def process_data(self, value):
        # Filled from a model in fen; shown in yuan.
        self.data = format_fen(value).lstrip("￥") if isinstance(value, int) else value

    def pre_validate(self, form):
        try:
            self.fen = parse_yuan(self.data or "")
        except ValueError:
            raise ValidationError("请填金额，单位元，例如 29.90。") from None
        if self.fen <= 0:
            raise ValidationError("金额必须大于 0。")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def renditions_field(label: str = "给哪些版本看") -> MultiCheckboxField:
    return MultiCheckboxField(
        label,
        choices=RENDITION_CHOICES,
        default=list(RENDITIONS),
        validators=[DataRequired("请至少选择一个版本。")],
        invalid_choice_message="没有这个版本：%(value)s。",
    )


CHOOSE_FROM_LIST = "请从列表里选择。"
