"""Hostile and broken input: each gets records or a clear error, in bounded time and memory.

XML attacks (entity expansion, external entities, deep nesting, sprawl), documents
far over the size caps, files that are not what they claim, paths that escape the
allowed root, and the ill-formed feeds of tests/hostile/. The HTTP side (redirect
loops, private addresses, rebinding, endless and slow bodies, gzip and brotli
bombs) is tests/test_fetch.py's; here only the size caps at their edges and a
200 MB document through the fetcher.

Nothing here talks to Redis; the only server is pytest-httpserver on 127.0.0.1.
Times are asserted as generous hang guards for a shared, noisy machine, never as
benchmarks.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import random
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from tests.documents import FEED_URL, NOW, ingest, rss_document, rss_item
from worker.errors import BadInput, FetchError, NewsworkerError, ParseError
from worker.inputs.fetch import FetchConfig, Fetcher
from worker.inputs.files import InputRef, expand, read_input
from worker.normalise.article import normalise
from worker.readers import feedfile, read_document, read_feed, xmlguard
from worker.settings import Settings, get_settings

MB = 1024 * 1024
HOSTILE = Path(__file__).parent / "hostile"
SECRET = "s3cr3t-b7d1e0-never-in-a-record"


def rss(item_title: str, head: str = "", body: str = "Body.") -> bytes:
    """One item in a feed; `head` (a DOCTYPE) after the XML declaration."""
    item = rss_item(item_title, link="https://news.example/1", description=body)
    return rss_document([item], head=head)


@pytest.fixture
def peak_memory() -> Iterator[Callable[[], int]]:
    """Peak bytes allocated by Python during the test (tracemalloc)."""
    tracemalloc.start()
    yield lambda: tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()


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


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


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


# --- size: the reader with a large document, the caps at their edges --------------------


def big_feed(size: int) -> bytes:
    body = "Words of the article body. " * 40
    items: list[str] = []
    total = 0
    while total < size:
        n = len(items) + 1
        link = f"https://news.example/a/{n}"
        items.append(
            rss_item(f"Headline {n}", guid=f"g-{n}", link=link, published=NOW, description=body)
        )
        total += len(items[-1])
    return rss_document(items, title="Big")


def test_large_feed_is_read_whole() -> None:
    data = big_feed(8 * MB)
    started = time.perf_counter()
    feed = read_feed(data, url=FEED_URL)
    assert len(feed.drafts) == data.count(b"<item>") > 4000
    assert time.perf_counter() - started < 60.0


def test_default_caps() -> None:
    assert Settings.model_fields["max_file_bytes"].default == 10 * MB
    assert Settings.model_fields["max_feed_bytes"].default == 15 * MB
    assert FetchConfig().max_bytes == 15 * MB


@pytest.fixture
def no_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("NEWSWORKER_INPUT_ROOT", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def write_sparse(path: Path, size: int, head: bytes) -> Path:
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)
    return path


def test_200mb_file_is_refused_unread(
    tmp_path: Path, no_root: None, peak_memory: Callable[[], int]
) -> None:
    path = write_sparse(tmp_path / "huge.xml", 200 * MB, b"<rss version='2.0'><channel>")
    with pytest.raises(BadInput, match=f"is {200 * MB} bytes, over the {10 * MB}-byte limit"):
        read_input(InputRef(str(path), path), max_bytes=10 * MB)
    assert peak_memory() < 2 * MB


def test_file_cap_edge(tmp_path: Path, no_root: None) -> None:
    cap = 10 * MB
    path = write_sparse(tmp_path / "edge.txt", cap, b"Title\n\n")
    assert len(read_input(InputRef(str(path), path), max_bytes=cap).data) == cap
    write_sparse(path, cap + 1, b"Title\n\n")
    with pytest.raises(BadInput, match="over the"):
        read_input(InputRef(str(path), path), max_bytes=cap)


class Endless(io.RawIOBase):
    """A standard input that never ends."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        buffer[:] = b"x" * len(buffer)
        return len(buffer)


def test_endless_stdin_stops_at_cap(peak_memory: Callable[[], int]) -> None:
    with pytest.raises(BadInput, match="over the 1048576-byte limit"):
        read_input(InputRef("-", None), max_bytes=MB, stdin=io.BufferedReader(Endless()))
    assert peak_memory() < 8 * MB


def test_200mb_feed_through_the_fetcher(http: HTTPServer, peak_memory: Callable[[], int]) -> None:
    def feed() -> Iterator[bytes]:
        yield b"<rss version='2.0'><channel><title>Huge</title>"
        chunk = b"<item><title>x</title></item>" * 2048
        for _ in range(200 * MB // len(chunk)):
            yield chunk

    response = Response(feed(), headers={"Content-Length": str(200 * MB)})
    http.expect_request("/huge").respond_with_response(response)
    fetcher = Fetcher(FetchConfig(allow_private_networks=True, total_timeout=30))
    try:
        with pytest.raises(FetchError, match=f"over the {15 * MB}-byte limit"):
            fetcher.fetch(http.url_for("/huge"))
    finally:
        fetcher.close()
    assert peak_memory() < 80 * MB


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_fetch_cap_edge(http: HTTPServer, encoding: str) -> None:
    cap = 100_000
    fetcher = Fetcher(FetchConfig(allow_private_networks=True, total_timeout=10, max_bytes=cap))
    try:
        for size, fits in ((cap, True), (cap + 1, False)):
            body = b"x" * size
            headers = {"Content-Encoding": "gzip"} if encoding == "gzip" else {}
            http.clear()
            http.expect_request("/edge").respond_with_data(
                gzip.compress(body) if encoding == "gzip" else body, headers=headers
            )
            if fits:
                assert fetcher.fetch(http.url_for("/edge")).body == body
            else:
                with pytest.raises(FetchError, match=f"over the {cap}-byte limit"):
                    fetcher.fetch(http.url_for("/edge"))
    finally:
        fetcher.close()


def test_gzip_bomb_without_content_encoding(http: HTTPServer) -> None:
    # Served as a file, not a transfer encoding: the fetcher passes the bytes on, and
    # the readers must not inflate them. (Content-Encoding bombs: tests/test_fetch.py.)
    bomb = gzip.compress(bytes(50 * MB), compresslevel=9)
    http.expect_request("/feed.xml.gz").respond_with_data(bomb, content_type="application/rss+xml")
    fetcher = Fetcher(FetchConfig(allow_private_networks=True, total_timeout=10))
    try:
        result = fetcher.fetch(http.url_for("/feed.xml.gz"))
    finally:
        fetcher.close()
    assert result.body == bomb
    with pytest.raises(ParseError):
        read_feed(result.body, url=FEED_URL, headers=result.headers)
    with pytest.raises(BadInput, match="gzip"):
        ingest(bomb)


# --- files: what they hold ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "error", "fragment"),
    [
        (b"", BadInput, "empty"),
        (b"\x7fELF\x02\x01\x01" + bytes(200), BadInput, "ELF"),
        (random.Random(7).randbytes(4096), BadInput, "binary|undecodable"),
        (b"Title\n\nBody \x00 with a NUL.\n", BadInput, "NUL"),
        (b"Title\n\n" + b"\xff\xfe\xfd\x81\x8d" * 50, BadInput, "undecodable|binary"),
        (b"Title\n\nBody\n" * 1000 + b"x", BadInput, "over the"),
    ],
    ids=["empty", "elf", "random", "nul", "invalid-utf8", "over-cap"],
)
def test_file_contents(
    tmp_path: Path, no_root: None, content: bytes, error: type[Exception], fragment: str
) -> None:
    path = tmp_path / "article.txt"
    path.write_bytes(content)
    with pytest.raises(error, match=fragment):
        item = read_input(InputRef(str(path), path), max_bytes=12_000)
        ingest(item.data, "article.txt")


def test_some_invalid_utf8_is_read_with_replacements(tmp_path: Path, no_root: None) -> None:
    path = tmp_path / "article.txt"
    path.write_bytes(b"Caf\xc3\xa9 title\n\nBody with one broken byte \xff here, na\xc3\xafve.\n")
    item = read_input(InputRef(str(path), path), max_bytes=MB)
    [article] = ingest(item.data, "article.txt")
    assert article.title == "Café title"


@pytest.mark.parametrize("special", ["fifo", "device", "folder"])
def test_special_files_are_not_read(tmp_path: Path, no_root: None, special: str) -> None:
    if special == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)  # opening it for reading would wait for a writer forever
    else:
        path = Path("/dev/zero") if special == "device" else tmp_path
    with pytest.raises(BadInput, match="not a regular file"):
        read_input(InputRef(str(path), path), max_bytes=MB)


# --- files: where they are ---------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path, secret_file: Path) -> Path:
    """root/inside.txt, root/sub/, root/link-out -> the secret, root/link-in -> inside.txt."""
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "inside.txt").write_text("Inside\n\nAn article inside the root.\n")
    (root / "link-out").symlink_to(secret_file)
    (root / "link-in").symlink_to(root / "inside.txt")
    (root / "sub" / "dir-out").symlink_to(secret_file.parent, target_is_directory=True)
    return root


def read_path(arg: str, root: Path | None = None) -> bytes:
    [ref] = expand([arg])
    return read_input(ref, max_bytes=MB, root=root).data


@pytest.mark.parametrize(
    "relative",
    ["link-out", "sub/../../secret.txt", "sub/dir-out/secret.txt", "../secret.txt",
     "sub/../../missing.txt"],
    ids=["symlink-out", "dotdot", "symlinked-folder", "parent", "missing-outside"],
)  # fmt: skip
def test_paths_outside_the_root_are_refused(tree: Path, no_root: None, relative: str) -> None:
    with pytest.raises(BadInput, match="outside the allowed input root") as caught:
        read_path(str(tree / relative), root=tree)
    assert SECRET not in str(caught.value)


def test_paths_inside_the_root_are_read(tree: Path, no_root: None) -> None:
    for relative in ("inside.txt", "link-in", "sub/../inside.txt"):
        assert read_path(str(tree / relative), root=tree).startswith(b"Inside")


def test_a_folder_walk_refuses_links_out(tree: Path, no_root: None) -> None:
    outcomes = {}
    for ref in expand([str(tree)]):
        try:
            outcomes[Path(ref.display).name] = read_input(ref, max_bytes=MB, root=tree).data[:6]
        except BadInput as exc:
            outcomes[Path(ref.display).name] = str(exc)
    assert outcomes["inside.txt"] == outcomes["link-in"] == b"Inside"
    assert "outside the allowed input root" in str(outcomes["link-out"])


def test_root_comes_from_the_environment(
    tree: Path, monkeypatch: pytest.MonkeyPatch, no_root: None
) -> None:
    assert read_path(str(tree / "link-out")) == SECRET.encode()  # unset: no restriction
    monkeypatch.setenv("NEWSWORKER_INPUT_ROOT", str(tree))
    get_settings.cache_clear()
    assert get_settings().input_root == tree
    with pytest.raises(BadInput, match="outside the allowed input root"):
        read_path(str(tree / "link-out"))
    assert read_path(str(tree / "inside.txt")).startswith(b"Inside")


def test_symlink_loop_is_a_clear_error(tmp_path: Path, no_root: None) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(FetchError, match="cannot read"):
        read_path(str(tmp_path / "a"))


# --- text no encoder takes ---------------------------------------------------------------

LONE_SURROGATES = [
    pytest.param(rb'{"title": "A \ud800 B", "body": "x \udfff", "tags": ["\udc00"]}', "r.json",
                 id="json-record"),
    pytest.param(rb'{"version": "https://jsonfeed.org/version/1.1", "title": "F \ud800",'
                 rb' "items": [{"id": "1\udc00", "content_text": "\ud83d", "title": "T \ud83d"}]}',
                 "f.json", id="json-feed"),
    pytest.param(b'---\ntitle: "A \\ud800"\nauthor: {name: "N\\udc01", bio: "B"}\n---\nBody.\n',
                 "a.md", id="yaml-escapes"),
    pytest.param(rss("A &#xD800; B &#xD83D;&#xDE00;"), "f.rss", id="char-refs"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "name"), LONE_SURROGATES)
def test_lone_surrogates_become_replacement_characters(data: bytes, name: str) -> None:
    [article] = ingest(data, name)
    assert "\ufffd" in article.to_json()
    article.to_json().encode("utf-8")
    if name.endswith(".json") and b"jsonfeed" in data:
        [draft] = read_feed(data, url=FEED_URL).drafts
        normalise(draft, now=NOW).to_json().encode("utf-8")


# --- the corpus of ill-formed feeds ------------------------------------------------------

# What read_document makes of each file: the titles of its records (an entry that
# cannot be a record shows as "!" + the reason), or the error class and a fragment.
CORPUS: dict[str, list[str] | tuple[type[Exception], str]] = {
    "atom_then_rss_roots.xml": ["Atom first", "RSS second"],
    "bom_utf16_declared_utf8.rss": ["UTF-16 with a UTF-8 declaration: ünïcode"],
    "bom_utf8_declared_latin1.rss": ["BOM says UTF-8: crème"],
    "channel_without_items.rss": (BadInput, "feed has no entries"),
    "char_entity_doctype.rss": ["Declared entities — allowed"],
    "control_characters.rss": ["Bell and escape and vtab title", "Form feed"],
    "declared_bogus_encoding.rss": ["Unknown charset name"],
    "declared_utf16_is_utf8.rss": ["Claims UTF-16, is UTF-8: naïve"],
    "declared_utf8_is_latin1.rss": ["Déjà vu in Zürich"],
    "duplicate_and_unquoted_attributes.atom": ["Unquoted attributes"],
    "external_dtd_loopback.rss": ["External DTD never fetched"],
    "forbidden_char_refs.rss": ["Refs \ufffd \ufffd \ufffd \ufffd end",
                                "Emoji as a surrogate pair 😀"],
    "garbage_after_root.rss": ["Story before garbage"],
    "html_fragment_as_feed.rss": (ParseError, "not a feed (no RSS, Atom or RDF root element)"),
    "html_served_as_feed.xml": (ParseError, "not a feed (no RSS, Atom or RDF root element)"),
    "invalid_utf8_sequences.rss": ["Broken Ã( í € øˆ€€€ bytes"],
    "items_without_titles.rss": ["!entry 1: no title", "!entry 2: no title and no body"],
    "json_feed_as_xml.xml": ["JSON item"],
    "mismatched_tags.rss": ["!entry 1: no title and no body", "Second story"],
    "nul_byte.rss": (BadInput, "contains NUL bytes"),
    "only_xml_declaration.xml": (ParseError, "no element found"),
    "raw_html_in_description.rss": ["Raw HTML body"],
    "rdf_with_atom_entry.rdf": ["RDF item", "Atom in RDF"],
    "rss_and_atom_mixed.xml": ["RSS item", "Atom entry inside RSS"],
    "truncated_in_prolog.rss": (ParseError, "unclosed token"),
    "truncated_mid_item.rss": ["Complete story", "Cut story"],
    "truncated_mid_tag.atom": ["Only entry", "!entry 2: no title and no body"],
    "two_rss_documents.rss": ["First document", "Second document"],
    "unclosed_tags.atom": ["Unclosed entry"],
    "undeclared_cp1252.rss": ["“Smart quotes” — and a dash"],
    "undeclared_entities.rss": ["Café & crème brûlée", "Undefined &foo; entity"],
    "undeclared_namespace_prefix.rss": ["Prefix without xmlns"],
    "unterminated_cdata.rss": ["Before CDATA", "CDATA never ends"],
    "unterminated_comment.atom": ["Before the comment"],
    "utf16_no_bom.atom": ["UTF-16 without BOM"],
    "xhtml_content_broken.atom": ["XHTML content"],
    "xml_declaration_not_first.rss": ["Declaration after a comment"],
}  # fmt: skip


def titles(drafts: list[Any]) -> list[str]:
    out = []
    for draft in drafts:
        try:
            out.append(normalise(draft, now=NOW).title)
        except BadInput as exc:
            out.append(f"!{exc}")
    return out


def test_corpus_table_lists_every_file() -> None:
    assert sorted(p.name for p in HOSTILE.iterdir()) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_corpus(name: str) -> None:
    data = (HOSTILE / name).read_bytes()
    expected = CORPUS[name]

    started = time.perf_counter()
    if isinstance(expected, tuple):
        error, fragment = expected
        with pytest.raises(error) as caught:
            titles(read_document(data, name=name, path=f"/srv/hostile/{name}"))
        assert fragment in str(caught.value)
    else:
        assert titles(read_document(data, name=name, path=f"/srv/hostile/{name}")) == expected
    assert time.perf_counter() - started < 1.0, "hang guard"

    started = time.perf_counter()
    try:
        for draft in read_feed(data, url=FEED_URL).drafts:
            normalise(draft, now=NOW).to_json().encode("utf-8")
    except NewsworkerError as exc:
        assert str(exc)
    assert time.perf_counter() - started < 1.0, "hang guard"


def test_feedparser_failures_become_parse_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    monkeypatch.setattr(feedfile.feedparser, "parse", explode)
    with pytest.raises(ParseError, match="not a readable feed"):
        read_feed(rss("T"), url=FEED_URL)
