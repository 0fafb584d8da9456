"""Form posts between the shop and processors, over plain HTTP(S) with the standard library."""

import urllib.error
import urllib.parse
import urllib.request


class Unreachable(Exception):
    """The other side did not answer (network, timeout)."""


def post_form(url: str, fields: dict, timeout: float = 10.0) -> tuple[int, str]:
    """POST fields as a form; returns (status, body text). Raises Unreachable."""
    data = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as answered:
        return answered.code, answered.read().decode("utf-8", "replace")
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise Unreachable(str(exc)) from exc
