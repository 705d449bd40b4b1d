"""The one error type services raise to refuse a business operation.

Interfaces map it to a response in one place: a message for people (already
translated with gettext_lazy) and a stable machine ``code`` for the API.
"""


class ServiceError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, message, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return str(self.message)


class NotFound(ServiceError):
    code = "not_found"
    status = 404


class Conflict(ServiceError):
    code = "conflict"
    status = 409


class RateLimited(ServiceError):
    code = "rate_limited"
    status = 429
