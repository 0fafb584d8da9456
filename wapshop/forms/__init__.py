"""WTForms classes, one module per view module. Forms check shape; services check rules."""

from functools import lru_cache

from babel import support
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField, ValidationError
from wtforms.i18n import messages_path

from wapshop.parsing import bad_character, parse_int
from wapshop.services import phones


def plain_text(form, field) -> None:
    """Text we store and later print in XML decks: no NUL, no control characters, nothing XML
    cannot carry; tab and line breaks only in a text area."""
    if isinstance(field.data, str):
        found = bad_character(field.data, multiline=isinstance(field, TextAreaField))
        if found is not None:
            raise ValidationError(_l("不能含有控制字符（%(code)s）。", code=f"U+{ord(found):04X}"))


class ShopForm(FlaskForm):
    """A FlaskForm whose CSRF complaint a buyer can understand, and whose every text field
    refuses control characters (see plain_text)."""

    class Meta:
        def get_translations(self, form):
            """WTForms' own messages in the request's language: each catalogue read once per
            process (flask_wtf reads the file again for every request that shows a form)."""
            return wtforms_catalogue(str(get_locale() or ""))

    def validate(self, extra_validators=None) -> bool:
        extra = {name: list(more) for name, more in (extra_validators or {}).items()}
        for name, field in self._fields.items():
            if isinstance(field, StringField):
                extra.setdefault(name, []).insert(0, plain_text)
        ok = super().validate(extra)
        if self.meta.csrf and self.csrf_token.errors:
            self.csrf_token.errors = [_l("页面已过期，请再提交一次。")]
        return ok

    @property
    def page_errors(self) -> list:
        """Errors that belong to no one field: refusals from services, an expired page."""
        csrf = list(self.csrf_token.errors) if self.meta.csrf else []
        return [*self.form_errors, *csrf]


@lru_cache(maxsize=8)
def wtforms_catalogue(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale] if locale else [], domain="wtforms")


class WholeNumberField(IntegerField):
    """An IntegerField that reads ASCII digits only, up to what an INTEGER holds: int() would
    take '١٢' and ' +1_0 ', and 10**30 would overflow the database driver. Bounds that
    mean something still belong in a NumberRange."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        try:
            self.data = parse_int(valuelist[0])
        except ValueError:
            self.data = None
            raise ValueError(_l("请填数字（0-9）。")) from None


def take_refusal(form, refusal) -> None:
    """Show a service's Refusal on the form field it names, or above the form when it names
    none (or one this form does not have). The view answers with refusal.status."""
    field = getattr(form, refusal.field, None) if refusal.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, refusal.message]
    else:
        form.form_errors.append(refusal.message)


def mainland_mobile(form, field) -> None:
    """Accept +86/spaces/dashes; store the normalised 11 digits."""
    normalised = phones.normalise(field.data or "")
    if normalised is None:
        raise ValidationError(_l("请填11位手机号。"))
    field.data = normalised
