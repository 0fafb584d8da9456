import re

from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from wapshop.forms import ShopForm, WholeNumberField
from wapshop.forms.admin import renditions_field
from wapshop.models import Collection
from wapshop.services.collections import CollectionInput


class CollectionForm(ShopForm):
    slug = StringField(
        "网址名（/z/后面那段）",
        validators=[
            DataRequired("请填写网址名。"),
            Length(max=40),
            Regexp(r"^[a-z0-9-]+$", message="网址名只能用小写字母、数字和 -。"),
        ],
    )
    name = StringField("名称", validators=[DataRequired("请填写名称。"), Length(max=40)])
    blurb = StringField("一句话介绍", validators=[Length(max=200)])
    renditions = renditions_field()
    position = WholeNumberField(
        "排序（小的在前）",
        default=0,
        validators=[Optional(), NumberRange(0, 9999, "排序 0 到 9999。")],
    )
    active = BooleanField("上线", default=True)
    product_ids = TextAreaField("商品ID（按显示顺序，用空格、逗号或换行隔开）")

    @classmethod
    def for_collection(cls, collection: Collection, product_ids: list[int]) -> "CollectionForm":
        return cls(
            slug=collection.slug,
            name=collection.name,
            blurb=collection.blurb,
            position=collection.position,
            active=collection.active,
            renditions=collection.renditions.split(","),
            product_ids="\n".join(str(i) for i in product_ids),
        )

    def validate_product_ids(self, field):
        parts = [p for p in re.split(r"[\s,，、]+", field.data or "") if p]
        if not all(p.isdigit() for p in parts):
            raise ValidationError("商品ID只能是数字。")
        self.ids = tuple(int(p) for p in parts)

    def data_for_service(self) -> CollectionInput:
        return CollectionInput(
            slug=self.slug.data,
            name=self.name.data.strip(),
            blurb=(self.blurb.data or "").strip(),
            renditions=tuple(self.renditions.data),
            position=self.position.data or 0,
            active=self.active.data,
            product_ids=self.ids,
        )
