"""User-Agent classification: which rendition a visitor's browser should get.

`ua_tier` sorts a User-Agent into "wml", "basic", "touch", "desktop" or "bot";
`rendition_for_ua` maps that onto the renditions of DESIGN.md section 2.

Two stages, cheapest first:

1. An overlay of our own token rules. It covers what the maintained parsers get
   wrong for this market: WAP 1.x browsers, MTK/MAUI/Spreadtrum and Nokia S40
   feature phones, UCWEB and Opera Mini on J2ME, UC on Android with mangled tokens
   ("Adr 4.0", "iPh OS"), KaiOS, Windows Mobile and pre-7 BlackBerry.
2. ua-parser (the uap-core regexes) for the rest: named bots, desktop browsers and
   bare handset UAs. Behind this overlay, device-detector scored no better on the
   labelled corpus (its gains were on rows taken from its own fixtures) and cost
   about 20x more time (~4.5 ms against ~0.2 ms per uncached UA).

The rules key on tokens and versions (UP.Browser < 6, MIDP, Series60/N, ...), never
on single handset models, so they should hold beyond the labelled corpus.
"""

from __future__ import annotations

import functools
import logging
import re

from ua_parser import BasicResolver, Domain, Parser, load_builtins

from wapshop.renditions import HTML_TYPE, WML_TYPE, XHTML_MP_TYPE, XHTML_TYPE

log = logging.getLogger(__name__)

TIERS = ("wml", "basic", "touch", "desktop", "bot")

# Real UAs stay well under this; cutting longer ones bounds regex time and the
# memory the cache holds.
MAX_UA_LENGTH = 512

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")

# --- Overlay --------------------------------------------------------------------------

# Crawlers, monitors and HTTP tools. Checked first because Googlebot-Mobile and
# friends wrap a real handset UA. Browsers never put a URL or an e-mail address in
# their UA; crawlers do, to say who they are. "Cubot" is a phone brand.
_BOT = re.compile(
    r"(?<!cu)bot(?:\b|[/_;-])|crawl|spider|slurp|scrap(?:er|y)\b|fetcher|archiver|"
    r"headless|monitor|uptime|health.?check|scanner|checker|validator|"
    r"web ?preview|linkcheck|synthetics|inspectiontool|lighthouse|pingdom|"
    r"nutch|heritrix|PTST/|\b(?:curl|wget|libwww-perl|python-requests|"
    r"python-urllib|go-http-client|okhttp|java/\d|axios|node-fetch|masscan|zgrab|"
    r"nmap)\b|https?://|[\w.-]@[a-z][\w-]*\.[a-z]{2,}|\(compatible;[^)]*; \+|"
    r"like Gecko; compatible;",
    re.IGNORECASE,
)

# WML-only browsers, certain from the token alone: Openwave's first XHTML-MP
# browser was UP.Browser 6.
_WML = re.compile(r"(?<![a-z])UP(?:\.Browser)?/[1-5](?:[.\-a-z]|\b)|\bWAP ?1\.[0-2]", re.I)

# Feature-phone platforms that must win over the smartphone tokens below: KaiOS
# sends "Mobile; rv:" like Firefox OS, Windows Mobile 6.5 calls itself "Windows
# Phone 6.5", Palm and pre-7 BlackBerry carry "Mozilla/ ... Safari". Japanese
# carrier phones speak cHTML/XHTML, never WML.
_BASIC_FIRST = re.compile(
    r"(?<![a-z])UP(?:\.Browser)?/(?:[6-9]|\d\d)|^DoCoMo/|^J-PHONE/|^SoftBank/|"
    r"KaiOS|Windows ?CE|Windows Mobile|"
    r"Windows Phone(?: OS)? [1-6]\.|\bPalm|Blazer|Xiino|"
    r"BlackBerry(?!.*Version/(?:[7-9]|1\d)\.)",
    re.IGNORECASE,
)

# Chromebooks run Android apps, so their UAs say "Android" but the device is a laptop.
_DESKTOP_FIRST = re.compile(r"Chromebook|\bCrOS\b")

# Smartphone and tablet platforms. Checked before the feature-phone tokens because
# touch UAs also carry "Profile/MIDP-2.1" (Symbian^3) or "UCWEB/2.0" (UC on Android,
# which may say "Adr 4.0" or only "(Linux; U; 2.3.7").
_TOUCH = re.compile(
    r"Android|\bAdr \d|\biPhone|\biPad|\biPod|\biPh(?: OS|\d)|\bdv\(iPh|"
    r"\(Symbian(?:/3)?;|Series ?60/5\.[1-9]|SymbianOS/9\.[4-9]|"
    r"Windows Phone|\bwds \d|WPDesktop|Windows NT [\d.]+; ARM|Trident/[\d.]+; Touch|"
    r"BB10|RIM Tablet|PlayBook|Bada|Tizen|MeeGo|Maemo|Tablet browser|Sailfish|"
    r"web[O0]S|hpwOS|HarmonyOS|Kindle|Silk/|Puffin/|Cloud Phone|Mobile Safari|"
    r"(?:UCWEB/[\d.]+|^JUC) ?\(Linux|\((?:Mobile|Tablet); (?:[^;)]*; )?rv:",
    re.IGNORECASE,
)

# WAP 1.x browsers of the early 2000s, by their vendors' version numbering:
# Motorola's XHTML browser was MIB 2, AU-System's AU-MIC 2, Teleca's Browser 2, and
# Nokia moved its product token from "/1.x" to "/2.0" with the XHTML-MP browser of
# Series 40 2nd edition (Symbian phones excepted).
_WML_LEGACY = re.compile(
    r"\bMIB ?/?1\.|\bAU/[1-4]\.|\bAU-MIC/1\.|\bMitsu/1\.|\bTSS/[12]\.|"
    r"(?<![\w-])Browser/1\.2\.|\bTeleca/1\.|^Nokia ?\w+/1\.(?!.*Symbian)",
    re.IGNORECASE,
)

# Feature-phone browsers and platforms that render XHTML-MP.
_BASIC = re.compile(
    r"\bMIDP|\bCLDC|Opera Mini|UCWEB|UCBrowser|OneBrowser|\bMAUI|\bMTK\b|\bMRE|"
    r"Nucleus|Spreadtrum|\bSPRD|Dorado|\bBREW\b|Brew MP|\bVRE\b|NetFront|"
    r"SEMC-Browser|Obigo|Teleca|Openwave|Series ?[346]0|Symbian|\bS40|Jasmine|"
    r"Polaris|\bMMP/|\bWAP ?2|\bWAP[- ]Browser|Profile/|Screen-\d+x\d+",
    re.IGNORECASE,
)


def _overlay(ua: str) -> str | None:
    """Our own token rules; None when they have no opinion."""
    if _BOT.search(ua):
        return "bot"
    if _WML.search(ua):
        return "wml"
    if _BASIC_FIRST.search(ua):
        return "basic"
    if _DESKTOP_FIRST.search(ua):
        return "desktop"
    if _TOUCH.search(ua):
        return "touch"
    if _WML_LEGACY.search(ua):
        return "wml"
    if _BASIC.search(ua):
        return "basic"
    return None


# --- Library --------------------------------------------------------------------------

_TOUCH_OS = {
    "Android", "iOS", "Windows Phone", "Firefox OS", "Bada", "MeeGo", "Maemo",
    "Sailfish", "Tizen", "HarmonyOS", "Symbian^3", "Symbian^3 Anna",
    "Symbian^3 Belle", "BlackBerry Tablet OS", "webOS",
}  # fmt: skip
_BASIC_OS = {
    "KaiOS", "Symbian OS", "Windows Mobile", "Windows CE", "BlackBerry OS", "BREW",
    "Brew MP", "Nokia Series 40", "Nokia Series 30 Plus", "VRE",
}  # fmt: skip
_DESKTOP_OS = {
    "Windows", "Chrome OS", "Mac OS X", "Mac OS", "Linux", "Ubuntu", "Kubuntu",
    "Debian", "Fedora", "Red Hat", "SUSE", "openSUSE", "Gentoo", "Mandriva",
    "Slackware", "Arch Linux", "Linux Mint", "CentOS", "FreeBSD", "OpenBSD",
    "NetBSD", "Solaris", "SunOS", "AIX", "HP-UX", "IRIX", "BeOS", "Haiku", "OS/2",
}  # fmt: skip


@functools.cache
def _uap_parser() -> Parser:
    """ua-parser without its own cache (ours sits in front); built on first use."""
    return Parser(BasicResolver(load_builtins()))


def _library(ua: str) -> str | None:
    """Tier from ua-parser's OS and device families; None when it knows nothing."""
    result = _uap_parser()(ua, Domain.OS | Domain.DEVICE)
    device = result.device
    os_family = result.os.family if result.os else None
    if device and device.family == "Spider":
        return "bot"
    if os_family in _BASIC_OS:
        return "basic"
    if os_family in _TOUCH_OS or (device and device.family == "Generic Smartphone"):
        return "touch"
    if os_family in _DESKTOP_OS:
        return "desktop"
    if device and not os_family:
        # A handset, yet the overlay found neither a Java profile nor an XHTML
        # browser token: a WAP 1.x phone. Every WAP 2.0 phone renders WML too,
        # so WML is also the safe guess for an unknown handset.
        return "wml"
    return None


# Platform names that ua-parser does not know (Amiga, "win10" in app UAs, ...).
_DESKTOP_HINT = re.compile(
    r"Windows|\bwin(?:32|64|10|11)\b|Macintosh|Mac OS|Darwin|X11|Linux|CYGWIN|"
    r"Amiga|BeOS|Haiku|OS/2|FreeBSD|OpenBSD|NetBSD|SunOS",
    re.IGNORECASE,
)


def _fallback(ua: str) -> str:
    """Last resort: no phone token and nothing the library recognised."""
    if _DESKTOP_HINT.search(ua):
        return "desktop"
    # Every browser names its platform; what names none is a feed reader,
    # monitor, HTTP library or crawler.
    return "bot"


# --- Public API -----------------------------------------------------------------------


def _clean(user_agent: object) -> str:
    """Coerce to str, truncate, and blank out control characters."""
    if isinstance(user_agent, bytes):
        # WSGI carries headers as latin-1.
        user_agent = user_agent.decode("latin-1")
    elif not isinstance(user_agent, str):
        user_agent = "" if user_agent is None else str(user_agent)
    return _CONTROL_CHARS.sub(" ", user_agent[:MAX_UA_LENGTH]).strip()


@functools.lru_cache(maxsize=4096)
def _tier_cached(ua: str) -> str:
    """Classify a cleaned UA; see ua_tier."""
    if not ua:
        # Stripped by a WAP gateway or privacy proxy, or sent by a script. XHTML-MP
        # renders on every phone browser since WAP 2.0 and on desktop browsers, and
        # WML-only phones are caught earlier by their Accept header.
        return "basic"
    try:
        return _overlay(ua) or _library(ua) or _fallback(ua)
    except Exception:  # a parser bug must not take the page down
        log.exception("User-Agent classification failed for %r", ua)
        return "basic"


def ua_tier(user_agent: str | None) -> str:
    """Tier of a User-Agent: "wml", "basic", "touch", "desktop" or "bot".

    Cached (LRU, 4096 entries); never raises, whatever the input.
    """
    return _tier_cached(_clean(user_agent))


# Expose the cache so callers and tests can inspect or reset it.
ua_tier.cache_info = _tier_cached.cache_info  # type: ignore[attr-defined]
ua_tier.cache_clear = _tier_cached.cache_clear  # type: ignore[attr-defined]


# Basic-tier phones whose browser shows colour XHTML-MP with small images well:
# Java MIDP 2 handsets (2004 on, colour screens), Openwave 6+, the proxy browsers
# Opera Mini, UCWEB and OneBrowser, MTK (MAUI/MRE) phones, Nokia S40 2nd edition on
# ("Nokia6230/2.0") and S30+, S60 2nd/3rd edition, KaiOS, Windows Mobile, BlackBerry,
# Palm, NetFront 3+ and Sony Ericsson's browser. Older or unknown XHTML phones keep
# the image-free "basic" rendition.
_COLOR = re.compile(
    r"MIDP-?2|(?<![a-z])UP(?:\.Browser)?/(?:[6-9]|\d\d)|Opera Mini|UCWEB|UCBrowser|"
    r"OneBrowser|(?<![a-z])MAUI|\bMRE|^Nokia ?\w+/[2-9]\.|S40OviBrowser|Series30Plus|"
    r"Series ?60/[2-4]|SymbianOS/[7-9]|KaiOS|Windows ?CE|Windows Mobile|"
    r"Windows Phone|IEMobile|BlackBerry|\bPalm|Blazer|NetFront/[3-9]|SEMC-Browser",
    re.IGNORECASE,
)


def rendition_for_ua(user_agent: str | None) -> str:
    """Rendition for a User-Agent: "wml", "basic", "color" or "touch"."""
    tier = ua_tier(user_agent)
    if tier == "basic":
        return "color" if _COLOR.search(_clean(user_agent)) else "basic"
    if tier == "wml":
        return "wml"
    # Desktop browsers take the touch pages (HTML5, no script needed). So do bots:
    # crawlers index and preview the richest markup, and it works without JavaScript.
    return "touch"


# --- Every signal of a request ------------------------------------------------------------
#
# rendition_for_request weighs, in this order (README: "Which page a phone gets"):
#  1. the Accept header: WML-only → wml; names XHTML-MP, or prefers XHTML over HTML by its
#     q-values → never wml, and an XHTML-MP rendition unless the handset is a known smartphone;
#  2. the handset's own User-Agent, which transcoding proxies (Opera Mini, UC's servers,
#     operator gateways) forward in their own headers, over the proxy's;
#  3. a UAProf URL (x-wap-profile, Profile): only WAP 2.0 phones send one, so never wml and
#     never the desktop/crawler page;
#  4. the User-Agent alone (rendition_for_ua). A crawler that announces a handset gets that
#     handset's page; other crawlers get touch.
# (An explicit ?ver= beats all of these; see web/rendering.choose_rendition.)

# Headers in which transcoders forward the handset's User-Agent, most specific first.
HANDSET_UA_HEADERS = (
    "X-OperaMini-Phone-UA",
    "X-Device-User-Agent",
    "X-Original-User-Agent",
    "Device-Stock-UA",
    "X-UCBrowser-Device-UA",
)
UAPROF_HEADERS = ("X-Wap-Profile", "Profile", "Wap-Profile")
# Every header the choice reads: responses chosen from headers Vary on all of them.
DECIDING_HEADERS = ("User-Agent", "Accept", *HANDSET_UA_HEADERS, *UAPROF_HEADERS)

_MAX_ACCEPT_LENGTH = 1024


@functools.lru_cache(maxsize=1024)
def accept_signal(accept: str) -> tuple[str | None, bool]:
    """What an Accept header says: ("wml" | "xhtml" | None, whether it names JPEG or GIF).

    "wml": names WML and no XHTML or HTML type. "xhtml": names XHTML-MP, or gives XHTML a
    higher q-value than HTML (the W3C Default Delivery Context's request does)."""
    quality: dict[str, float] = {}
    for part in accept[:_MAX_ACCEPT_LENGTH].lower().split(","):
        mime, *params = part.strip().split(";")
        q = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    pass  # a broken q-value is ignored, as if absent
        if mime.strip() and q > 0:
            quality[mime.strip()] = max(q, quality.get(mime.strip(), 0.0))
    images = any(t in quality for t in ("image/jpeg", "image/gif", "image/jpg", "image/*"))
    markup = {XHTML_MP_TYPE, XHTML_TYPE, HTML_TYPE} & quality.keys()
    if WML_TYPE in quality and not markup:
        return "wml", images
    if XHTML_MP_TYPE in quality or quality.get(XHTML_TYPE, 0.0) > quality.get(HTML_TYPE, 0.0):
        return "xhtml", images
    return None, images


def _handset_ua(headers) -> str:
    """The handset's own User-Agent: a transcoder's forwarded one over the request's."""
    for name in HANDSET_UA_HEADERS:
        value = headers.get(name)
        if value and value.strip():
            return value
    return headers.get("User-Agent", "")


def _without_bot_tokens(ua: str) -> str:
    """A crawler's UA with its self-description removed, to see what handset it announces."""
    return _clean(re.sub(r"\([^()]*\)|\S*(?:bot|crawl|spider)\S*", " ", ua, flags=re.I))


@functools.lru_cache(maxsize=4096)
def _decide(accept: str | None, images: bool, ua: str, uaprof: bool) -> str:
    """Rendition from the signals, cached on the combination that decides it."""
    tier = ua_tier(ua)
    if tier == "bot":
        # A crawler announcing a handset (Googlebot-Mobile wraps one) gets that phone's page.
        handset = _without_bot_tokens(ua)
        if handset and ua_tier(handset) in ("wml", "basic"):
            ua, tier = handset, ua_tier(handset)
    if accept == "wml":
        return "wml"
    light = accept == "xhtml" or uaprof
    if not light:
        return rendition_for_ua(ua)
    if tier == "touch":
        return "touch"  # a known smartphone whose Accept also likes XHTML
    if tier == "basic":
        return rendition_for_ua(ua)
    if tier == "wml":
        # WML by its UA, but its Accept or UAProf says WAP 2.0: XHTML-MP; colour only
        # when it says it shows JPEG/GIF.
        return "color" if images or _COLOR.search(ua) else "basic"
    # A desktop, crawler or unknown UA asking for XHTML first: a mobile-web client (the
    # W3C Default Delivery Context's request), not a desktop browser.
    return "color" if images else "basic"


def rendition_for_request(headers) -> str:
    """Rendition for a request's headers (a mapping with .get), weighing every signal."""
    accept, images = accept_signal(headers.get("Accept", ""))
    uaprof = any(headers.get(name) for name in UAPROF_HEADERS)
    return _decide(accept, images, _clean(_handset_ua(headers)), uaprof)
