"""worker.inputs.fetch against a local server on 127.0.0.1 that misbehaves on demand:
requests and validators, redirects, error statuses, cookies, TLS and keep-alive.

Size, time and compression caps are in tests/test_fetch_limits.py, the address
policy in tests/test_addresses.py. Nothing leaves the machine: hostnames other than
127.0.0.1 go through an injected resolver (tests/fetching.py).
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.fetching import FEED, Make, raw_server, resolver_for
from worker import __version__
from worker.errors import BlockedAddress, FetchError, Gone, HTTPStatusError
from worker.inputs.fetch import Fetcher

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


# --- cookies, TLS and connections ---------------------------------------------------------


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
