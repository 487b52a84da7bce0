"""One family of errors. Callers act on the subclass; the message always says why."""


class NewsworkerError(Exception):
    """Base of every error newsworker raises on purpose."""


class BadInput(NewsworkerError):
    """The input can never become a record (empty, binary, too large, unparseable...).

    Permanent: retrying the same bytes gives the same answer.
    """


class ParseError(BadInput):
    """The bytes decoded but their structure could not be read as the claimed format."""


class ConfigError(NewsworkerError):
    """A setting has a value it cannot take; the message names the variable."""


class FetchError(NewsworkerError):
    """Bytes could not be obtained (missing file, network failure). May be transient."""


class FetchTimeout(FetchError):
    """The server did not answer, or not all of it, within the fetch's time."""


class StorageError(NewsworkerError):
    """Redis refused or lost a write. Transient: the operation is safe to retry."""


class StoreRefusesWrites(StorageError):
    """Redis answered but refused the write (OOM, MISCONF, READONLY, BUSY...).

    Transient: the same write succeeds once the server accepts writes again.
    """

    def __init__(self, reason: str):
        super().__init__(f"store refuses writes ({reason})")
        self.reason = reason


class BlockedAddress(FetchError):
    """The URL resolves to an address feeds may not use (private, loopback, link-local...).

    Permanent for this URL until the settings change.
    """


class HTTPStatusError(FetchError):
    """The server answered with an error status. `retry_after` is in seconds, when given."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class Gone(HTTPStatusError):
    """410 Gone: the feed is retired; it is disabled, not retried."""


def is_time_limit(exc: BaseException) -> bool:
    """The worker's soft time limit, raised wherever the task happens to be.

    Never an input's fault: a broad `except Exception` that turns library errors
    into a bad input re-raises it, so the task edge gives the task up.
    """
    from billiard.exceptions import SoftTimeLimitExceeded  # only when handling an error

    return isinstance(exc, SoftTimeLimitExceeded)
