"""The domain: plain functions on plain values. They add and flush; the caller commits."""


class Refusal(Exception):
    """A refusal the view shows to whoever acted. `message` may be a lazy translation (it is
    rendered in the request's language); `field` names the form field it belongs to."""

    field: str | None = None

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field
