"""The fetcher's caps against a local server on 127.0.0.1: total time, body size
(plain, chunked and endless), and compressed bodies, bombs included."""

from __future__ import annotations

import gzip
import socket
import time
import zlib
from collections.abc import Callable, Iterator

import brotli
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.documents import MB
from tests.fetching import FEED, Make, raw_server
from worker.errors import FetchError
from worker.inputs.fetch import Fetcher

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
