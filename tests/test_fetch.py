"""worker.inputs.fetch against a local server on 127.0.0.1 that misbehaves on demand.

Nothing leaves the machine: hostnames other than 127.0.0.1 go through an injected
resolver, and blocked addresses are refused before any connection is attempted.
"""

from __future__ import annotations

import gzip
import shutil
import socket
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import brotli
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.documents import NOW, rss_document
from worker import __version__
from worker.errors import BlockedAddress, FetchError, Gone, HTTPStatusError
from worker.inputs.addresses import refusal
from worker.inputs.fetch import FetchConfig, Fetcher
from worker.polling.hints import freshness_hints, parse_retry_after

FEED = rss_document(title="t")
MB = 1024 * 1024


Make = Callable[..., Fetcher]


@pytest.fixture
def make() -> Iterator[Make]:
    """Fetchers for the test (loopback allowed unless told otherwise), closed afterwards."""
    made: list[Fetcher] = []

    def build(resolver: Callable[[str, int], list[str]] | None = None, **config: object) -> Fetcher:
        options: dict[str, object] = {"allow_private_networks": True, "total_timeout": 5.0}
        options.update(config)
        made.append(Fetcher(FetchConfig(**options), resolver=resolver))  # type: ignore[arg-type]
        return made[-1]

    yield build
    for f in made:
        f.close()


@pytest.fixture
def fetcher(make: Make) -> Fetcher:
    return make()


def resolver_for(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if host == "127.0.0.1":  # the test server itself
            return [host]
        if host not in table:
            raise socket.gaierror(f"unknown test host {host}")
        return table[host]

    return resolve


@contextmanager
def raw_server(respond: Callable[[socket.socket], None]) -> Iterator[str]:
    """A one-connection server for what werkzeug will not send (lying headers, endless chunks)."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            with conn:
                while b"\r\n\r\n" not in conn.recv(65536):
                    pass
                respond(conn)
        except OSError:
            pass  # the client hung up, which is the point of most of these tests

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed"
    finally:
        listener.close()
        thread.join(5)


# --- success and conditional GET ------------------------------------------------------------


def test_200_captures_body_and_validators(http: HTTPServer, fetcher: Fetcher) -> None:
    headers = {"ETag": '"v1"', "Last-Modified": "Wed, 01 May 2024 10:00:00 GMT"}
    http.expect_request("/feed").respond_with_data(FEED, headers=headers)
    result = fetcher.fetch(http.url_for("/feed"))
    assert (result.status, result.body, result.not_modified) == (200, FEED, False)
    assert result.etag == '"v1"'
    assert result.last_modified == "Wed, 01 May 2024 10:00:00 GMT"
    assert result.headers["etag"] == '"v1"'
    assert result.url == http.url_for("/feed")
    assert result.permanent_url is None
    assert result.bytes_read == len(FEED)
    assert result.elapsed_ms >= 0


def test_304_with_etag(http: HTTPServer, fetcher: Fetcher) -> None:
    http.expect_request("/feed", headers={"If-None-Match": '"v1"'}).respond_with_data(
        b"", status=304, headers={"ETag": '"v1"'}
    )
    result = fetcher.fetch(http.url_for("/feed"), etag='"v1"')
    assert (result.status, result.not_modified, result.body, result.etag) == (
        304,
        True,
        None,
        '"v1"',
    )


def test_304_with_last_modified(http: HTTPServer, fetcher: Fetcher) -> None:
    stamp = "Wed, 01 May 2024 10:00:00 GMT"
    http.expect_request("/feed", headers={"If-Modified-Since": stamp}).respond_with_data(
        b"", status=304
    )
    result = fetcher.fetch(http.url_for("/feed"), last_modified=stamp)
    assert result.not_modified and result.body is None and result.bytes_read == 0


def test_no_validators_sends_no_conditional_headers(http: HTTPServer, fetcher: Fetcher) -> None:
    http.expect_request("/feed").respond_with_data(FEED)
    result = fetcher.fetch(http.url_for("/feed"))
    request = http.log[-1][0]
    assert "If-None-Match" not in request.headers
    assert "If-Modified-Since" not in request.headers
    assert result.etag is None and result.last_modified is None


def test_user_agent_names_the_project(http: HTTPServer, fetcher: Fetcher) -> None:
    http.expect_request("/feed").respond_with_data(FEED)
    fetcher.fetch(http.url_for("/feed"))
    agent = http.log[-1][0].headers["User-Agent"]
    assert agent.startswith(f"newsworker/{__version__} ")
    assert "br" in http.log[-1][0].headers["Accept-Encoding"]


def test_user_agent_is_configurable(http: HTTPServer) -> None:
    from worker.runtime import fetch_config
    from worker.settings import Settings

    agent = "ExampleNews-ingest/2.0 (+mailto:ops@news.example)"
    config = fetch_config(Settings(user_agent=agent, allow_private_networks=True))
    http.expect_request("/feed").respond_with_data(FEED)
    fetcher = Fetcher(config)
    try:
        fetcher.fetch(http.url_for("/feed"))
    finally:
        fetcher.close()
    assert http.log[-1][0].headers["User-Agent"] == agent


# --- redirects ------------------------------------------------------------------------------


def redirect_chain(http: HTTPServer, statuses: list[int]) -> str:
    """/r0 -> /r1 -> ... -> /feed with the given statuses; Locations are relative."""
    for i, status in enumerate(statuses):
        target = f"r{i + 1}" if i + 1 < len(statuses) else "/feed"
        http.expect_request(f"/r{i}").respond_with_data(
            b"moved", status=status, headers={"Location": target}
        )
    http.expect_request("/feed").respond_with_data(FEED)
    return http.url_for("/r0")


@pytest.mark.parametrize(
    ("statuses", "permanent"),
    [
        ([301], True),
        ([308], True),
        ([301, 308, 301], True),
        ([302], False),
        ([307], False),
        ([301, 302], False),
        ([302, 301], False),
    ],
)
def test_redirect_chains(
    http: HTTPServer, fetcher: Fetcher, statuses: list[int], permanent: bool
) -> None:
    result = fetcher.fetch(redirect_chain(http, statuses))
    assert result.body == FEED
    assert result.url == http.url_for("/feed")
    assert result.permanent_url == (http.url_for("/feed") if permanent else None)


def test_exactly_max_redirects_is_fine(http: HTTPServer, make: Make) -> None:
    url = redirect_chain(http, [302] * 3)
    assert make(max_redirects=3).fetch(url).body == FEED


def test_too_many_redirects(http: HTTPServer, make: Make) -> None:
    url = redirect_chain(http, [301] * 4)
    with pytest.raises(FetchError, match="too many redirects"):
        make(max_redirects=3).fetch(url)


def test_redirect_loop(http: HTTPServer, fetcher: Fetcher) -> None:
    http.expect_request("/a").respond_with_data(b"", status=302, headers={"Location": "/b"})
    http.expect_request("/b").respond_with_data(b"", status=301, headers={"Location": "/a"})
    with pytest.raises(FetchError, match="too many redirects"):
        fetcher.fetch(http.url_for("/a"))


@pytest.mark.parametrize("target", ["ftp://127.0.0.1/feed", "file:///etc/passwd", "gopher://x/"])
def test_redirect_to_non_http_scheme(http: HTTPServer, fetcher: Fetcher, target: str) -> None:
    http.expect_request("/feed").respond_with_data(b"", status=301, headers={"Location": target})
    with pytest.raises(BlockedAddress, match="only http"):
        fetcher.fetch(http.url_for("/feed"))


def test_non_http_url_refused(fetcher: Fetcher) -> None:
    with pytest.raises(BlockedAddress, match="only http"):
        fetcher.fetch("file:///etc/passwd")


# --- error statuses -------------------------------------------------------------------------


def test_410_is_gone(http: HTTPServer, fetcher: Fetcher) -> None:
    http.expect_request("/feed").respond_with_data(b"bye", status=410)
    with pytest.raises(Gone, match="410") as caught:
        fetcher.fetch(http.url_for("/feed"))
    assert caught.value.status == 410
    assert http.url_for("/feed") in str(caught.value)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds(http: HTTPServer, fetcher: Fetcher, status: int) -> None:
    http.expect_request("/feed").respond_with_data(
        b"", status=status, headers={"Retry-After": "120"}
    )
    with pytest.raises(HTTPStatusError) as caught:
        fetcher.fetch(http.url_for("/feed"))
    assert (caught.value.status, caught.value.retry_after) == (status, 120.0)
    assert not isinstance(caught.value, Gone)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_http_date(http: HTTPServer, fetcher: Fetcher, status: int) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    http.expect_request("/feed").respond_with_data(
        b"", status=status, headers={"Retry-After": later}
    )
    with pytest.raises(HTTPStatusError) as caught:
        fetcher.fetch(http.url_for("/feed"))
    assert caught.value.retry_after is not None
    assert 3000 < caught.value.retry_after <= 3600


def test_500(http: HTTPServer, fetcher: Fetcher) -> None:
    http.expect_request("/feed").respond_with_data(b"oops", status=500)
    with pytest.raises(HTTPStatusError, match="HTTP 500") as caught:
        fetcher.fetch(http.url_for("/feed"))
    assert caught.value.status == 500 and caught.value.retry_after is None
    assert http.url_for("/feed") in str(caught.value)


def test_connection_refused(fetcher: Fetcher) -> None:
    with socket.create_server(("127.0.0.1", 0)) as spare:
        port = spare.getsockname()[1]
    with pytest.raises(FetchError, match="cannot fetch"):
        fetcher.fetch(f"http://127.0.0.1:{port}/feed")


def test_unresolvable_host(make: Make) -> None:
    with pytest.raises(FetchError, match=r"cannot resolve nowhere\.example"):
        make(resolver=resolver_for({})).fetch("http://nowhere.example/feed")


# --- time and size limits -------------------------------------------------------------------


def test_slow_response_times_out(http: HTTPServer, make: Make) -> None:
    def slow(request: Request) -> Response:
        time.sleep(2)
        return Response(FEED)

    http.expect_request("/feed").respond_with_handler(slow)
    with pytest.raises(FetchError, match="timed out"):
        make(total_timeout=0.5).fetch(http.url_for("/feed"))


def test_slow_drip_body_hits_total_timeout(http: HTTPServer, make: Make) -> None:
    def drip() -> Iterator[bytes]:
        for _ in range(40):  # each gap is well under any per-read timeout
            yield b"x"
            time.sleep(0.1)

    http.expect_request("/feed").respond_with_response(Response(drip()))
    with pytest.raises(FetchError, match="timed out"):
        make(total_timeout=1.0).fetch(http.url_for("/feed"))


def test_slow_drip_headers_hit_total_timeout(make: Make) -> None:
    def respond(conn: socket.socket) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 100:
            conn.sendall(bytes([byte]))
            time.sleep(0.1)

    with raw_server(respond) as url, pytest.raises(FetchError, match="timed out"):
        make(total_timeout=1.0).fetch(url)


def test_endless_body_stops_at_cap(http: HTTPServer, make: Make) -> None:
    def endless() -> Iterator[bytes]:
        for _ in range(10_000):
            yield b"x" * 65536

    http.expect_request("/feed").respond_with_response(Response(endless()))
    with pytest.raises(FetchError, match=f"over the {MB}-byte limit"):
        make(max_bytes=MB).fetch(http.url_for("/feed"))


def test_endless_chunked_body_stops_at_cap(make: Make) -> None:
    def respond(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(10_000):
            conn.sendall(b"10000\r\n" + b"x" * 0x10000 + b"\r\n")

    with raw_server(respond) as url, pytest.raises(FetchError, match="-byte limit"):
        make(max_bytes=MB).fetch(url)


def test_short_body_for_content_length(make: Make) -> None:
    def respond(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + FEED)

    with raw_server(respond) as url, pytest.raises(FetchError, match="cannot fetch"):
        make().fetch(url)


def test_garbage_response(make: Make) -> None:
    def respond(conn: socket.socket) -> None:
        conn.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")

    with raw_server(respond) as url, pytest.raises(FetchError, match="cannot fetch"):
        make().fetch(url)


# --- content encodings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("br", brotli.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),
    ],
)
def test_compressed_bodies_are_decoded(
    http: HTTPServer, fetcher: Fetcher, encoding: str, encode: Callable[[bytes], bytes]
) -> None:
    headers = {"Content-Encoding": encoding}
    http.expect_request("/feed").respond_with_data(encode(FEED * 100), headers=headers)
    result = fetcher.fetch(http.url_for("/feed"))
    assert result.body == FEED * 100
    assert result.bytes_read == len(FEED) * 100


@pytest.mark.parametrize(
    ("encoding", "bomb"),
    [
        ("gzip", lambda: gzip.compress(bytes(50 * MB), compresslevel=9)),
        ("br", lambda: brotli.compress(bytes(200 * MB), quality=5)),
    ],
)
def test_compression_bomb_stops_at_cap(
    http: HTTPServer, make: Make, encoding: str, bomb: Callable[[], bytes]
) -> None:
    http.expect_request("/feed").respond_with_data(bomb(), headers={"Content-Encoding": encoding})
    with pytest.raises(FetchError, match=f"over the {MB}-byte limit"):
        make(max_bytes=MB).fetch(http.url_for("/feed"))


def test_truncated_gzip_is_an_error(http: HTTPServer, fetcher: Fetcher) -> None:
    cut = gzip.compress(FEED * 100)[:-12]
    http.expect_request("/feed").respond_with_data(cut, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="ended before"):
        fetcher.fetch(http.url_for("/feed"))


def test_unknown_encoding_is_an_error(http: HTTPServer, fetcher: Fetcher) -> None:
    http.expect_request("/feed").respond_with_data(FEED, headers={"Content-Encoding": "zz"})
    with pytest.raises(FetchError, match="unsupported Content-Encoding"):
        fetcher.fetch(http.url_for("/feed"))


def test_cookies_are_not_kept(http: HTTPServer, fetcher: Fetcher) -> None:
    http.expect_request("/feed").respond_with_data(FEED, headers={"Set-Cookie": "s=1; Path=/"})
    fetcher.fetch(http.url_for("/feed"))
    fetcher.fetch(http.url_for("/feed"))
    assert "Cookie" not in http.log[-1][0].headers


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_certificate_is_verified(tmp_path: Path, make: Make) -> None:
    # A self-signed certificate must fail verification: proves TLS runs through our backend
    # with verification on, using the URL's hostname rather than the vetted IP.
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", key, "-out", cert, "-subj", "/CN=feeds.example"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
    server.expect_request("/feed").respond_with_data(FEED)
    server.start()
    try:
        fetcher = make(resolver=resolver_for({"feeds.example": ["127.0.0.1"]}))
        with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED"):
            fetcher.fetch(f"https://feeds.example:{server.port}/feed")
    finally:
        server.stop()


# --- address guard --------------------------------------------------------------------------


def test_loopback_refused_by_default(http: HTTPServer, make: Make) -> None:
    http.expect_request("/feed").respond_with_data(FEED)
    with pytest.raises(BlockedAddress, match=r"127\.0\.0\.1.*loopback") as caught:
        make(allow_private_networks=False).fetch(http.url_for("/feed"))
    assert type(caught.value) is BlockedAddress  # not wrapped by httpx
    assert http.log == []


@pytest.mark.parametrize("allow", [False, True])
@pytest.mark.parametrize("ip", ["169.254.169.254", "fe80::1", "224.0.0.1", "0.0.0.0", "::"])
def test_never_allowed_addresses(make: Make, allow: bool, ip: str) -> None:
    # The guard refuses before connecting, so nothing is ever sent to these addresses.
    resolver = resolver_for({"metadata.example": [ip]})
    with pytest.raises(BlockedAddress, match=f"metadata.example \\({ip}\\)"):
        make(resolver=resolver, allow_private_networks=allow).fetch("http://metadata.example/")


def test_private_name_refused_by_default(make: Make) -> None:
    resolver = resolver_for({"feeds.example": ["10.0.0.1"]})
    with pytest.raises(BlockedAddress, match=r"feeds.example \(10\.0\.0\.1\): private"):
        make(resolver=resolver, allow_private_networks=False).fetch("http://feeds.example/")


def test_any_bad_answer_refuses_the_name(make: Make) -> None:
    resolver = resolver_for({"feeds.example": ["127.0.0.1", "169.254.169.254"]})
    with pytest.raises(BlockedAddress, match=r"169\.254\.169\.254"):
        make(resolver=resolver).fetch("http://feeds.example/")


def test_injected_name_reaches_allowed_loopback(http: HTTPServer, make: Make) -> None:
    http.expect_request("/feed").respond_with_data(FEED)
    resolver = resolver_for({"feeds.example": ["127.0.0.1"]})
    result = make(resolver=resolver).fetch(f"http://feeds.example:{http.port}/feed")
    assert result.body == FEED
    assert http.log[-1][0].headers["Host"] == f"feeds.example:{http.port}"


def test_redirect_to_blocked_address_refused_at_the_hop(http: HTTPServer, make: Make) -> None:
    target = f"http://metadata.example:{http.port}/latest/meta-data/"
    http.expect_request("/feed").respond_with_data(b"", status=302, headers={"Location": target})
    resolver = resolver_for({"metadata.example": ["169.254.169.254"]})
    with pytest.raises(BlockedAddress, match=r"metadata\.example"):
        make(resolver=resolver).fetch(http.url_for("/feed"))


def test_rebinding_is_caught_at_connect_time(http: HTTPServer, make: Make) -> None:
    # The same name answers loopback first, then the metadata address: every connect re-checks.
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])
    http.expect_request("/a").respond_with_data(b"", status=301, headers={"Location": "/b"})
    http.expect_request("/b").respond_with_data(FEED)
    with pytest.raises(BlockedAddress, match=r"169\.254\.169\.254"):
        make(resolver=lambda host, port: next(answers)).fetch(f"http://feeds.example:{http.port}/a")


@pytest.mark.parametrize(
    ("ip", "default", "allowed"),
    [
        ("93.184.216.34", None, None),
        ("2606:2800:220:1:248:1893:25c8:1946", None, None),
        ("127.0.0.1", "loopback", None),
        ("::1", "loopback", None),
        ("::ffff:127.0.0.1", "loopback", None),
        # IPv6 forms that carry an IPv4 address to the wire are judged by it.
        ("64:ff9b::a9fe:a9fe", "link-local", "link-local"),  # NAT64 of 169.254.169.254
        ("64:ff9b::7f00:1", "loopback", None),
        ("2002:a9fe:a9fe::1", "link-local", "link-local"),  # 6to4
        ("2002:0a00:0001::1", "private", None),
        ("::127.0.0.1", "loopback", None),  # IPv4-compatible
        ("64:ff9b::5db8:d822", None, None),  # NAT64 of a public address
        ("10.1.2.3", "private", None),
        ("172.16.0.1", "private", None),
        ("192.168.1.1", "private", None),
        ("fd00::1", "private", None),
        ("169.254.169.254", "link-local", "link-local"),
        ("fe80::1", "link-local", "link-local"),
        ("224.0.0.1", "multicast", "multicast"),
        ("ff02::1", "multicast", "multicast"),
        ("0.0.0.0", "unspecified", "unspecified"),
        ("::", "unspecified", "unspecified"),
        ("240.0.0.1", "reserved", "reserved"),
        ("100.64.0.1", "reserved", "reserved"),
    ],
)
def test_refusal_table(ip: str, default: str | None, allowed: str | None) -> None:
    for allow, expected in ((False, default), (True, allowed)):
        reason = refusal(ip, allow)
        assert (reason is None) == (expected is None), (ip, allow, reason)
        assert expected is None or (reason is not None and reason.startswith(expected))


# --- server hints ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 0 ", 0.0),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("Wed, 01 May 2024 13:00:00 GMT", 3600.0),
        ("Wednesday, 01-May-24 12:30:00 GMT", 1800.0),
        ("Wed, 01 May 2024 11:00:00 GMT", 0.0),  # in the past: retry now, never negative
        ("\u00b9\u00b2", None),  # superscript digits are str.isdigit() but not delta-seconds
        ("9" * 400, 365 * 24 * 3600.0),  # capped rather than inf
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, (None, None)),
        ({"Cache-Control": "max-age=600"}, (600.0, None)),
        ({"cache-control": "public, MAX-AGE=300, must-revalidate"}, (300.0, None)),
        ({"Cache-Control": 'max-age="60"'}, (60.0, None)),
        ({"Cache-Control": "no-cache"}, (None, None)),
        ({"Cache-Control": "max-age=abc"}, (None, None)),
        ({"Cache-Control": "max-age=-1"}, (None, None)),
        ({"Expires": "Wed, 01 May 2024 13:00:00 GMT"}, (None, 3600.0)),
        (
            {"Expires": "Wed, 01 May 2024 10:30:00 GMT", "Date": "Wed, 01 May 2024 10:00:00 GMT"},
            (None, 1800.0),
        ),
        ({"Expires": "0"}, (None, None)),
        ({"Expires": "Wed, 01 May 2024 11:00:00 GMT"}, (None, 0.0)),
        (
            {"Cache-Control": "max-age=60", "Expires": "Wed, 01 May 2024 12:10:00 GMT"},
            (60.0, 600.0),
        ),
    ],
)
def test_freshness_hints(
    headers: dict[str, str], expected: tuple[float | None, float | None]
) -> None:
    assert freshness_hints(headers, NOW) == expected


def test_keep_alive_survives_304s_and_redirects(make: Make) -> None:
    """A 304 and a redirect are read to their end, so one connection serves every poll."""
    answers = [
        b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n',
        b"HTTP/1.1 302 Found\r\nLocation: /feed\r\nContent-Length: 5\r\n\r\nmoved",
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: %d\r\n\r\n%s"
        % (len(FEED), FEED),
    ]

    def respond(conn: socket.socket) -> None:
        conn.sendall(answers[0])
        for answer in answers[1:]:  # later requests arrive on the same connection
            while b"\r\n\r\n" not in conn.recv(65536):
                pass
            conn.sendall(answer)

    with raw_server(respond) as url:  # it accepts one connection only
        fetcher = make(total_timeout=3.0)
        assert fetcher.fetch(url, etag='"v1"').not_modified
        result = fetcher.fetch(url)
        assert (result.status, result.body) == (200, FEED)
