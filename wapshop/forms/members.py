"""The buyer's 我的 page: the check-in button (its CSRF token only)."""

from wapshop.forms import ShopForm


class CheckInForm(ShopForm):
    pass
