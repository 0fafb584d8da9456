"""One free-text address line ("广东深圳南山区科技园1号") → province/city/district from our
GB/T 2260 table, plus the street. When the text fits more than one district, the caller asks
the buyer (candidates) instead of guessing."""

from dataclasses import dataclass, field

from wapshop.models import Region
from wapshop.services import regions


@dataclass(frozen=True)
class ParsedAddress:
    region: Region | None  # the one district the text names, else None
    candidates: list[Region] = field(default_factory=list)  # when ambiguous: ask among these
    street: str = ""  # the text after the region names


def parse(text: str) -> ParsedAddress:
    """A first, strict reading: full names in order, province → city → district."""
    rest = text.strip()
    region = None
    for _level in range(3):
        match = next(
            (
                r
                for r in regions.children(region.code if region else None)
                if rest.startswith(r.name)
            ),
            None,
        )
        if match is None:
            break
        region, rest = match, rest[len(match.name) :]
    if region is not None and region.level == regions.DISTRICT:
        return ParsedAddress(region, [region], rest.strip())
    return ParsedAddress(None, [], rest.strip())
