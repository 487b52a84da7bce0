"""Fetching feed bytes over HTTP: the only module that talks to the network.

One `Fetcher` holds one keep-alive `httpx.Client`. Every request is conditional when
validators are known, follows at most `max_redirects` hops by hand (to tell permanent
moves from temporary ones), is bounded in time (a total deadline that also catches a
server dripping bytes) and in size (counted after decompression, so a compression bomb
stops at the cap), and connects only to vetted addresses: the check runs on the
resolved IP at connect time for every hop, so DNS rebinding cannot slip past it.
"""

from __future__ import annotations

import socket
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import brotli
import httpcore
import httpx

from worker import __version__
from worker.errors import BlockedAddress, FetchError, FetchTimeout, Gone, HTTPStatusError
from worker.inputs.addresses import refusal
from worker.inputs.freshness import parse_retry_after

Resolver = Callable[[str, int], list[str]]
"""(host, port) -> the IP addresses the host resolves to."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
# Everything a request can raise that is the network's fault, not ours.
_TRANSPORT_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError)
# The deadline of the fetch running in this thread; the network stream clamps every
# socket operation to it, since httpx's own read timeout applies per read, not in total.
_DEADLINE: ContextVar[float | None] = ContextVar("newsworker_fetch_deadline", default=None)


@dataclass(frozen=True)
class FetchResult:
    status: int
    url: str
    permanent_url: str | None
    body: bytes | None
    headers: Mapping[str, str]
    etag: str | None
    last_modified: str | None
    not_modified: bool
    bytes_read: int
    elapsed_ms: float


@dataclass(frozen=True)
class FetchConfig:
    # Publishers see this in their logs: name the project; operators add contact details.
    user_agent: str = (
        f"newsworker/{__version__} (+feed ingestion worker; httpx/{httpx.__version__})"
    )
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = 15 * 1024 * 1024
    max_redirects: int = 5
    allow_private_networks: bool = False
    max_connections: int = 20  # kept alive between fetches; one per fetch thread is enough


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the system resolver (getaddrinfo), every address family."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _clamp(timeout: float | None) -> float | None:
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    remaining = max(deadline - time.monotonic(), 0.001)
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """Delegates to the real stream, never waiting past the current fetch's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself and connects only to an address that passed `refusal`."""

    def __init__(self, resolver: Resolver, allow_private: bool) -> None:
        self._resolver = resolver
        self._allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._resolver(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        # Refuse if ANY address is bad: a name mixing public and private answers is hostile.
        for ip in addresses:
            reason = refusal(ip, self._allow_private)
            if reason:
                raise BlockedAddress(f"refusing to connect to {host} ({ip}): {reason}")
        error: Exception = httpcore.ConnectError(f"cannot resolve {host}: no addresses")
        for ip in addresses:
            try:
                stream = super().connect_tcp(
                    ip, port, _clamp(timeout), local_address, socket_options
                )
                return _DeadlineStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error


class _Decoder:
    """Content-Encoding decoder that never produces more than `limit` bytes per call.

    httpx's own decoders inflate a whole network read at once; 300 bytes of brotli can
    hold 200 MB of zeros, so the size cap has to sit inside the decompressor.
    """

    def __init__(self, encoding: str) -> None:
        codings = [
            c.strip() for c in encoding.lower().split(",") if c.strip() not in ("", "identity")
        ]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate", "br")):
            raise FetchError(f"unsupported Content-Encoding {encoding!r}")
        self.coding = codings[0] if codings else ""
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | (16 if "gzip" in self.coding else 0))
        self._brotli = brotli.Decompressor()
        self._seen = False

    def decode(self, data: bytes, limit: int) -> bytes:
        """Up to `limit` decoded bytes; reaching `limit` means the caller's cap is hit."""
        first, self._seen = not self._seen, self._seen or bool(data)
        try:
            if not self.coding:
                return data
            if self.coding == "br":
                out = self._brotli.process(data, output_buffer_limit=limit)
                while len(out) < limit and not self._brotli.can_accept_more_data():
                    out += self._brotli.process(b"", output_buffer_limit=limit - len(out))
                return bytes(out)
            try:
                return self._zlib.decompress(data, limit)
            except zlib.error:
                if not (first and self.coding == "deflate"):
                    raise
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, no zlib header
                return self._zlib.decompress(data, limit)
        except (zlib.error, brotli.error) as exc:
            raise FetchError(f"cannot decode {self.coding} body: {exc}") from exc

    def check_complete(self) -> None:
        finished = self._brotli.is_finished() if self.coding == "br" else self._zlib.eof
        if self.coding and self._seen and not finished:
            raise FetchError(f"{self.coding} body ended before its end marker")


class Fetcher:
    """Fetches URLs with one reused client; see the module docstring for the guarantees."""

    def __init__(self, config: FetchConfig, *, resolver: Resolver | None = None) -> None:
        self._config = config
        transport = httpx.HTTPTransport(retries=0)
        # httpx has no public hook for the network backend: swap in a pool that uses ours,
        # with the same TLS context (TLS still verifies and sends SNI for the hostname).
        backend = _GuardedBackend(resolver or system_resolver, config.allow_private_networks)
        transport._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max(100, 2 * config.max_connections),
            # Keep-alive pays off for the hosts polled again soon: a farm of many
            # feeds per host, or a batch of one host's feeds.
            max_keepalive_connections=config.max_connections,
            keepalive_expiry=5.0,
            network_backend=backend,
        )
        self._client = httpx.Client(
            transport=transport,
            trust_env=False,
            follow_redirects=False,
            # Feeds get no cookies: the jar would only grow for months and leak state.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            timeout=httpx.Timeout(config.total_timeout, connect=config.connect_timeout),
            headers={"User-Agent": config.user_agent, "Accept-Encoding": "gzip, deflate, br"},
        )

    def close(self) -> None:
        self._client.close()

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        deadline: float | None = None,
    ) -> FetchResult:
        """GET `url` (conditionally when validators are given), following redirects.

        Bounded by the total timeout, or by `deadline` (a `time.monotonic()` instant)
        when that comes first. Thread-safe: each thread's fetch keeps its own deadline.

        Raises Gone (410), HTTPStatusError (other errors), BlockedAddress (refused address
        or scheme), FetchError (network, timeout, size, too many redirects).
        """
        validators = (("If-None-Match", etag), ("If-Modified-Since", last_modified))
        headers = {name: value for name, value in validators if value}
        started = time.monotonic()
        limit = started + self._config.total_timeout
        token = _DEADLINE.set(limit if deadline is None else min(limit, deadline))
        try:
            return self._follow(url, headers, started)
        finally:
            _DEADLINE.reset(token)

    def _follow(self, url: str, headers: dict[str, str], started: float) -> FetchResult:
        current, permanent = _resolve_url(url, None), True
        for hops in range(self._config.max_redirects + 1):
            with self._get(current, headers) as response:
                location = response.headers.get("location")
                if response.status_code not in _REDIRECTS or location is None:
                    moved = str(current) if hops and permanent else None
                    return self._result(response, moved, started)
                _drain(response)
            permanent = permanent and response.status_code in _PERMANENT
            current = _resolve_url(location, current)
        raise FetchError(f"too many redirects (more than {self._config.max_redirects}) from {url}")

    @contextmanager
    def _get(self, url: httpx.URL, headers: dict[str, str]) -> Iterator[httpx.Response]:
        """One streamed GET; transport failures here or in the caller's block -> FetchError."""
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                yield response
        except _TRANSPORT_ERRORS as exc:
            if isinstance(exc, httpx.TimeoutException):
                raise FetchTimeout(f"timed out fetching {url}") from exc
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise FetchError(f"cannot fetch {url}: {reason}") from exc

    def _result(self, response: httpx.Response, moved: str | None, started: float) -> FetchResult:
        status, url = response.status_code, str(response.url)
        body: bytes | None = None
        if 200 <= status < 300:
            body = _read_body(response, self._config.max_bytes)
        elif status == 304:
            _drain(response)
        else:
            raise _status_error(response)
        return FetchResult(
            status=status,
            url=url,
            permanent_url=moved,
            body=body,
            headers={k.lower(): v for k, v in response.headers.items()},
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            not_modified=status == 304,
            bytes_read=len(body or b""),
            elapsed_ms=(time.monotonic() - started) * 1000,
        )


def _resolve_url(target: str, base: httpx.URL | None) -> httpx.URL:
    """`target` (relative to `base` for a Location), refused unless it is http(s)."""
    origin = f" (redirected from {base})" if base else ""
    try:
        url = base.join(target) if base else httpx.URL(target)
    except httpx.InvalidURL as exc:
        raise FetchError(f"invalid URL {target!r}{origin}: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise BlockedAddress(f"refusing {url}{origin}: only http(s) URLs are fetched")
    return url


def _drain(response: httpx.Response, limit: int = 64 * 1024) -> None:
    """Read the (small, ignored) body of a 304 or a redirect to its end.

    Only a response read to its end gives its connection back to the keep-alive
    pool; one left unread is closed, and the next poll of the host connects anew.
    A body over `limit` is left unread: that connection is not worth keeping.
    """
    size = 0
    for raw in response.iter_raw():
        size += len(raw)
        if size > limit:
            return


def _read_body(response: httpx.Response, cap: int) -> bytes:
    decoder = _Decoder(response.headers.get("content-encoding", ""))
    parts: list[bytes] = []
    size = 0
    for raw in response.iter_raw():
        chunk = decoder.decode(raw, cap - size + 1)
        size += len(chunk)
        if size > cap:
            raise FetchError(f"{response.url}: body over the {cap}-byte limit")
        parts.append(chunk)
        deadline = _DEADLINE.get()
        if deadline is not None and time.monotonic() > deadline:
            raise FetchTimeout(f"timed out fetching {response.url} (body still arriving)")
    decoder.check_complete()
    return b"".join(parts)


def _status_error(response: httpx.Response) -> HTTPStatusError:
    status, url = response.status_code, response.url
    message = f"HTTP {status} {response.reason_phrase or 'error'} from {url}"
    if status == 410:
        return Gone(message, status=status)
    retry_after = None
    if status in (429, 503):
        retry_after = parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
    return HTTPStatusError(message, status=status, retry_after=retry_after)
