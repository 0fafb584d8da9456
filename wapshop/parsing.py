"""Every number, date, id and piece of text that comes from outside is read here, so each
refuses what Python or the database cannot hold (an id past 64 bits, '²', year 1, a NUL)
with ValueError instead of a 500 somewhere deeper. Callers turn ValueError into a 400 or a
form error in their own words."""

import re
from datetime import date, datetime

from werkzeug.routing import IntegerConverter

# Ids, counts and fen are INTEGER columns: 32 bits on PostgreSQL (SQLite would take 64, but
# then a number that works on one database would fail on the other).
MAX_ID = 2**31 - 1
# Dates people mean: a year the database holds, with a year's room either side, so a range of
# days or a time-zone shift can never step outside what Python's date can hold.
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(9998, 12, 31)

_DIGITS = re.compile(r"[0-9]{1,19}")
# Characters XML 1.0 cannot carry (every WML and XHTML-MP deck is XML), plus DEL: C0 controls
# but tab, newline and carriage return; lone surrogates; U+FFFE and U+FFFF.
_NOT_XML = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff"
_BAD_TEXT = re.compile(f"[{_NOT_XML}]")
# On a single line tab, newline and carriage return are refused too.
_BAD_LINE = re.compile(f"[{_NOT_XML}\t\n\r]")


def present_arg(values, name: str) -> str | None:
    """values.get(name) for a request's args or cookies, on paths every request takes: a
    missing name costs werkzeug a BadRequestKeyError built and caught (~1 µs) in get()."""
    return values.get(name) if name in values else None


def parse_int(text: str | None, lo: int = 0, hi: int = MAX_ID) -> int:
    """ASCII digits only (no sign, no '²', no '١٢', no spaces inside) as an int in lo…hi.
    Raises ValueError for anything else, blanks included."""
    text = (text or "").strip()
    if not _DIGITS.fullmatch(text):
        raise ValueError(f"not a whole number: {text[:20]!r}")
    value = int(text)
    if not lo <= value <= hi:
        raise ValueError(f"{value} is outside {lo}…{hi}")
    return value


def parse_id(text: str | None) -> int:
    """A row id: 1…MAX_ID. Raises ValueError."""
    return parse_int(text, 1, MAX_ID)


def valid_ids(texts: list[str]) -> list[int]:
    """The texts that are row ids, as ints; the rest dropped."""
    found = []
    for text in texts:
        try:
            found.append(parse_id(text))
        except ValueError:
            continue
    return found


def in_date_range(value: date) -> date:
    """`value` if FIRST_DATE <= it <= LAST_DATE, else ValueError."""
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(f"{day} is outside {FIRST_DATE}…{LAST_DATE}")
    return value


def parse_date(text: str | None) -> date:
    """An ISO date (2013-05-01) between FIRST_DATE and LAST_DATE. Raises ValueError."""
    text = (text or "").strip()
    if not text.isascii():
        raise ValueError(f"not a date: {text[:20]!r}")
    return in_date_range(date.fromisoformat(text))


def parse_datetime(text: str | None, layouts: list[str]) -> datetime:
    """A time in one of the strptime `layouts`, between FIRST_DATE and LAST_DATE.
    Raises ValueError."""
    text = (text or "").strip()
    for layout in layouts:
        try:
            return in_date_range(datetime.strptime(text, layout))
        except ValueError:
            continue
    raise ValueError(f"not a time: {text[:20]!r}")


def bad_character(text: str, multiline: bool = False) -> str | None:
    """The first character that must not be stored in `text` (a control character, or one XML
    cannot carry), or None when the text is clean. Tab and line breaks pass when multiline."""
    found = (_BAD_TEXT if multiline else _BAD_LINE).search(text)
    return found.group() if found else None


def safe_location(target: str) -> str:
    """A redirect target that can go in a Location header as it is: control characters,
    spaces and backslashes percent-encoded (a browser strips a raw tab or turns a backslash
    into a slash, so '/\\t/evil.example' would leave the site)."""
    return re.sub(r"[\x00-\x20\x7f\\]", lambda m: f"%{ord(m.group()):02X}", target)


class IdConverter(IntegerConverter):
    """<int:…> in the URL map: a path number beyond what an id column holds is a 404, like any
    other id that does not exist, rather than an overflow in the database driver. ASCII
    digits only: werkzeug's \\d would also take '١٢'."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(map, fixed_digits, min, MAX_ID if max is None else max, signed)
