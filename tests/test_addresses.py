"""The address policy: `refusal` of worker/inputs/addresses.py as a table, and the
fetcher refusing blocked addresses (by name, at every redirect hop and at connect
time) before any connection is attempted. Nothing leaves the machine: names go
through an injected resolver (tests/fetching.py)."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from tests.fetching import FEED, Make, resolver_for
from worker.errors import BlockedAddress
from worker.inputs.addresses import refusal


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
