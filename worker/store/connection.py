"""Redis connections: one place that knows URLs, retries and TLS defaults."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from worker.errors import StorageError
from worker.redact import redact_url
from worker.store.refusals import refusal

T = TypeVar("T")

# The name the tests and older callers know; there is one implementation.
redact = redact_url


class _TransientRetry(Retry):
    """Retries dropped connections and timeouts.

    A refused password or an untrusted certificate is not transient: waiting would
    only delay the error the operator has to act on.
    """

    def call_with_retry(
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        def retryable(error: Exception) -> bool:
            if _is_permanent(error):
                return False
            return is_retryable is None or is_retryable(error)

        return super().call_with_retry(do, fail, retryable, with_failure_count)


def _is_permanent(error: BaseException) -> bool:
    if isinstance(error, AuthenticationError):
        return True
    # redis-py re-raises a failed handshake as ConnectionError inside the except block.
    cause = error.__cause__ or error.__context__
    return isinstance(cause, ssl.SSLCertVerificationError)


def connect(url: str) -> redis.Redis:
    """A client that retries transient connection errors with backoff."""
    try:
        return redis.Redis.from_url(
            url,
            decode_responses=True,
            health_check_interval=30,
            socket_connect_timeout=5,
            retry=_TransientRetry(ExponentialBackoff(cap=2.0, base=0.05), retries=5),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
    except ValueError as exc:  # a bad port, scheme or option: say so without the password
        raise StorageError(f"invalid Redis URL {redact_url(url)}: {exc}") from exc


def check_connection(client: redis.Redis, url: str) -> None:
    """PING once; a refused password or unreachable server becomes one clear StorageError.

    A server that refuses writes (MISCONF refuses even PING) did answer: each command
    then says, input by input, what it could not write.
    """
    try:
        client.ping()
    except redis.RedisError as exc:
        if refusal(exc) is not None:
            return
        reason = str(exc) or type(exc).__name__
        raise StorageError(f"cannot use Redis at {redact_url(url)}: {reason}") from exc


def check_credentials(url: str) -> None:
    """Fail at once if the server refuses these credentials or its certificate is untrusted.

    Long-running processes call this before handing the URL to Celery, which would
    otherwise retry a wrong password forever. An unreachable server passes: waiting
    for it is Celery's job (the broker retries on start-up).
    """
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        return  # a broker of another kind checks its own credentials
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=5, retry=Retry(NoBackoff(), retries=0)
        )
    except ValueError as exc:
        raise StorageError(f"invalid Redis URL {redact_url(url)}: {exc}") from exc
    try:
        client.ping()
    except redis.RedisError as exc:
        if _is_permanent(exc):
            raise StorageError(f"cannot use Redis at {redact_url(url)}: {exc}") from exc
    finally:
        client.close()


def with_tls_defaults(url: str) -> str:
    """A `rediss://` URL that verifies the server's certificate unless it says otherwise.

    redis-py verifies by default, but kombu falls back to no verification (with a
    warning) and Celery's result backend refuses a `rediss://` URL without
    `ssl_cert_reqs`: spelling out `required` makes all three agree. Other URLs,
    and ones that set `ssl_cert_reqs`, come back unchanged.
    """
    parts = urlsplit(url)
    if parts.scheme != "rediss":
        return url
    if any(key == "ssl_cert_reqs" for key, _ in parse_qsl(parts.query)):
        return url
    query = f"{parts.query}&ssl_cert_reqs=required" if parts.query else "ssl_cert_reqs=required"
    return urlunsplit(parts._replace(query=query))
