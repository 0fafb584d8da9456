from flask_wtf.file import FileField, FileRequired
from wtforms import SelectChoice, SelectField, SubmitField

from wapshop.forms import ShopForm
from wapshop.forms.admin import CHOOSE_FROM_LIST

KIND_LABELS = {"products": "商品", "deals": "特价"}


class ImportForm(ShopForm):
    kind = SelectField(
        "内容",
        choices=[SelectChoice(k, label) for k, label in KIND_LABELS.items()],
        invalid_choice_message=CHOOSE_FROM_LIST,
    )
    file = FileField("CSV 文件（UTF-8 或 GBK）", validators=[FileRequired("请选择一个 CSV 文件。")])
    check = SubmitField("只检查，不导入")
    apply = SubmitField("检查并导入")
