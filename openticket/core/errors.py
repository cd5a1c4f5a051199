"""The domain error tree. Each error knows its CLI exit code and HTTP status, so the edges map
errors in exactly one place each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorItem:
    message: str
    field: str | None = None


class DomainError(Exception):
    """A refused request. Nothing was changed when one is raised."""

    exit_code = 1
    http_status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.items: list[ErrorItem] = [ErrorItem(message, field)]

    @classmethod
    def many(cls, items: list[ErrorItem]) -> DomainError:
        error = cls(items[0].message, items[0].field)
        error.items = list(items)
        return error

    @property
    def message(self) -> str:
        return "; ".join(item.message for item in self.items)


class InvalidInput(DomainError):
    exit_code = 1
    http_status = 400


class PaymentDeclined(InvalidInput):
    """The card was refused by the payment provider; the order stays payable."""

    http_status = 402


class NotSignedIn(DomainError):
    exit_code = 3
    http_status = 401

    def __init__(self, message: str = "Not signed in", field: str | None = None) -> None:
        super().__init__(message, field)


class Forbidden(DomainError):
    exit_code = 3
    http_status = 403


class _RetryAfter(DomainError):
    """A refusal that says when the same request may succeed: after `retry_after` seconds."""

    def __init__(self, message: str, field: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message, field)
        self.retry_after = retry_after


class TooManyRequests(_RetryAfter):
    """Slow down."""

    exit_code = 3
    http_status = 429


class NotFound(DomainError):
    exit_code = 4
    http_status = 404


class Conflict(DomainError):
    exit_code = 5
    http_status = 409


class InProgress(_RetryAfter, Conflict):
    """Another request is doing this right now: the same request may succeed (or get the
    other's answer) after `retry_after` seconds."""


class Unavailable(DomainError):
    exit_code = 6
    http_status = 503


class RetryLater(Exception):
    """Raised by an event handler that cannot apply an event yet (it arrived before one it
    depends on). The event stays undelivered for that consumer and is offered again later."""
