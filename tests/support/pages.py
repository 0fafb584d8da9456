"""Reading forms off pages: the CSRF token (the shop's and the back office's markup), the
hidden fields of one form, posting a form with its token."""

import re

from lxml import html

# The shop writes `name="csrf_token" value=…`, the back office adds `type="hidden"` between.
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def token_in(page_text: str) -> str:
    """The CSRF token of the (first) form on a page."""
    return CSRF.search(page_text).group(1)


def csrf(client, url: str) -> str:
    """GET the page at `url` and return its CSRF token."""
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return token_in(page.text)


def post_form(client, url: str, data: dict, form_page: str | None = None, **kwargs):
    """POST data with the CSRF token taken from the page that shows the form."""
    token = csrf(client, form_page or url)
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def form_fields(page_html: str, action: str) -> dict:
    """The hidden fields (CSRF token, expected status, next) of the form posting to `action`."""
    doc = html.fromstring(page_html)
    for form in doc.forms:
        if form.action == action:
            return {i.name: i.value for i in form.inputs if getattr(i, "type", "") == "hidden"}
    raise AssertionError(f"no form posting to {action}")
