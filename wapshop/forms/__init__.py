"""WTForms classes, one module per view module. Forms check shape; services check rules."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import ValidationError

from wapshop.services import phones


class ShopForm(FlaskForm):
    """A FlaskForm whose CSRF complaint a buyer can understand."""

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.meta.csrf and self.csrf_token.errors:
            self.csrf_token.errors = [_l("页面已过期，请再提交一次。")]
        return ok

    @property
    def page_errors(self) -> list:
        """Errors that belong to no one field: refusals from services, an expired page."""
        csrf = list(self.csrf_token.errors) if self.meta.csrf else []
        return [*self.form_errors, *csrf]


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
