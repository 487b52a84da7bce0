"""XML attacks: each gets a clear error or harmless records, in bounded time and memory.

Entity expansion (billion laughs, quadratic blow-up), external entities and DTDs
(nothing is read from a file or fetched), deep nesting and element sprawl, and the
guard's own speed on garbage. The other kinds of hostile input: tests/test_hostile.py
(the ill-formed corpus), test_hostile_sizes.py, test_hostile_files.py. Times are
asserted as generous hang guards for a shared, noisy machine, never as benchmarks.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.documents import FEED_URL, MB, SECRET, ingest, rss, rss_document, rss_item
from worker.errors import NewsworkerError, ParseError
from worker.readers import read_feed, xmlguard


def both_readers(data: bytes) -> list[Callable[[], object]]:
    return [lambda: ingest(data), lambda: read_feed(data, url=FEED_URL)]


# --- entity expansion -------------------------------------------------------------------

LAUGHS = "".join(
    f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">\n' for n in range(1, 10)
)  # lol9 expands to 10^9 "lol"s
BILLION_LAUGHS = rss("&lol9;", head=f'<!DOCTYPE rss [\n<!ENTITY lol0 "lol">\n{LAUGHS}]>\n')
# Quadratic blow-up: no nesting, one 100 kB entity referenced 100k times (10 GB).
QUADRATIC = rss(
    "Q",
    head=f'<!DOCTYPE rss [<!ENTITY big "{"x" * 100_000}">]>\n',
    body="&big;" * 100_000,
)


@pytest.mark.parametrize("data", [BILLION_LAUGHS, QUADRATIC], ids=["billion-laughs", "quadratic"])
def test_entity_expansion_is_refused(data: bytes, peak_memory: Callable[[], int]) -> None:
    for read in both_readers(data):
        with pytest.raises(ParseError, match=r"declares entity '(lol0|big)'"):
            read()
    assert peak_memory() < 50 * MB


def test_single_character_entities_are_allowed() -> None:
    doctype = '<!DOCTYPE rss [\n<!ENTITY nbsp "&#160;">\n<!ENTITY sep "|">\n]>\n'
    [article] = ingest(rss("A&nbsp;B &sep; C", head=doctype))
    assert article.title == "A B | C"


# --- external entities ------------------------------------------------------------------


def xxe_documents(target: str) -> dict[str, bytes]:
    return {
        "general": rss("A &xxe; B", head=f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{target}">]>\n'),
        "public": rss(
            "A &xxe; B", head=f'<!DOCTYPE rss [<!ENTITY xxe PUBLIC "-//X//Y" "{target}">]>\n'
        ),
        "parameter": rss(
            "A &xxe; B", head=f'<!DOCTYPE rss [<!ENTITY % p SYSTEM "{target}"> %p;]>\n'
        ),
    }


def no_leak(read: Callable[[], object]) -> str:
    """Run a reader; whatever it returns or raises must not carry the secret."""
    try:
        result: object = read()
    except NewsworkerError as exc:
        result = str(exc)
    text = repr(result)
    assert SECRET not in text
    return text


@pytest.mark.parametrize("kind", ["general", "public", "parameter"])
def test_file_entities_are_refused(secret_file: Path, kind: str) -> None:
    data = xxe_documents(secret_file.as_uri())[kind]
    for read in both_readers(data):
        with pytest.raises(ParseError, match=r"(external|parameter) entity"):
            read()


@pytest.mark.parametrize("kind", ["general", "public", "parameter"])
def test_file_entities_do_not_leak_even_without_the_guard(
    secret_file: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Defence in depth: feedparser and expat must not resolve them either.
    monkeypatch.setattr(xmlguard, "check_markup", lambda data, *, name: None)
    data = xxe_documents(secret_file.as_uri())[kind]
    for read in both_readers(data):
        no_leak(read)


def test_external_dtd_and_xinclude_read_nothing(secret_file: Path) -> None:
    dtd = f'<!DOCTYPE rss SYSTEM "{secret_file.as_uri()}">\n'
    xinclude = (
        f"<xi:include xmlns:xi='http://www.w3.org/2001/XInclude' href='{secret_file.as_uri()}'"
        " parse='text'/>"
    )
    [article] = ingest(rss("External DTD", head=dtd, body=f"Before {xinclude} after"))
    assert article.title == "External DTD"
    assert SECRET not in article.to_json()


@pytest.mark.parametrize("name", ["page.html", "page.xhtml"])
def test_html_pages_do_not_resolve_entities(secret_file: Path, name: str) -> None:
    page = (
        f'<!DOCTYPE html [<!ENTITY xxe SYSTEM "{secret_file.as_uri()}">]>\n'
        "<html><head><title>Page &xxe;</title></head><body><article><h1>Page</h1>"
        "<p>First paragraph of the page &xxe; with enough words to be the main text.</p>"
        "</article></body></html>"
    ).encode()
    no_leak(lambda: ingest(page, name))


def test_http_entities_send_no_request(http: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    http.expect_request("/evil").respond_with_data(SECRET)
    documents = list(xxe_documents(http.url_for("/evil")).values())
    documents.append(rss("External DTD", head=f'<!DOCTYPE rss SYSTEM "{http.url_for("/evil")}">'))
    for data in documents:
        for read in both_readers(data):
            no_leak(read)
    monkeypatch.setattr(xmlguard, "check_markup", lambda data, *, name: None)
    for data in documents:
        for read in both_readers(data):
            no_leak(read)
    time.sleep(0.2)  # a request in flight would have arrived by now
    assert http.log == []


# --- nesting and sprawl -----------------------------------------------------------------


def nested(depth: int, *, closed: bool = True) -> bytes:
    inner = b"<a>" * depth + b"deep" + (b"</a>" * depth if closed else b"")
    return rss("Deep", body="").replace(b"<description></description>", inner)


@pytest.mark.parametrize("closed", [True, False], ids=["closed", "unclosed"])
def test_deep_nesting_is_refused_fast(closed: bool, peak_memory: Callable[[], int]) -> None:
    data = nested(100_000, closed=closed)
    started = time.perf_counter()
    for read in both_readers(data):
        with pytest.raises(ParseError, match=f"nested more than {xmlguard.MAX_DEPTH} deep"):
            read()
    assert time.perf_counter() - started < 5.0
    assert peak_memory() < 50 * MB


def test_nesting_limit_edge() -> None:
    # rss, channel, item: three levels around the nested run.
    [article] = ingest(nested(xmlguard.MAX_DEPTH - 3))
    assert article.title == "Deep"
    with pytest.raises(ParseError, match="nested more than"):
        ingest(nested(xmlguard.MAX_DEPTH - 2))


def test_broken_html_does_not_count_as_nesting() -> None:
    data = rss_document(
        rss_item(f"T{i}", description="a<br>b<p>c<img src=x>")
        for i in range(2 * xmlguard.MAX_DEPTH)
    )
    assert len(read_feed(data, url=FEED_URL).drafts) == 2 * xmlguard.MAX_DEPTH


def test_nesting_inside_cdata_is_html_not_xml() -> None:
    html = "<div>" * 100_000 + "deep text" + "</div>" * 100_000
    started = time.perf_counter()
    no_leak(lambda: ingest(rss("CDATA", body=f"<![CDATA[{html}]]>")))
    assert time.perf_counter() - started < 10.0


def test_deep_html_page_is_refused() -> None:
    page = b"<html><body>" + b"<div>" * 100_000 + b"text" + b"</div>" * 100_000 + b"</body></html>"
    started = time.perf_counter()
    with pytest.raises(ParseError, match="over an HTML parser limit: elements nested more than"):
        ingest(page, "deep.html")
    assert time.perf_counter() - started < 5.0


def test_element_sprawl_is_refused() -> None:
    data = nested(0).replace(b"deep", b"<a/>" * (xmlguard.MAX_ELEMENTS + 1))
    started = time.perf_counter()
    with pytest.raises(ParseError, match=f"more than {xmlguard.MAX_ELEMENTS} elements"):
        read_feed(data, url=FEED_URL)
    assert time.perf_counter() - started < 10.0


def test_element_limit_edge() -> None:
    within = b"<rss>" + b"<a/>" * (xmlguard.MAX_ELEMENTS - 1) + b"</rss>"
    xmlguard.check_markup(within, name="x")
    with pytest.raises(ParseError, match="more than"):
        xmlguard.check_markup(within.replace(b"<rss>", b"<rss><a/>"), name="x")


@pytest.mark.parametrize(
    "data",
    [b"<" * 2_000_000, b"<!--" * 500_000, b"<![CDATA[" * 250_000, b"</a" * 700_000,
     b"<a b='" * 400_000, b"<!ENTITY" * 10],
    ids=["lt", "comments", "cdata", "closes", "attrs", "entity-openers"],
)  # fmt: skip
def test_the_guard_is_linear_on_garbage(data: bytes) -> None:
    started = time.perf_counter()
    with contextlib.suppress(ParseError):
        xmlguard.check_markup(data, name="x")
    assert time.perf_counter() - started < 5.0
