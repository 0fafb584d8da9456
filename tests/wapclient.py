"""A tiny feature-phone browser for tests: no cookies, no script, only what the markup offers.

WapClient follows links (by text or access key), submits XHTML forms and WML <go> anchors,
follows redirects itself and records every response. It talks to the Flask test client
(FlaskTransport) or to a live server over requests (HttpTransport) through one small interface.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
from lxml import etree, html

from wapshop.renditions import LABELS as RENDITION_LABELS

XML_TYPES = ("text/vnd.wap.wml", "application/vnd.wap.xhtml+xml", "application/xhtml+xml")
REDIRECTS = (301, 302, 303, 307, 308)
# Tolerant parsing, as a phone does; validity is test_markup's business, not the browser's.
_XML_PARSER = etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False)
# $$ is a literal $; $(name), $(name:conversion) and $name read a WML variable.
_WML_VAR = re.compile(r"\$\$|\$\((\w+)(?::\w+)?\)|\$(\w+)")
_KEY_BEFORE = re.compile(r"(?:^|[^\d.])(\d)\.\s*$")  # WML: "1.<a>…"
_KEY_INSIDE = re.compile(r"^(\d)\.?(?![\d.])")  # WML: "<a>0首页</a>", "<a>1.查看订单</a>"


class BrowserError(AssertionError):
    """The page does not offer what the test tried to do."""


# --- Transports: send one request, return (status, headers with lower-case names, body).


class FlaskTransport:
    """The app's test client, never keeping cookies."""

    base_url = "http://localhost"

    def __init__(self, app):
        self.client = app.test_client(use_cookies=False)

    def send(self, method: str, url: str, headers: dict, data: bytes | None):
        with self.client.open(url, method=method, headers=headers, data=data) as r:
            return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.get_data()


class HttpTransport:
    """A live server over requests, with a Session whose cookie jar accepts nothing."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or .netrc from the environment
        self.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=()))

    def send(self, method: str, url: str, headers: dict, data: bytes | None):
        r = self.session.request(
            method, url, headers=headers, data=data, allow_redirects=False, timeout=20
        )
        return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content


# --- What the browser sends and sees.


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    body: bytes | None  # urlencoded form data, for POST


@dataclass(frozen=True)
class Link:
    text: str
    href: str
    accesskey: str | None


@dataclass(frozen=True)
class Control:
    """A form control or WML variable. A choice maps what may be picked (a value, or the
    option's shown text) to what is sent."""

    name: str
    default: str | None  # None: not sent unless filled (a radio group with nothing checked)
    choices: dict[str, str] | None = None
    editable: bool = True


@dataclass(frozen=True)
class Response:
    method: str
    url: str
    status: int
    headers: dict
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def is_wml(self) -> bool:
        return self.content_type.startswith("text/vnd.wap.wml")

    @cached_property
    def doc(self):
        """The parsed page: XML for WML and XHTML types, HTML otherwise (as a browser does)."""
        if self.content_type.split(";")[0].strip() in XML_TYPES:
            return etree.fromstring(self.body, _XML_PARSER)
        return html.document_fromstring(self.body)

    def find(self, tag: str) -> list:
        """Elements by local name, in any namespace or none."""
        return list(self.doc.iter(f"{{*}}{tag}"))

    def links(self) -> list[Link]:
        return [
            Link(_text(a), a.get("href"), self._accesskey(a))
            for a in self.find("a")
            if a.get("href") is not None
        ]

    def _accesskey(self, a) -> str | None:
        """XHTML's accesskey attribute; WML 1.1 has none, so the digit shown at the link."""
        if not self.is_wml:
            return a.get("accesskey")
        previous = a.getprevious()
        before = (previous.tail if previous is not None else a.getparent().text) or ""
        found = _KEY_BEFORE.search(before) or _KEY_INSIDE.search(_text(a))
        return found.group(1) if found else None

    def urls(self) -> list[str]:
        """Every URL the page would send the browser to: links, forms, images, WML <go>."""
        attrs = (("a", "href"), ("form", "action"), ("img", "src"), ("go", "href"))
        return [el.get(attr) for tag, attr in attrs for el in self.find(tag) if el.get(attr)]

    @property
    def visible_text(self) -> str:
        return "".join(self.doc.itertext())

    def submission(self, label: str, fields: dict) -> Request:
        """What pressing the button (WML: the anchor) labelled `label` sends; BrowserError
        when the page has no such button."""
        build = wml_submission if self.is_wml else xhtml_submission
        return build(self, label, fields)

    def query_values(self, name: str) -> set[str]:
        """Values of one parameter across the page's URLs, hidden fields and postfields."""
        values = {v for url in self.urls() for k, v in parse_qsl(urlsplit(url).query) if k == name}
        for tag in ("input", "postfield"):
            values |= {el.get("value") for el in self.find(tag) if el.get("name") == name}
        return values


def _text(element) -> str:
    return "".join(element.itertext()).strip()


def _local(element) -> str:
    return etree.QName(element).localname


# --- Forms: XHTML <form>, or a WML <anchor>/<do> holding a <go>.


def _buttons(form) -> list[tuple[str, object]]:
    """(label, element) of a form's submit buttons."""
    return [
        (el.get("value") if _local(el) == "input" else _text(el), el)
        for el in form.iter("{*}input", "{*}button")
        if el.get("type", "submit" if _local(el) == "button" else "text") == "submit"
    ]


def _xhtml_form(page: Response, label: str) -> tuple:
    """(form element, clicked button) for the submit button showing `label`."""
    for form in page.find("form"):
        for shown, button in _buttons(form):
            if shown == label:
                return form, button
    raise BrowserError(f"no form with a {label!r} button on {page.url}")


def _options(select) -> dict[str, str]:
    """Shown text or value → value, for each option of a select."""
    options = [(_text(o), o.get("value", _text(o))) for o in select.iter("{*}option")]
    return {**{text: value for text, value in options}, **{v: v for _t, v in options}}


def _xhtml_controls(form) -> list[Control]:
    """Successful controls in document order; a radio group is one control."""
    controls: list[Control] = []
    radios: dict[str, list] = {}
    for el in form.iter("{*}input", "{*}select", "{*}textarea"):
        name, kind = el.get("name"), el.get("type", "text")
        if not name or el.get("disabled") is not None or kind in ("submit", "button", "reset"):
            continue
        if _local(el) == "select":
            options = el.findall(".//{*}option")
            picked = [o for o in options if o.get("selected") is not None] or options[:1]
            default = picked[0].get("value", _text(picked[0])) if picked else ""
            controls.append(Control(name, default, _options(el)))
        elif _local(el) == "textarea":
            controls.append(Control(name, el.text or ""))
        elif kind in ("radio", "checkbox"):
            if name not in radios:
                radios[name] = []
                controls.append(Control(name, None))  # a placeholder keeps the order
            radios[name].append(el)
        else:
            controls.append(Control(name, el.get("value", ""), editable=kind != "hidden"))
    for i, control in enumerate(controls):
        if control.name in radios:
            values = [
                (r.get("value", "on"), r.get("checked") is not None) for r in radios[control.name]
            ]
            checked = [value for value, on in values if on]
            controls[i] = Control(control.name, (checked or [None])[0], {v: v for v, _on in values})
    return controls


def _fill(controls: list[Control], fields: dict, where: str) -> list[tuple[str, str]]:
    """The submitted pairs: defaults, overridden by what the user typed or picked."""
    by_name = {c.name: c for c in controls}
    typed = {}
    for name, value in fields.items():
        control = by_name.get(name)
        if control is None or not control.editable:
            raise BrowserError(f"no field {name!r} a user can fill on {where}")
        if control.choices is not None and value not in control.choices:
            raise BrowserError(f"{name}={value!r} is not among {sorted(control.choices)}")
        typed[name] = value if control.choices is None else control.choices[value]
    pairs = [(c.name, typed.get(c.name, c.default)) for c in controls]
    return [(name, value) for name, value in pairs if value is not None]


def _with_query(url: str, pairs: list[tuple[str, str]], keep: bool) -> str:
    scheme, netloc, path, query, _fragment = urlsplit(url)
    encoded = urlencode(pairs)
    query = "&".join(q for q in (query if keep else "", encoded) if q)
    return urlunsplit((scheme, netloc, path, query, ""))


def xhtml_submission(page: Response, label: str, fields: dict) -> Request:
    """A GET form replaces the action's query string; a POST form sends a urlencoded body."""
    form, button = _xhtml_form(page, label)
    pairs = _fill(_xhtml_controls(form), fields, page.url)
    if button.get("name"):
        pairs.append((button.get("name"), button.get("value", "")))
    action = urljoin(page.url, form.get("action") or page.url)
    if form.get("method", "get").lower() == "post":
        return Request("POST", action, urlencode(pairs).encode())
    return Request("GET", _with_query(action, pairs, keep=False), None)


def _wml_variables(page: Response) -> list[Control]:
    """The deck's <input> and <select> elements: each sets the variables it names
    (a select's `name` to the option's value, its `iname` to the option's 1-based index)."""
    controls = [Control(el.get("name"), el.get("value", "")) for el in page.find("input")]
    for el in page.find("select"):
        options = el.findall(".//{*}option")
        if el.get("name"):
            values = [o.get("value", "") for o in options]
            default = el.get("value") or (values[0] if values else "")
            controls.append(Control(el.get("name"), default, _options(el)))
        if el.get("iname"):
            indexes = {str(i): str(i) for i in range(1, len(options) + 1)}
            shown = {_text(o): str(i) for i, o in enumerate(options, 1)}
            controls.append(Control(el.get("iname"), el.get("ivalue", "1"), shown | indexes))
    return controls


def _substitute(template: str, variables: dict) -> str:
    """WML variable references; an unset variable is the empty string, as on a phone."""
    return _WML_VAR.sub(
        lambda m: "$" if m.group(0) == "$$" else variables.get(m.group(1) or m.group(2), ""),
        template,
    )


def _wml_actions(page: Response) -> list[tuple[str, object]]:
    """(label, <go>) of each <anchor> and <do> on the deck."""
    return [
        (holder.get("label") or _text(holder), go)
        for holder in page.find("anchor") + page.find("do")
        for go in holder.findall("{*}go")
    ]


def wml_submission(page: Response, label: str, fields: dict) -> Request:
    """Activate the <anchor> (or <do label>) showing `label`: its <go> sends the postfields."""
    gos = [go for shown, go in _wml_actions(page) if shown == label]
    if len(gos) != 1:
        raise BrowserError(f"{len(gos)} WML anchors labelled {label!r} on {page.url}")
    variables = dict(_fill(_wml_variables(page), fields, page.url))
    go = gos[0]
    href = urljoin(page.url, _substitute(go.get("href"), variables))
    pairs = [
        (pf.get("name"), _substitute(pf.get("value", ""), variables))
        for pf in go.findall("{*}postfield")
    ]
    if go.get("method", "get").lower() == "post":
        return Request("POST", href, urlencode(pairs).encode())
    return Request("GET", _with_query(href, pairs, keep=True), None)


def _sends(go, variable: str) -> bool:
    """Whether a <go> reads the variable, in its href or a postfield."""
    uses = re.compile(rf"\$\(?{variable}\b")
    values = [go.get("href"), *(pf.get("value") for pf in go.findall("{*}postfield"))]
    return any(uses.search(v or "") for v in values)


def pick_list(page: Response, option: str) -> tuple[str, str]:
    """(field, button label) of the one pick list offering `option`, and what sends it."""
    selects = [
        el for el in page.find("select") if option in {_text(o) for o in el.iter("{*}option")}
    ]
    if len(selects) != 1:
        raise BrowserError(f"{len(selects)} pick lists offer {option!r} on {page.url}")
    select = selects[0]
    if page.is_wml:
        senders = [
            (variable, shown)
            for variable in (select.get("iname"), select.get("name"))
            if variable
            for shown, go in _wml_actions(page)
            if _sends(go, variable)
        ]
    else:
        form = next(select.iterancestors("{*}form"))
        senders = [(select.get("name"), shown) for shown, _el in _buttons(form)]
    if len(senders) != 1:
        raise BrowserError(f"{len(senders)} ways to send the list of {option!r} on {page.url}")
    return senders[0]


# --- The browser.


class WapClient:
    """One phone: a User-Agent and an Accept header, no cookies, a history of responses."""

    def __init__(self, transport, user_agent: str, accept: str):
        self.transport = transport
        # identity: bodies are the markup bytes the budgets speak of, whatever the transport.
        self.headers = {"User-Agent": user_agent, "Accept": accept, "Accept-Encoding": "identity"}
        self.history: list[Response] = []
        self.page: Response | None = None
        self.last_submission: Request | None = None

    def open(self, url: str) -> Response:
        """Type an address (relative to the current page, or to the site)."""
        return self._navigate(Request("GET", self._absolute(url), None))

    def fetch(self, url: str) -> Response:
        """Load a resource the page refers to (an image), without leaving the page."""
        return self._send(Request("GET", self._absolute(url), None))

    def follow(self, text: str) -> Response:
        """The link whose text is `text`, with or without the access-key digit shown in it."""
        hrefs = {
            link.href
            for link in self.page.links()
            if text in (link.text, _KEY_INSIDE.sub("", link.text))
        }
        return self._follow(hrefs, f"text {text!r}")

    def follow_accesskey(self, key: str) -> Response:
        hrefs = {link.href for link in self.page.links() if link.accesskey == key}
        return self._follow(hrefs, f"access key {key!r}")

    def submit(self, label: str, fields: dict | None = None) -> Response:
        """Fill the named fields and press the button (WML: the anchor) labelled `label`."""
        self.last_submission = self.page.submission(label, fields or {})
        return self._navigate(self.last_submission)

    def choose(self, option: str) -> Response:
        """Pick `option` in the page's pick list and press the button that sends it."""
        field, label = pick_list(self.page, option)
        return self.submit(label, {field: option})

    def resubmit(self) -> Response:
        """Send the last form again, exactly (a double tap, or Back and submit)."""
        return self._navigate(self.last_submission)

    def _follow(self, hrefs: set[str], what: str) -> Response:
        if len(hrefs) != 1:
            raise BrowserError(f"{len(hrefs)} links with {what} on {self.page.url}: {hrefs}")
        return self.open(hrefs.pop())

    def _absolute(self, url: str) -> str:
        return urljoin(self.page.url if self.page else self.transport.base_url + "/", url)

    def _navigate(self, request: Request) -> Response:
        """Send, following redirects as a browser does; the last response becomes the page."""
        for _hop in range(10):
            response = self._send(request)
            if response.status not in REDIRECTS:
                self.page = response
                return response
            target = urljoin(request.url, response.headers["location"])
            keep = response.status in (307, 308)
            request = Request(
                request.method if keep else "GET", target, request.body if keep else None
            )
        raise BrowserError(f"too many redirects from {request.url}")

    def _send(self, request: Request) -> Response:
        headers = dict(self.headers)
        if request.body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, response_headers, body = self.transport.send(
            request.method, request.url, headers, request.body
        )
        response = Response(request.method, request.url, status, response_headers, body)
        self.history.append(response)
        return response


# --- Reading WapShop's pages.


def sids(page: Response) -> set[str]:
    """The session ids a page carries, in its URLs and form fields."""
    return page.query_values("sid")


def only_sid(page: Response) -> str:
    """The one sid a page carries; fails when it has none or several."""
    found = sids(page)
    if len(found) != 1:
        raise BrowserError(f"{page.url} carries the sids {found}")
    return found.pop()


def footer_versions(page: Response) -> set[str]:
    """The renditions the footer links to: links that set ?ver= and show that rendition's name."""
    found = set()
    for link in page.links():
        ver = dict(parse_qsl(urlsplit(link.href).query)).get("ver")
        if ver in RENDITION_LABELS and link.text == RENDITION_LABELS[ver]:
            found.add(ver)
    return found


def rendition_of(page: Response) -> str:
    """The rendition a page is in: the one its footer does not link to."""
    missing = set(RENDITION_LABELS) - footer_versions(page)
    if len(missing) != 1:
        linked = sorted(set(RENDITION_LABELS) - missing)
        raise BrowserError(f"the footer of {page.url} links to {linked}")
    return missing.pop()
