"""The domain: plain functions on plain values. They add and flush; the caller commits."""


class Refusal(Exception):
    """A refusal the view shows to whoever acted. `message` may be a lazy translation (it is
    rendered in the request's language); `field` names the form field it belongs to;
    `status` is the HTTP status a view answers with (409: the request conflicts with the
    state of things; subclasses set 400, 403, 404, 422…)."""

    field: str | None = None
    status: int = 409

    def __init__(self, message, field: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field
        if status is not None:
            self.status = status


class NotFound(Refusal):
    """What was asked for does not exist, or is not the asker's to see (the same answer)."""

    status = 404
